// Feature probes: exercise every feature of the MCP reference server (server-everything) through
// any MCP URL, with the official TypeScript SDK v2 client or the official Python SDK client, on
// 2025-11-25 or 2026-07-28. Both return the same normalized FeatureOutcomes, so a run directly
// against the server and one through a Dawn node can be compared with one `toEqual`.
import { execFile } from 'node:child_process'
import { existsSync } from 'node:fs'
import { homedir } from 'node:os'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { identityNames, type NameMap } from './names.ts'
import { normalizeOutcomes, type FeatureOutcomes, type RawOutcomes } from './outcomes.ts'
import { INPUTS, nameTable, RESOURCE_PREFIX, STATIC_DOC, SUBSCRIBED_URI, TEMPLATE_BLOB_URI, TEMPLATE_TEXT_URI, TEXT_TEMPLATE, type Era } from './plan.ts'
import { probeWithTs } from './ts-probe.ts'

export { identityNames, namesFromListing, type NameMap } from './names.ts'
export { FEATURES, type FeatureName, type FeatureOutcomes } from './outcomes.ts'
export type { Era } from './plan.ts'

export interface ProbeInit {
  url: URL | string
  era: Era
  /** How the server's names appear at `url`; identity when the probe talks to the server directly. */
  names?: NameMap
  signal?: AbortSignal
}

/** The TypeScript SDK v2 client: `legacy` negotiation for 2025-11-25, pinned for 2026-07-28 (fails with ERA_NEGOTIATION_FAILED on a 2025-only server). */
export async function runTsProbe (init: ProbeInit): Promise<FeatureOutcomes> {
  const names = nameTable(init.names ?? identityNames)
  const raw = await probeWithTs(new URL(init.url), init.era, names, init.signal)
  return normalizeOutcomes(raw, names)
}

export const PYTHON_MCP_VERSION = '2.3.0'
export const pythonMcpDir = (): string => join(process.env.DAWN_CACHE ?? join(homedir(), '.cache/dawn'), `python-mcp-${PYTHON_MCP_VERSION}`)
const SCRIPT = join(resolve(fileURLToPath(new URL('.', import.meta.url))), 'feature_probe.py')

export class PythonProbeError extends Error {
  override name = 'PythonProbeError'
}

/** The Python interpreter of the project's venv with `mcp` installed; fails with the command that makes it. */
export function pythonMcp (): string {
  const python = join(pythonMcpDir(), 'bin/python')
  if (!existsSync(join(pythonMcpDir(), '.dawn-complete')) || !existsSync(python)) {
    throw new PythonProbeError(`the Python MCP SDK ${PYTHON_MCP_VERSION} venv is missing (${pythonMcpDir()}); run: sh scripts/fetch-python-mcp.sh`)
  }
  return python
}

/**
 * The Python SDK client (`mcp` 2.3.0) running test/support/mcp-features/feature_probe.py. It gets
 * the names already resolved (from `names`, by the caller's TypeScript listing) and the plan's
 * inputs as JSON, and prints the same raw outcomes as the TypeScript probe.
 */
export async function runPythonProbe (init: ProbeInit): Promise<FeatureOutcomes> {
  const python = pythonMcp()
  const names = nameTable(init.names ?? identityNames)
  const uris = { staticDoc: STATIC_DOC, templateText: TEMPLATE_TEXT_URI, templateBlob: TEMPLATE_BLOB_URI, subscribed: SUBSCRIBED_URI, textTemplate: TEXT_TEMPLATE }
  const plan = JSON.stringify({ names, inputs: INPUTS, uris, resourcePrefix: RESOURCE_PREFIX })
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    execFile(python, ['-W', 'ignore', SCRIPT, String(init.url), init.era, plan], {
      encoding: 'utf8', timeout: 240_000, maxBuffer: 64 * 1024 * 1024, signal: init.signal
    }, (err, out, stderr) => {
      if (err !== null) reject(new PythonProbeError(`feature_probe.py ${init.era} failed: ${err.message}\n${stderr.slice(-4000)}`))
      else resolvePromise(out)
    })
  })
  let raw: RawOutcomes
  try {
    raw = JSON.parse(stdout) as RawOutcomes
  } catch {
    throw new PythonProbeError(`feature_probe.py printed no JSON:\n${stdout.slice(0, 2000)}`)
  }
  return normalizeOutcomes(raw, names)
}
