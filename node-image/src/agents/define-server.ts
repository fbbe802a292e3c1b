/**
 * A small declarative way to build a low-level MCP `Server` (SDK v2): tools with TypeBox
 * input schemas (sent as-is in tools/list, checked with TypeBox on every call),
 * plus optional resources and prompts. One spec can build many servers (one per
 * 2025-11-25 session, one per 2026-07-28 request); state lives in the handlers'
 * closures and is shared, and the spec is compiled once.
 */
import { ProtocolError, ProtocolErrorCode, ResourceNotFoundError, Server } from '@modelcontextprotocol/server'
import type { CallToolResult, GetPromptResult, ReadResourceResult, ServerCapabilities, Tool, ToolAnnotations } from '@modelcontextprotocol/server'
import type { Static, TObject } from 'typebox'
import { Compile } from 'typebox/compile'
import type { Validator } from 'typebox/compile'
import { describeIssues } from '../validation/schema-error.ts'
import { errorMessage } from './error-message.ts'

/**
 * The SDK's low-level Server. Deliberate: specs are plain data served whole, and
 * tool arguments are checked with TypeBox, neither of which McpServer models.
 */
export type LowLevelServer = Server // eslint-disable-line @typescript-eslint/no-deprecated -- see above

export interface ToolContext {
  /** Aborted when the client cancels the request or the connection closes. */
  signal: AbortSignal
}

export interface ToolSpec<S extends TObject = TObject> {
  name: string
  description: string
  input: S
  annotations?: ToolAnnotations
  handler: (args: Static<S>, ctx: ToolContext) => CallToolResult | Promise<CallToolResult>
}

/** A tool with its argument type erased, so tools of different shapes fit one list. */
export interface AnyToolSpec {
  name: string
  description: string
  input: TObject
  annotations?: ToolAnnotations
  handler: (args: unknown, ctx: ToolContext) => CallToolResult | Promise<CallToolResult>
}

export interface ResourceSpec {
  uri: string
  name: string
  description?: string
  mimeType?: string
  /** The resource's text. */
  read: (signal: AbortSignal) => string | Promise<string>
  /** Calls `onChange` whenever the text changes; returns the function that stops it. Makes the resource subscribable. */
  watch?: (onChange: () => void) => () => void
}

export interface PromptArgumentSpec {
  name: string
  description?: string
  required?: boolean
}

export interface PromptSpec {
  name: string
  description?: string
  arguments?: PromptArgumentSpec[]
  get: (args: Record<string, string>) => GetPromptResult | Promise<GetPromptResult>
}

export interface ServerSpec {
  name: string
  version: string
  instructions?: string
  tools: AnyToolSpec[]
  resources?: ResourceSpec[]
  prompts?: PromptSpec[]
}

/** Declares a tool; `args` in the handler is typed from the TypeBox schema. */
export function defineTool<S extends TObject> (spec: ToolSpec<S>): AnyToolSpec {
  // Sound: defineServer only calls the handler with arguments that passed `spec.input`.
  return spec as unknown as AnyToolSpec
}

/** A text-only tool result. */
export function textResult (text: string, isError = false): CallToolResult {
  return isError ? { content: [{ type: 'text', text }], isError: true } : { content: [{ type: 'text', text }] }
}

/** A tool result carrying a JSON object both as structuredContent and as text. */
export function jsonResult (value: Record<string, unknown>): CallToolResult {
  return { content: [{ type: 'text', text: JSON.stringify(value) }], structuredContent: value }
}

export class InvalidServerSpecError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'InvalidServerSpecError'
  }
}

interface CompiledTool {
  spec: AnyToolSpec
  listed: Tool
  validator: Validator
}

function compileTools (tools: AnyToolSpec[]): Map<string, CompiledTool> {
  const out = new Map<string, CompiledTool>()
  for (const spec of tools) {
    if (out.has(spec.name)) throw new InvalidServerSpecError(`tool "${spec.name}" is defined twice`)
    // A plain JSON copy: what tools/list sends is exactly what clients will see.
    const inputSchema = JSON.parse(JSON.stringify(spec.input)) as Tool['inputSchema']
    const listed: Tool = { name: spec.name, description: spec.description, inputSchema }
    if (spec.annotations !== undefined) listed.annotations = spec.annotations
    out.set(spec.name, { spec, listed, validator: Compile(spec.input) })
  }
  return out
}

interface CompiledSpec {
  tools: Map<string, CompiledTool>
  resources: Map<string, ResourceSpec>
  prompts: Map<string, PromptSpec>
  capabilities: ServerCapabilities
  watchable: boolean
}

/** Compiled once per spec: a 2026-07-28 request builds a server each time. */
const compiled = new WeakMap<ServerSpec, CompiledSpec>()

function compileSpec (spec: ServerSpec): CompiledSpec {
  const known = compiled.get(spec)
  if (known !== undefined) return known
  const capabilities: ServerCapabilities = { tools: {} }
  const watchable = (spec.resources ?? []).some((r) => r.watch !== undefined)
  if (spec.resources !== undefined) capabilities.resources = watchable ? { subscribe: true } : {}
  if (spec.prompts !== undefined) capabilities.prompts = {}
  const out: CompiledSpec = {
    tools: compileTools(spec.tools),
    resources: new Map((spec.resources ?? []).map((r) => [r.uri, r])),
    prompts: new Map((spec.prompts ?? []).map((p) => [p.name, p])),
    capabilities,
    watchable
  }
  compiled.set(spec, out)
  return out
}

