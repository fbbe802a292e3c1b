import { readFile } from 'node:fs/promises'
import { resolve } from 'node:path'
import { parseArgs } from 'node:util'
import { StdioServerTransport } from '@modelcontextprotocol/server/stdio'
import { BuiltinConfigError, builtinNames, createBuiltinSpec } from '../agents/builtin/index.ts'
import { serveSpecHttp } from '../agents/builtin-http-server.ts'
import { defineServer } from '../agents/define-server.ts'
import type { ServerSpec } from '../agents/define-server.ts'
import { createJsonLogger } from '../logging/json-logger.ts'
import type { LogFn } from '../logging/json-logger.ts'
import { CliError } from './cli-error.ts'

const USAGE = `usage: dawn-node agent serve <builtin> (--stdio | --http PORT [--host HOST] [--token-file F]) [--data-dir DIR]

Serves one built-in agent (${builtinNames().join(', ')}) as a standalone MCP server:
  --stdio          speak MCP on stdin/stdout (logs go to stderr)
  --http PORT      serve MCP Streamable HTTP at http://HOST:PORT/mcp, protocol revisions 2025-11-25
                   (sessions) and 2026-07-28 (stateless) (0 picks a free port; the URL is printed)
  --host HOST      address to listen on (default 127.0.0.1)
  --token-file F   require Authorization: Bearer <the token in F> on every request
  --data-dir DIR   where agents keep data, e.g. DIR/agents/notes/notes.json (default ./.dawn)`

/** Messages of a stdio client can be as large as a routed call allows (64 MiB) plus JSON overhead. */
const STDIO_MAX_BUFFER_BYTES = 80 * 1024 * 1024

export async function agentCommand (args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub === '-h' || sub === '--help' || sub === 'help') {
    process.stdout.write(USAGE + '\n')
    return 0
  }
  if (sub !== 'serve') throw new CliError(USAGE)
  return await agentServeCommand(rest)
}

interface ServeArgs { name: string, stdio: boolean, port?: number, host: string, dataDir: string, tokenFile?: string }

function parse (args: string[]): ServeArgs {
  let parsed
  try {
    parsed = parseArgs({
      args,
      allowPositionals: true,
      options: {
        stdio: { type: 'boolean', default: false },
        http: { type: 'string' },
        host: { type: 'string', default: '127.0.0.1' },
        'token-file': { type: 'string' },
        'data-dir': { type: 'string', default: '.dawn' }
      }
    })
  } catch (err) {
    throw new CliError(`agent serve: ${(err as Error).message}\n\n${USAGE}`)
  }
  const { values, positionals } = parsed
  const [name, ...extra] = positionals
  if (name === undefined) throw new CliError(`agent serve: which built-in? (${builtinNames().join(', ')})\n\n${USAGE}`)
  if (extra.length > 0) throw new CliError(`agent serve: unexpected argument "${extra[0] ?? ''}"\n\n${USAGE}`)
  if (values.stdio === (values.http !== undefined)) throw new CliError(`agent serve: give exactly one of --stdio and --http PORT\n\n${USAGE}`)
  let port: number | undefined
  if (values.http !== undefined) {
    port = Number(values.http)
    if (!/^\d{1,5}$/.test(values.http) || port > 65535) throw new CliError(`agent serve: --http needs a port number 0..65535, got "${values.http}"`)
  }
  const tokenFile = values['token-file']
  if (tokenFile !== undefined && port === undefined) throw new CliError('agent serve: --token-file needs --http')
  return { name, stdio: values.stdio, ...(port === undefined ? {} : { port }), host: values.host, dataDir: resolve(values['data-dir']), ...(tokenFile === undefined ? {} : { tokenFile }) }
}

export async function agentServeCommand (args: string[]): Promise<number> {
  const opts = parse(args)
  const log = createJsonLogger({ level: 'info', bindings: { component: 'dawn-agent', agent: opts.name } })
  let spec: ServerSpec
  try {
    spec = createBuiltinSpec(opts.name, { agentId: opts.name, dataDir: opts.dataDir, log })
  } catch (err) {
    if (err instanceof BuiltinConfigError) throw new CliError(`agent serve: ${err.message}`, 1)
    throw err
  }
  if (opts.port === undefined) return await serveStdio(spec, log)
  return await serveHttp(spec, log, opts.host, opts.port, opts.tokenFile === undefined ? undefined : await readToken(opts.tokenFile))
}

async function readToken (file: string): Promise<string> {
  let token: string
  try {
    token = (await readFile(file, 'utf8')).trim()
  } catch (err) {
    throw new CliError(`agent serve: --token-file ${file} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)}`, 1)
  }
  // Never quote the file: it is a secret.
  if (!/^[\x21-\x7e]+$/.test(token)) throw new CliError(`agent serve: --token-file ${file} must hold one token of printable characters`, 1)
  return token
}

async function serveStdio (spec: ServerSpec, log: LogFn): Promise<number> {
  const server = defineServer(spec)
  const transport = new StdioServerTransport(process.stdin, process.stdout, { maxBufferSize: STDIO_MAX_BUFFER_BYTES })
  const closed = new Promise<string>((resolve) => {
    server.onclose = () => { resolve('closed') }
    // The client closing our stdin is the normal way to end a stdio server.
    process.stdin.once('end', () => { resolve('stdin closed') })
    process.stdin.once('close', () => { resolve('stdin closed') })
    process.once('SIGINT', () => { resolve('SIGINT') })
    process.once('SIGTERM', () => { resolve('SIGTERM') })
  })
  server.onerror = (err) => { log('debug', 'MCP transport error', { error: err.message }) }
  await server.connect(transport)
  log('info', 'serving MCP on stdio')
  const reason = await closed
  log('info', 'shutting down', { reason })
  await server.close()
  process.stdin.destroy()
  return 0
}

async function serveHttp (spec: ServerSpec, log: LogFn, host: string, port: number, token: string | undefined): Promise<number> {
  let http
  try {
    http = await serveSpecHttp(spec, { host, port, log, ...(token === undefined ? {} : { requiredHeaders: { authorization: `Bearer ${token}` } }) })
  } catch (err) {
    throw new CliError(`agent serve: cannot listen on ${host}:${port}: ${(err as Error).message}`, 1)
  }
  log('info', 'serving MCP over HTTP', { url: http.url })
  process.stdout.write(http.url + '\n')
  const signal = await new Promise<string>((resolve) => {
    process.once('SIGINT', () => { resolve('SIGINT') })
    process.once('SIGTERM', () => { resolve('SIGTERM') })
  })
  log('info', 'shutting down', { signal })
  await http.close()
  return 0
}
