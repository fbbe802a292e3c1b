/**
 * Environment variables and CLI flags that override config-file fields.
 * One table serves both, so `--http-port` and `DAWN_HTTP_PORT` can never drift apart.
 */
type Kind = 'string' | 'int' | 'bool' | 'list'

interface Override { flag: string, env: string, path: readonly string[], kind: Kind, help: string }

export const OVERRIDES: readonly Override[] = [
  { flag: 'network', env: 'DAWN_NETWORK', path: ['network', 'name'], kind: 'string', help: 'network name' },
  { flag: 'swarm-key', env: 'DAWN_SWARM_KEY_FILE', path: ['network', 'swarmKeyFile'], kind: 'string', help: 'swarm.key (PSK) file' },
  { flag: 'ca', env: 'DAWN_CA_PUBLIC_KEY_FILE', path: ['network', 'caPublicKeyFile'], kind: 'string', help: 'network CA public key (PEM)' },
  { flag: 'data-dir', env: 'DAWN_DATA_DIR', path: ['node', 'dataDir'], kind: 'string', help: 'data directory' },
  { flag: 'key', env: 'DAWN_KEY_FILE', path: ['node', 'keyFile'], kind: 'string', help: 'Ed25519 node key (PKCS#8 PEM)' },
  { flag: 'cert', env: 'DAWN_CERT_FILE', path: ['node', 'certificateFile'], kind: 'string', help: 'membership certificate (JSON)' },
  { flag: 'relay-server', env: 'DAWN_RELAY_SERVER', path: ['node', 'relayServer'], kind: 'bool', help: 'act as a circuit relay' },
  { flag: 'listen', env: 'DAWN_LISTEN', path: ['p2p', 'listen'], kind: 'list', help: 'listen multiaddrs (comma-separated)' },
  { flag: 'announce', env: 'DAWN_ANNOUNCE', path: ['p2p', 'announce'], kind: 'list', help: 'announce multiaddrs (comma-separated)' },
  { flag: 'bootstrap', env: 'DAWN_BOOTSTRAP', path: ['p2p', 'bootstrap'], kind: 'list', help: 'bootstrap multiaddrs (comma-separated)' },
  { flag: 'mdns', env: 'DAWN_MDNS', path: ['p2p', 'mdns'], kind: 'bool', help: 'enable mDNS discovery' },
  { flag: 'http-host', env: 'DAWN_HTTP_HOST', path: ['http', 'host'], kind: 'string', help: 'HTTP bind address' },
  { flag: 'http-port', env: 'DAWN_HTTP_PORT', path: ['http', 'port'], kind: 'int', help: 'HTTP port' },
  { flag: 'log-level', env: 'DAWN_LOG_LEVEL', path: ['log', 'level'], kind: 'string', help: 'debug | info | warn | error' }
]

export class OverrideError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'OverrideError'
  }
}

function convert (o: Override, raw: string, source: string): unknown {
  switch (o.kind) {
    case 'string': return raw
    case 'list': return raw.split(',').map(s => s.trim()).filter(s => s !== '')
    case 'int': {
      if (!/^-?\d+$/.test(raw.trim())) throw new OverrideError(`${source}: expected an integer, got "${raw}"`)
      return Number(raw)
    }
    case 'bool': {
      const v = raw.trim().toLowerCase()
      if (['true', '1', 'yes', ''].includes(v)) return true
      if (['false', '0', 'no'].includes(v)) return false
      throw new OverrideError(`${source}: expected true or false, got "${raw}"`)
    }
  }
}

function setPath (target: Record<string, unknown>, path: readonly string[], value: unknown): void {
  let cur = target
  for (const key of path.slice(0, -1)) {
    const next = cur[key]
    if (typeof next !== 'object' || next === null || Array.isArray(next)) cur[key] = {}
    cur = cur[key] as Record<string, unknown>
  }
  cur[path[path.length - 1] as string] = value
}

/** Applies env first, then flags (flags win), to a parsed-but-unvalidated config object. */
export function applyOverrides (config: Record<string, unknown>, env: NodeJS.ProcessEnv, flags: Record<string, string | boolean | undefined>): Record<string, unknown> {
  const out = structuredClone(config)
  for (const o of OVERRIDES) {
    const fromEnv = env[o.env]
    if (fromEnv !== undefined) setPath(out, o.path, convert(o, fromEnv, o.env))
    const fromFlag = flags[o.flag]
    if (fromFlag !== undefined) setPath(out, o.path, convert(o, fromFlag === true ? 'true' : String(fromFlag), `--${o.flag}`))
  }
  return out
}