/** The spec's resources that can be watched, for a serving entry that publishes their changes itself. */
export function watchableResources (spec: ServerSpec): ResourceSpec[] {
  return (spec.resources ?? []).filter((r) => r.watch !== undefined)
}

async function runTool (tools: Map<string, CompiledTool>, name: string, args: unknown, signal: AbortSignal): Promise<CallToolResult> {
  const tool = tools.get(name)
  if (tool === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `unknown tool "${name}"`)
  // Defaults apply to a copy so the caller's object is never changed under it.
  const checked = tool.validator.Default(structuredClone(args ?? {}))
  if (!tool.validator.Check(checked)) {
    // 2025-11-25: invalid input is a tool execution error the model can read and fix.
    const issues = describeIssues(tool.validator.Errors(checked), 'arguments')
    return textResult(`invalid arguments for tool "${name}": ${issues.join('; ')}`, true)
  }
  try {
    return await tool.spec.handler(checked, { signal })
  } catch (err) {
    if (err instanceof ProtocolError || signal.aborted) throw err
    return textResult(`tool "${name}" failed: ${errorMessage(err)}`, true)
  }
}

/**
 * One tools/call on the spec without a Server: what a server built from it answers
 * (unknown tool: ProtocolError -32602; bad arguments or a failing handler: an isError
 * result), for callers in the same process. Handlers see only the signal, so nothing a
 * session would carry (progress, logs, questions) is lost.
 */
export async function callSpecTool (spec: ServerSpec, name: string, args: unknown, signal: AbortSignal): Promise<CallToolResult> {
  return await runTool(compileSpec(spec).tools, name, args, signal)
}

/** Builds a fresh Server from the spec; call it once per connection. */
export function defineServer (spec: ServerSpec): LowLevelServer {
  const { tools, resources, prompts, capabilities, watchable } = compileSpec(spec)
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see LowLevelServer
  const server: LowLevelServer = new Server({ name: spec.name, version: spec.version }, {
    capabilities,
    ...(spec.instructions === undefined ? {} : { instructions: spec.instructions })
  })

  server.setRequestHandler('tools/list', () => ({ tools: [...tools.values()].map((t) => t.listed) }))

  server.setRequestHandler('tools/call', async (request, ctx): Promise<CallToolResult> => {
    return await runTool(tools, request.params.name, request.params.arguments, ctx.mcpReq.signal)
  })

  if (spec.resources !== undefined) {
    server.setRequestHandler('resources/list', () => ({
      resources: [...resources.values()].map(({ uri, name, description, mimeType }) => ({
        uri,
        name,
        ...(description === undefined ? {} : { description }),
        ...(mimeType === undefined ? {} : { mimeType })
      }))
    }))
    // Specs have no templates; answered all the same, since a server with resources is asked
    // (a 2026-07-28 -32601 is an HTTP 404, which a client takes as a broken endpoint).
    server.setRequestHandler('resources/templates/list', () => ({ resourceTemplates: [] }))
    server.setRequestHandler('resources/read', async (request, ctx): Promise<ReadResourceResult> => {
      const { uri } = request.params
      const resource = resources.get(uri)
      // -32602 with data {uri}: what MCP names "resource not found" in both revisions.
      if (resource === undefined) throw new ResourceNotFoundError(uri, `unknown resource "${uri}"`)
      const text = await resource.read(ctx.mcpReq.signal)
      return { contents: [{ uri, text, ...(resource.mimeType === undefined ? {} : { mimeType: resource.mimeType }) }] }
    })
  }

  if (watchable) serveSubscriptions(server, resources)

  if (spec.prompts !== undefined) {
    server.setRequestHandler('prompts/list', () => ({
      prompts: [...prompts.values()].map(({ name, description, arguments: args }) => ({
        name,
        ...(description === undefined ? {} : { description }),
        ...(args === undefined ? {} : { arguments: args })
      }))
    }))
    server.setRequestHandler('prompts/get', async (request): Promise<GetPromptResult> => {
      const { name } = request.params
      const prompt = prompts.get(name)
      if (prompt === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `unknown prompt "${name}"`)
      const args = request.params.arguments ?? {}
      const missing = (prompt.arguments ?? []).filter((a) => a.required === true && args[a.name] === undefined).map((a) => `"${a.name}"`)
      if (missing.length > 0) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `prompt "${name}": missing required argument(s) ${missing.join(', ')}`)
      return await prompt.get(args)
    })
  }

  return server
}

/**
 * 2025-11-25 resources/subscribe for watchable resources: this connection hears of each change
 * until it unsubscribes or closes. (2026-07-28 has no such method: its listen streams belong to
 * the serving entry, which watches the resources itself, see {@link watchableResources}.)
 */
function serveSubscriptions (server: LowLevelServer, resources: Map<string, ResourceSpec>): void {
  const watching = new Map<string, () => void>()
  server.setRequestHandler('resources/subscribe', (request) => {
    const { uri } = request.params
    const resource = resources.get(uri)
    if (resource?.watch === undefined) throw new ProtocolError(ProtocolErrorCode.InvalidParams, `resource "${uri}" cannot be subscribed to`)
    if (!watching.has(uri)) {
      watching.set(uri, resource.watch(() => {
        server.sendResourceUpdated({ uri }).catch(() => {})
      }))
    }
    return {}
  })
  server.setRequestHandler('resources/unsubscribe', (request) => {
    watching.get(request.params.uri)?.()
    watching.delete(request.params.uri)
    return {}
  })
  const closed = server.onclose
  server.onclose = () => {
    for (const stop of watching.values()) stop()
    watching.clear()
    closed?.()
  }
}
