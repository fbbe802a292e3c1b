import { parseArgs } from 'node:util'
import { readFile } from 'node:fs/promises'
import { CliError } from './cli-error.ts'

const USAGE = 'call [<nodeId>:]<agentId> <tool> [--args JSON] [--url URL] [--token-file FILE] [--timeout MS] [--json]'

/**
 * `dawn-node call`: runs one tool anywhere in the mesh through a running node's
 * `POST /api/v1/calls`: `<agentId>` on any replica (with failover), `<nodeId>:<agentId>`
 * on that node only. Prints the text content (or the whole result with --json).
 */
export async function callCommand (args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      args: { type: 'string', default: '{}' },
      url: { type: 'string', default: process.env.DAWN_URL ?? 'http://127.0.0.1:8080' },
      'token-file': { type: 'string' },
      timeout: { type: 'string' },
      json: { type: 'boolean', default: false }
    }
  })
  const [target, tool] = positionals
  if (target === undefined || tool === undefined || positionals.length !== 2) throw new CliError(`usage: dawn-node ${USAGE}`)
  if (!/^(?:[1-9A-HJ-NP-Za-km-z]{40,80}:)?[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/.test(target)) throw new CliError(`call: "${target}" is neither <agentId> nor <nodeId>:<agentId>`)
  let toolArgs: unknown
  try {
    toolArgs = JSON.parse(values.args)
  } catch (err) {
    throw new CliError(`call: --args is not JSON: ${(err as Error).message}`)
  }
  if (typeof toolArgs !== 'object' || toolArgs === null || Array.isArray(toolArgs)) throw new CliError('call: --args must be a JSON object')
  const timeoutMs = values.timeout === undefined ? undefined : Number(values.timeout)
  if (timeoutMs !== undefined && (!Number.isInteger(timeoutMs) || timeoutMs < 1)) throw new CliError('call: --timeout must be a positive integer (ms)')
  const token = await readToken(values['token-file'])

  const res = await fetch(new URL('/api/v1/calls', values.url), {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(token === undefined ? {} : { authorization: `Bearer ${token}` }) },
    body: JSON.stringify({ target, tool, arguments: toolArgs, ...(timeoutMs === undefined ? {} : { timeoutMs }) }),
    signal: AbortSignal.timeout((timeoutMs ?? 600_000) + 5000)
  }).catch((err: unknown) => { throw new CliError(`call: cannot reach ${values.url}: ${(err as Error).message}`, 1) })
  const body = await res.json() as { result?: { content?: Array<{ type: string, text?: string }>, isError?: boolean }, route?: string, code?: string, message?: string }
  if (!res.ok) throw new CliError(`call failed (${body.code ?? res.status}): ${body.message ?? res.statusText}`, 1)
  const result = body.result ?? {}
  if (values.json) {
    process.stdout.write(JSON.stringify(body, null, 2) + '\n')
  } else {
    for (const item of result.content ?? []) process.stdout.write((item.type === 'text' ? item.text ?? '' : JSON.stringify(item)) + '\n')
  }
  return result.isError === true ? 1 : 0
}

/** The bearer token from `file`, else $DAWN_TOKEN; `command` prefixes the error. */
export async function readToken (file: string | undefined, command = 'call'): Promise<string | undefined> {
  if (file === undefined) return process.env.DAWN_TOKEN
  try {
    return (await readFile(file, 'utf8')).trim()
  } catch (err) {
    throw new CliError(`${command}: token file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1)
  }
}
