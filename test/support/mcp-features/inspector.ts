// The MCP Inspector 2.x in CLI mode (`mcp-inspector --cli URL --transport http ...`), a third
// client besides the two official SDKs.
import { execFile } from 'node:child_process'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const REPO = resolve(fileURLToPath(new URL('.', import.meta.url)), '../../..')

export class InspectorCliError extends Error {
  override name = 'InspectorCliError'
}

/**
 * Runs the Inspector CLI against `url` with `args` (e.g. `['--method', 'tools/list']`) and
 * returns its JSON output. Runs under this process's Node, which `scripts/node.sh` pinned.
 */
export async function runInspectorCli (url: URL | string, args: string[], opts: { timeoutMs?: number, signal?: AbortSignal } = {}): Promise<unknown> {
  const bin = join(REPO, 'node_modules/.bin/mcp-inspector')
  const argv = ['--cli', String(url), '--transport', 'http', ...args]
  const stdout = await new Promise<string>((resolvePromise, reject) => {
    execFile(bin, argv, {
      cwd: REPO,
      encoding: 'utf8',
      timeout: opts.timeoutMs ?? 60_000,
      maxBuffer: 16 * 1024 * 1024,
      signal: opts.signal,
      // The bin's `#!/usr/bin/env node` must find the project's Node, not an older system one.
      env: { ...process.env, PATH: `${join(process.execPath, '..')}:${process.env.PATH ?? ''}` }
    }, (err, out, stderr) => {
      if (err !== null) reject(new InspectorCliError(`mcp-inspector ${argv.join(' ')} failed: ${err.message}\n${stderr}${out}`))
      else resolvePromise(out)
    })
  })
  try {
    return JSON.parse(stdout) as unknown
  } catch {
    throw new InspectorCliError(`mcp-inspector ${argv.join(' ')} printed no JSON:\n${stdout.slice(0, 2000)}`)
  }
}
