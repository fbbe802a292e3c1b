/**
 * The mesh's MCP methods on a v2 SDK `Server`, registered once for both protocol revisions:
 * listing, `completion/complete`, `tools/call`, `prompts/get` and `resources/read`, all answered
 * by {@link createMeshRequests}. What differs between the revisions comes in as a
 * {@link MeshHandlerEra}: how a request's {@link RequestExtra} is built, and whether MRTR
 * retry fields were lifted off the params. Era-only methods (2025-11-25 `logging/setLevel`,
 * `resources/subscribe`) are the era's own module's.
 */
import { Server, type ServerContext } from '@modelcontextprotocol/server'
import { VERSION } from '../version.ts'
import {
  MESH_CAPABILITIES, MESH_SERVER_NAME,
  type MeshRequests, type RequestExtra, type RetryParams
} from './mesh-requests.ts'

/**
 * The SDK's low-level server: the mesh's lists change at run time and are served whole,
 * which McpServer's register-each-item API does not model.
 */
export type MeshServer = Server // eslint-disable-line @typescript-eslint/no-deprecated -- deliberate, see above

export interface MeshHandlerEra {
  /** What a request brings besides its params, built as its revision defines it. */
  extraOf: (ctx: ServerContext) => RequestExtra
  /** 2026-07-28: the SDK lifts the MRTR retry fields off params; the agent's node needs them back. */
  retryParams?: (ctx: ServerContext) => RetryParams
}

/** A mesh server with the mesh's identity, capabilities and instructions, and no handlers yet. */
export function newMeshServer (instructions: string): MeshServer {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see MeshServer
  return new Server({ name: MESH_SERVER_NAME, version: VERSION }, {
    capabilities: MESH_CAPABILITIES,
    instructions
  })
}

/** Registers the mesh's methods on `server`, answered by `mesh`, with `era`'s request context. */
export function registerMeshHandlers (server: MeshServer, mesh: MeshRequests, era: MeshHandlerEra): void {
  const { extraOf } = era
  const retry = era.retryParams ?? (() => ({}))
  // A MeshRequestError carries its JSON-RPC code and data; the SDK answers with exactly those.
  server.setRequestHandler('tools/list', (request) => mesh.listTools(request.params))
  server.setRequestHandler('prompts/list', (request) => mesh.listPrompts(request.params))
  server.setRequestHandler('resources/list', (request) => mesh.listResources(request.params))
  server.setRequestHandler('resources/templates/list', (request) => mesh.listResourceTemplates(request.params))
  server.setRequestHandler('completion/complete', async (request, ctx) => await mesh.complete(request.params, extraOf(ctx)))
  server.setRequestHandler('tools/call', async (request, ctx) => await mesh.callTool({ ...request.params, ...retry(ctx) }, extraOf(ctx)))
  server.setRequestHandler('prompts/get', async (request, ctx) => await mesh.getPrompt({ ...request.params, ...retry(ctx) }, extraOf(ctx)))
  server.setRequestHandler('resources/read', async (request, ctx) => await mesh.readResource({ ...request.params, ...retry(ctx) }, extraOf(ctx)))
}

/** One HTTP request header of the request being handled (lower-case name), if it came over HTTP. */
export function headerOf (ctx: ServerContext): (name: string) => string | undefined {
  const headers = ctx.http?.req?.headers
  return (name) => headers?.get(name) ?? undefined
}
