import { execFileSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'

/**
 * An isolated network namespace joined to the host by one veth pair: the
 * namespace reaches only `hostAddr`, and the host reaches it at `nsAddr`.
 * Needs root and iproute2 (`ip`); tests fail with how to get them otherwise.
 */
export interface NetNs {
  name: string
  hostAddr: string
  nsAddr: string
  /** Prefix for a command to run inside the namespace. */
  exec: string[]
  remove: () => void
}

function ip (...args: string[]): void {
  execFileSync('ip', args, { stdio: ['ignore', 'ignore', 'pipe'] })
}

export function createNetNs (): NetNs {
  if (process.getuid?.() !== 0) throw new Error('network-namespace tests need root (they create an isolated host with `ip netns`); run the tests as root')
  try {
    execFileSync('ip', ['-V'], { stdio: 'ignore' })
  } catch {
    throw new Error('`ip` (iproute2) is missing: run sh scripts/install-debian-packages.sh (or apt-get install -y iproute2)')
  }
  const id = randomBytes(3).toString('hex')
  const octet = 1 + (parseInt(id.slice(0, 2), 16) % 250)
  const name = `dawn-${id}`
  const hostIf = `dh${id}`
  const nsIf = `dn${id}`
  const hostAddr = `10.213.${octet}.1`
  const nsAddr = `10.213.${octet}.2`
  ip('netns', 'add', name)
  const remove = (): void => {
    try { ip('link', 'del', hostIf) } catch { /* already gone with the namespace */ }
    try { ip('netns', 'del', name) } catch { /* already gone */ }
  }
  try {
    ip('link', 'add', hostIf, 'type', 'veth', 'peer', 'name', nsIf)
    ip('link', 'set', nsIf, 'netns', name)
    ip('addr', 'add', `${hostAddr}/30`, 'dev', hostIf)
    ip('link', 'set', hostIf, 'up')
    ip('netns', 'exec', name, 'ip', 'addr', 'add', `${nsAddr}/30`, 'dev', nsIf)
    ip('netns', 'exec', name, 'ip', 'link', 'set', nsIf, 'up')
    ip('netns', 'exec', name, 'ip', 'link', 'set', 'lo', 'up')
  } catch (err) {
    remove()
    throw err
  }
  return { name, hostAddr, nsAddr, exec: ['ip', 'netns', 'exec', name], remove }
}
