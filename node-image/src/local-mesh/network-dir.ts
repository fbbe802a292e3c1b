import { mkdir, readFile, writeFile, access } from 'node:fs/promises'
import { join } from 'node:path'
import { createCa, encodeCertificate, issueCertificate } from '../identity/membership.ts'
import { generateSeed, writeKeyFile } from '../identity/key-file.ts'
import { peerIdFromSeed } from '../identity/peer-id.ts'
import { generateSwarmKey } from '../identity/swarm-key.ts'
import type { NodeConfig } from '../config/schema.ts'
import { freePort } from './free-port.ts'

/** One node of a generated network, as a test or the local mesh sees it. */
export interface NodeFiles {
  name: string
  dir: string
  configFile: string
  peerId: string
  p2pAddr: string
  httpUrl: string
}

export interface NetworkFiles {
  dir: string
  network: string
  caKeyFile: string
  nodes: NodeFiles[]
}

export interface CreateNetworkOptions {
  dir: string
  nodes: number
  network?: string
  /** How many of the first nodes everyone else bootstraps from. */
  bootstrapNodes?: number
  /** Agents for node i (0-based); default: none. */
  agents?: (index: number) => NodeConfig['agents']
  /** Tweaks the written config of node i (tests use this for bad setups). */
  patch?: (index: number, config: Record<string, unknown>) => void
  /** Where node i listens (p2p and HTTP); default: 127.0.0.1 on free ports. Namespace meshes give each node its own address. */
  address?: (index: number) => NodeAddress
}

export interface NodeAddress {
  host: string
  p2pPort: number
  httpPort: number
}

const exists = async (p: string): Promise<boolean> => await access(p).then(() => true, () => false)

/**
 * Writes a complete network to `dir`: swarm.key, a CA, and per node a key,
 * a membership certificate and a config file bootstrapping from the first nodes.
 */
export async function createNetworkDir (opts: CreateNetworkOptions): Promise<NetworkFiles> {
  const network = opts.network ?? 'local'
  await mkdir(opts.dir, { recursive: true })
  const swarmKeyFile = join(opts.dir, 'swarm.key')
  const caKeyFile = join(opts.dir, 'ca.key')
  const caPubFile = join(opts.dir, 'ca.pub')
  await writeFile(swarmKeyFile, generateSwarmKey(), { mode: 0o600 })
  const ca = createCa()
  await writeFile(caKeyFile, ca.privateKeyPem, { mode: 0o600 })
  await writeFile(caPubFile, ca.publicKeyPem)

  const plans: Array<{ name: string, seed: Uint8Array, peerId: string } & NodeAddress> = []
  for (let i = 0; i < opts.nodes; i++) {
    const seed = generateSeed()
    const address = opts.address?.(i) ?? { host: '127.0.0.1', p2pPort: await freePort(), httpPort: await freePort() }
    plans.push({ name: `node-${i + 1}`, seed, peerId: peerIdFromSeed(seed), ...address })
  }
  const addrOf = (p: typeof plans[number]): string => `/ip4/${p.host}/tcp/${p.p2pPort}/p2p/${p.peerId}`
  const bootstrap = plans.slice(0, Math.max(1, opts.bootstrapNodes ?? 2)).map(addrOf)

  const nodes: NodeFiles[] = []
  for (const [i, p] of plans.entries()) {
    const dir = join(opts.dir, p.name)
    await mkdir(join(dir, 'data'), { recursive: true })
    await writeKeyFile(join(dir, 'node.key'), p.seed)
    const cert = issueCertificate({ caPrivateKeyPem: ca.privateKeyPem, network, peerId: p.peerId, validForSeconds: 365 * 86400 })
    await writeFile(join(dir, 'node.cert.json'), encodeCertificate(cert))
    const config: Record<string, unknown> = {
      network: { name: network, swarmKeyFile: '../swarm.key', caPublicKeyFile: '../ca.pub' },
      node: { dataDir: 'data', keyFile: 'node.key', certificateFile: 'node.cert.json' },
      p2p: { listen: [`/ip4/${p.host}/tcp/${p.p2pPort}`], bootstrap: bootstrap.filter(a => a !== addrOf(p)) },
      http: { host: p.host, port: p.httpPort },
      agents: opts.agents?.(i) ?? []
    }
    opts.patch?.(i, config)
    const configFile = join(dir, 'config.json')
    await writeFile(configFile, JSON.stringify(config, null, 2) + '\n')
    nodes.push({ name: p.name, dir, configFile, peerId: p.peerId, p2pAddr: addrOf(p), httpUrl: `http://${p.host}:${p.httpPort}` })
  }
  const files: NetworkFiles = { dir: opts.dir, network, caKeyFile, nodes }
  await writeFile(join(opts.dir, 'network.json'), JSON.stringify(files, null, 2) + '\n')
  return files
}

/** Reads a network written earlier by createNetworkDir, or undefined if `dir` holds none. */
export async function readNetworkDir (dir: string): Promise<NetworkFiles | undefined> {
  const file = join(dir, 'network.json')
  if (!await exists(file)) return undefined
  return JSON.parse(await readFile(file, 'utf8')) as NetworkFiles
}
