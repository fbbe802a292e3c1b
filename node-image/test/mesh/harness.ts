import { mkdtemp, rm, readFile, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createNetworkDir, type CreateNetworkOptions, type NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { NodeProcess, type NodeProcessInit } from '../../src/local-mesh/node-process.ts'

export { eventually } from '../../../test/support/eventually.ts'

export interface Mesh {
  net: NetworkFiles
  procs: NodeProcess[]
  get: <T>(i: number, path: string) => Promise<T>
  metric: (i: number, name: string, labels?: Record<string, string>) => Promise<number>
  editConfig: (i: number, edit: (config: Record<string, unknown>) => void) => Promise<void>
  stop: () => Promise<void>
}

export async function tempDir (prefix = 'dawn-test-'): Promise<string> {
  return await mkdtemp(join(tmpdir(), prefix))
}

/** Starts `nodes` real dawn-node processes on loopback and waits until all are ready. */
export async function startMesh (opts: Omit<CreateNetworkOptions, 'dir'> & {
  dir?: string
  beforeStart?: (net: NetworkFiles) => Promise<void>
  /** How node i is spawned besides its config (a wrapper such as `ip netns exec`, extra env). */
  spawn?: (index: number) => Pick<NodeProcessInit, 'wrapper' | 'env'>
}): Promise<Mesh> {
  const dir = opts.dir ?? await tempDir()
  const net = await createNetworkDir({ ...opts, dir })
  await opts.beforeStart?.(net)
  const procs = net.nodes.map((n, i) => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, ...opts.spawn?.(i) }))
  for (const p of procs) p.start()
  const mesh: Mesh = {
    net,
    procs,
    get: async <T>(i: number, path: string): Promise<T> => await getJson<T>(`${net.nodes[i]?.httpUrl ?? ''}${path}`),
    metric: async (i, name, labels = {}) => await readMetric(net.nodes[i]?.httpUrl ?? '', name, labels),
    editConfig: async (i, edit) => {
      const file = net.nodes[i]?.configFile ?? ''
      const config = JSON.parse(await readFile(file, 'utf8')) as Record<string, unknown>
      edit(config)
      // Write-then-rename, the way a ConfigMap update lands.
      await writeFile(`${file}.tmp`, JSON.stringify(config, null, 2))
      await import('node:fs/promises').then(async fs => { await fs.rename(`${file}.tmp`, file) })
    },
    stop: async () => {
      await Promise.all(procs.map(async p => { await p.stop() }))
      if (opts.dir === undefined) await rm(dir, { recursive: true, force: true })
    }
  }
  try {
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
  } catch (err) {
    await mesh.stop()
    throw err
  }
  return mesh
}

export async function getJson<T> (url: string): Promise<T> {
  const res = await fetch(url, { signal: AbortSignal.timeout(5000) })
  if (!res.ok) throw new Error(`GET ${url} -> ${res.status}: ${await res.text()}`)
  return await res.json() as T
}

/** Reads one sample from a node's /metrics (0 when the series does not exist yet). */
export async function readMetric (httpUrl: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) })).text()
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m?.[1] !== name) continue
    const labelText = m[2] ?? ''
    if (want.every(w => labelText.includes(w))) return Number(m[3])
  }
  return 0
}
