import { readFile } from 'node:fs/promises'
import { dirname, isAbsolute, join, resolve } from 'node:path'
import { NodeConfigSchema, StaticAgentConfig, BuiltinAgentConfig, RemoteAgentConfig, StdioAgentConfig, AGENT_KINDS, type NodeConfig } from './schema.ts'
import { applyOverrides, OverrideError } from './overrides.ts'
import { renameClash } from './mcp-views.ts'
import { compileParser, SchemaValidationError } from '../validation/schema-error.ts'

/** The config cannot be used; the message names the file and the field. */
export class ConfigError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ConfigError'
  }
}

const parseNodeConfig = compileParser(NodeConfigSchema, 'config')

export interface LoadConfigOptions {
  /** Path of the JSON config file; optional when env/flags supply every required field. */
  file?: string
  env?: NodeJS.ProcessEnv
  flags?: Record<string, string | boolean | undefined>
}

export interface LoadedConfig {
  config: NodeConfig
  file?: string
}

async function readJsonObject (file: string): Promise<Record<string, unknown>> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    throw new ConfigError(`config file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, { cause: err })
  }
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch (err) {
    throw new ConfigError(`config file ${file} is not valid JSON: ${(err as Error).message}`, { cause: err })
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) throw new ConfigError(`config file ${file} must hold a JSON object`)
  return value as Record<string, unknown>
}

function resolvePaths (config: NodeConfig, base: string): NodeConfig {
  const abs = (p: string): string => isAbsolute(p) ? p : resolve(base, p)
  const dataDir = abs(config.node.dataDir)
  return {
    ...config,
    network: { ...config.network, swarmKeyFile: abs(config.network.swarmKeyFile), caPublicKeyFile: abs(config.network.caPublicKeyFile) },
    node: {
      ...config.node,
      dataDir,
      certificateFile: abs(config.node.certificateFile),
      keyFile: config.node.keyFile === undefined ? join(dataDir, 'node.key') : abs(config.node.keyFile)
    },
    mcp: config.mcp.tokenFile === undefined ? config.mcp : { ...config.mcp, tokenFile: abs(config.mcp.tokenFile) },
    agents: config.agents.map(a => a.kind === 'remote' && a.headersFile !== undefined ? { ...a, headersFile: abs(a.headersFile) } : a)
  }
}

// Agents are a union keyed by `kind`: validating each against its own branch gives
// errors that name the real problem, and applies that branch's defaults.
const agentParsers = {
  static: compileParser(StaticAgentConfig, 'agent'),
  builtin: compileParser(BuiltinAgentConfig, 'agent'),
  remote: compileParser(RemoteAgentConfig, 'agent'),
  stdio: compileParser(StdioAgentConfig, 'agent')
}

function parseAgents (agents: unknown[]): { agents: unknown[], issues: string[] } {
  const issues: string[] = []
  const parsed = agents.map((agent, i) => {
    if (typeof agent !== 'object' || agent === null || Array.isArray(agent)) {
      issues.push(`agents.${i}: must be an object`)
      return agent
    }
    // `kind` may be left out for static entries, the common hand-written case.
    const kind = (agent as { kind?: unknown }).kind ?? 'static'
    if (typeof kind !== 'string' || !(AGENT_KINDS as readonly string[]).includes(kind)) {
      issues.push(`agents.${i}.kind: must be one of ${AGENT_KINDS.join(', ')}`)
      return agent
    }
    try {
      return agentParsers[kind as keyof typeof agentParsers]({ ...agent, kind })
    } catch (err) {
      if (!(err instanceof SchemaValidationError)) throw err
      issues.push(...err.issues.map(issue => `agents.${i}${issue.startsWith('(root)') ? issue.slice('(root)'.length) : `.${issue}`}`))
      return agent
    }
  })
  return { agents: parsed, issues }
}

/** Validates a raw config object (already merged with overrides). */
export function parseConfig (raw: unknown, base: string, source = 'config'): NodeConfig {
  const fail = (issues: string[], cause?: unknown): never => {
    throw new ConfigError(`${source} is invalid:\n  - ${issues.join('\n  - ')}`, { cause })
  }
  let input = raw
  let agentIssues: string[] = []
  const agents = (raw as { agents?: unknown } | null)?.agents
  if (Array.isArray(agents)) {
    const result = parseAgents(agents)
    agentIssues = result.issues
    input = { ...(raw as object), agents: result.agents }
  }
  try {
    const config = parseNodeConfig(input)
    if (agentIssues.length > 0) fail(agentIssues)
    if (config.storage.backend === 'kubo' && config.storage.kuboApiUrl === undefined) fail(['storage.kuboApiUrl: required when storage.backend is "kubo"'])
    for (const [agentId, filter] of Object.entries(config.mcp.toolFilters)) {
      const clash = renameClash(filter)
      if (clash !== undefined) fail([`mcp.toolFilters.${agentId}.rename.${clash.second}: "${clash.first}" and "${clash.second}" are both renamed to "${clash.to}"`])
    }
    return resolvePaths(config, base)
  } catch (err) {
    if (err instanceof SchemaValidationError) {
      // The agents' own messages replace the union's branch-by-branch noise.
      fail([...err.issues.filter(issue => !/^agents\.\d+/.test(issue) || agentIssues.length === 0), ...agentIssues], err)
    }
    throw err
  }
}

export async function loadConfig (opts: LoadConfigOptions = {}): Promise<LoadedConfig> {
  const env = opts.env ?? process.env
  const file = opts.file ?? env.DAWN_CONFIG
  const raw = file === undefined ? {} : await readJsonObject(file)
  let merged: Record<string, unknown>
  try {
    merged = applyOverrides(raw, env, opts.flags ?? {})
  } catch (err) {
    if (err instanceof OverrideError) throw new ConfigError(err.message, { cause: err })
    throw err
  }
  const base = file === undefined ? process.cwd() : dirname(resolve(file))
  const config = parseConfig(merged, base, file === undefined ? 'config (from environment and flags)' : `config file ${file}`)
  return file === undefined ? { config } : { config, file: resolve(file) }
}
