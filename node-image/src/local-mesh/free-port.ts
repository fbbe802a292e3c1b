import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'

/**
 * Ports are picked below the kernel's ephemeral range: a port the OS hands out for
 * `listen(0)` comes from that range, so any outgoing connection may take it as its
 * source port between our check and the node's listen (EADDRINUSE on a busy machine).
 */
function candidateRange (): [number, number] {
  let low = 32768
  try {
    const first = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    if (Number.isInteger(first) && first > 2048) low = first
  } catch { /* not Linux: use the IANA default */ }
  return [Math.max(1024, low - 12_000), low - 1]
}

const held = new Set<number>()

async function bindable (port: number): Promise<boolean> {
  return await new Promise(resolve => {
    const srv = createServer()
    srv.unref()
    srv.once('error', () => { resolve(false) })
    srv.listen(port, '127.0.0.1', () => { srv.close(() => { resolve(true) }) })
  })
}

/** A TCP port free on 127.0.0.1 right now, outside the ephemeral range, not handed out before by this process. */
export async function freePort (): Promise<number> {
  const [from, to] = candidateRange()
  for (let attempt = 0; attempt < 200; attempt++) {
    const port = from + Math.floor(Math.random() * (to - from + 1))
    if (held.has(port)) continue
    if (await bindable(port)) {
      held.add(port)
      return port
    }
  }
  throw new Error(`no free port in ${from}-${to} after 200 tries`)
}

/** Distinct free loopback ports. */
export async function freePorts (n: number): Promise<number[]> {
  const ports: number[] = []
  for (let i = 0; i < n; i++) ports.push(await freePort())
  return ports
}
