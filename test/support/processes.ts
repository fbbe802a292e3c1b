// Long-running helper processes for the Kubernetes tiers (control plane, cluster): spawned
// detached with a log file each, stopped politely then hard, and guarded against pid reuse.
import { spawn, type ChildProcess } from 'node:child_process'
import { closeSync, openSync, readFileSync } from 'node:fs'
import { request as httpsRequest } from 'node:https'
import { join } from 'node:path'

export const sleep = async (ms: number): Promise<void> => { await new Promise(r => setTimeout(r, ms)) }

/**
 * Runs `cmd` to the end and resolves its stdout; rejects naming the command, its exit status and
 * stderr. `stdin`, when given, is fed in; a command that exits without reading it is no failure.
 */
export async function run (cmd: string, args: string[], cwd?: string, env?: NodeJS.ProcessEnv, stdin?: string): Promise<string> {
  return await new Promise((resolvePromise, reject) => {
    const child = spawn(cmd, args, { cwd, env: env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] })
    const out: Buffer[] = []
    const err: Buffer[] = []
    child.stdout.on('data', (c: Buffer) => { out.push(c) })
    child.stderr.on('data', (c: Buffer) => { err.push(c) })
    child.once('error', (e) => { reject(new Error(`${cmd} ${args.join(' ')} failed: ${e.message}`)) })
    child.once('close', (code, signal) => {
      if (code === 0) resolvePromise(Buffer.concat(out).toString('utf8'))
      else reject(new Error(`${cmd} ${args.join(' ')} failed: exited with ${signal ?? String(code)}\n${Buffer.concat(err).toString('utf8').trim()}`))
    })
    child.stdin.on('error', () => {})
    child.stdin.end(stdin ?? '')
  })
}

export function alive (pid: number): boolean {
  try { process.kill(pid, 0) } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM' }
  // A zombie (exited, not yet reaped by a parent that is not us) counts as dead.
  try { return !/^\d+ \(.*\) Z/.test(readFileSync(`/proc/${pid}/stat`, 'utf8')) } catch { return true }
}

/** True if `pid` is still the process we started (guards against pid reuse before killing). */
export function isOurs (pid: number, binary: string, dir: string): boolean {
  if (!alive(pid)) return false
  try {
    const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8')
    return cmdline.includes(binary) && cmdline.includes(dir)
  } catch {
    return process.platform !== 'linux' // no /proc: trust the pid file
  }
}

export function tail (file: string, lines = 25): string {
  try {
    return readFileSync(file, 'utf8').trimEnd().split('\n').slice(-lines).join('\n')
  } catch { return '(no log)' }
}

export interface Proc<N extends string = string> { name: N, child: ChildProcess, log: string, exited: Promise<number | null>, exit?: number | null }

/**
 * Spawns `bin` detached (its own process group, so a terminal's Ctrl-C aimed at the CLI does
 * not reach it), logging to `<logDir>/<name>.log`. `extraFds` become fds 3, 4, … in the child.
 */
export function startProcess<N extends string> (name: N, bin: string, args: string[], logDir: string, opts: { cwd?: string, extraFds?: number[], env?: NodeJS.ProcessEnv } = {}): Proc<N> {
  const log = join(logDir, `${name}.log`)
  const fd = openSync(log, 'a')
  const child = spawn(bin, args, { cwd: opts.cwd ?? logDir, detached: true, stdio: ['ignore', fd, fd, ...(opts.extraFds ?? [])], env: opts.env ?? process.env })
  closeSync(fd)
  child.unref()
  const proc: Proc<N> = { name, child, log, exited: Promise.resolve(null) }
  proc.exited = new Promise(res => {
    child.once('exit', (code, sig) => { proc.exit = code ?? (sig !== null ? -1 : null); res(proc.exit) })
    child.once('error', () => { proc.exit = -1; res(-1) })
  })
  return proc
}

/** SIGTERM, wait up to `graceMs`, then SIGKILL. */
export async function killPid (pid: number, graceMs = 10_000): Promise<void> {
  if (!alive(pid)) return
  try { process.kill(pid, 'SIGTERM') } catch { return }
  const deadline = Date.now() + graceMs
  while (alive(pid) && Date.now() < deadline) await sleep(50)
  if (alive(pid)) {
    try { process.kill(pid, 'SIGKILL') } catch { /* gone */ }
    const hard = Date.now() + 5000
    while (alive(pid) && Date.now() < hard) await sleep(20)
  }
}

export interface Tls { ca: Buffer, cert: Buffer, key: Buffer }

export async function httpsGet (url: string, tls: Tls, timeoutMs = 5000): Promise<{ status: number, body: string }> {
  return await new Promise((res, rej) => {
    const req = httpsRequest(url, { ...tls, timeout: timeoutMs, headers: { accept: 'application/json' } }, r => {
      let body = ''
      r.setEncoding('utf8')
      r.on('data', (c: string) => { body += c })
      r.on('end', () => { res({ status: r.statusCode ?? 0, body }) })
      r.on('error', rej)
    })
    req.on('timeout', () => { req.destroy(new Error(`timeout after ${timeoutMs} ms`)) })
    req.on('error', rej)
    req.end()
  })
}

export { freePorts } from '../../node-image/src/local-mesh/free-port.ts'
