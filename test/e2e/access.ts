// How e2e tests reach the cluster from the host: the admin kubeconfig (through the
// apiserver's loopback bridge), kubectl, and loopback bridges to pod and Service addresses
// inside the cluster's network namespace. Nothing here sends traffic anywhere but loopback.
import { request as httpRequest } from 'node:http'
import { Readable } from 'node:stream'
import { beforeEach, inject } from 'vitest'
import { spawn } from 'node:child_process'
import { cp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { clusterPaths } from '../cluster/layout.ts'
import { startLoopbackBridge, type LoopbackBridge } from '../cluster/loopback-bridge.ts'
import { killPid } from '../support/processes.ts'
import { e2eTarget, kubectlBinary, kubectlWith } from './target.ts'

export { eventually } from '../support/eventually.ts'

const paths = clusterPaths()

export async function kubectl (args: string[], stdin?: string): Promise<string> {
  return await kubectlWith(inject('kubeconfig'))(args, stdin)
}

/**
 * Loopback ports into the cluster, one per target address, reused; `closeAll` at the end
 * of a file. On the project's cluster a bridge process reaches the address inside the
 * cluster's network namespace; on kind, `kubectl port-forward` to the pod or Service that
 * has the address.
 */
export class Bridges {
  private readonly open = new Map<string, Promise<LoopbackBridge>>()

  /** `http://127.0.0.1:<port>` leading to `host:port` inside the cluster. */
  async url (host: string, port: number): Promise<string> {
    const key = `${host}:${port}`
    let b = this.open.get(key)
    if (b === undefined) {
      b = e2eTarget().kind === 'local' ? startLoopbackBridge(`bridge-${host}-${port}`, [{ host, port }], paths.logs) : portForward(host, port)
      this.open.set(key, b)
    }
    return `http://127.0.0.1:${(await b).ports[0]!}`
  }

  async closeAll (): Promise<void> {
    const all = [...this.open.values()]
    this.open.clear()
    await Promise.all(all.map(async b => { await (await b).close() }))
  }
}

/** `kubectl port-forward` to whichever pod or Service owns `ip`. */
async function portForward (ip: string, port: number): Promise<LoopbackBridge> {
  const pods = JSON.parse(await kubectl(['get', 'pods', '-A', '--field-selector', `status.podIP=${ip}`, '-o', 'json'])) as { items: Array<{ metadata: { name: string, namespace: string } }> }
  let ref: { ns: string, name: string } | undefined = pods.items[0] === undefined ? undefined : { ns: pods.items[0].metadata.namespace, name: `pod/${pods.items[0].metadata.name}` }
  if (ref === undefined) {
    const svcs = JSON.parse(await kubectl(['get', 'services', '-A', '-o', 'json'])) as { items: Array<{ metadata: { name: string, namespace: string }, spec: { clusterIP?: string } }> }
    const svc = svcs.items.find(s => s.spec.clusterIP === ip)
    if (svc !== undefined) ref = { ns: svc.metadata.namespace, name: `service/${svc.metadata.name}` }
  }
  if (ref === undefined) throw new Error(`no pod or Service has the address ${ip}`)
  const child = spawn(kubectlBinary(), ['port-forward', '-n', ref.ns, '--address', '127.0.0.1', ref.name, `:${port}`], { env: { ...process.env, KUBECONFIG: inject('kubeconfig') }, stdio: ['ignore', 'pipe', 'pipe'] })
  const local = await new Promise<number>((resolve, reject) => {
    let seen = ''
    child.stdout.on('data', (c: Buffer) => {
      seen += c.toString()
      const m = /Forwarding from 127\.0\.0\.1:(\d+)/.exec(seen)
      if (m !== null) resolve(Number(m[1]))
    })
    child.stderr.on('data', (c: Buffer) => { seen += c.toString() })
    child.once('exit', code => { reject(new Error(`kubectl port-forward ${ref.name} exited (${String(code)}): ${seen}`)) })
  })
  const pid = child.pid ?? -1
  return { pid, ports: [local], close: async () => { await killPid(pid, 3000) } }
}

/** GET a JSON document from a node's HTTP API through a bridge. */
export async function getJson<T> (bridges: Bridges, host: string, port: number, path: string): Promise<T> {
  const r = await fetch(`${await bridges.url(host, port)}${path}`, { signal: AbortSignal.timeout(10_000) })
  if (!r.ok) throw new Error(`GET ${path} on ${host}: ${r.status} ${await r.text()}`)
  return await r.json() as T
}

/** On a failed test: events, pods, the operator's and the pods' logs of `namespace` into the output. */
export function dumpOnFailure (namespace: () => string): void {
  beforeEach(ctx => { ctx.onTestFailed(async () => { await dump(namespace()) }) })
}

async function dump (ns: string): Promise<void> {
  const parts: string[] = []
  const section = async (title: string, args: string[]): Promise<void> => {
    try { parts.push(`--- ${title}\n${await kubectl(args)}`) } catch (e) { parts.push(`--- ${title}: ${(e as Error).message}`) }
  }
  await section('events', ['get', 'events', '-n', ns, '--sort-by=.lastTimestamp'])
  await section('pods', ['get', 'pods', '-n', ns, '-o', 'wide'])
  await section('dawn objects', ['get', 'dawnnetworks,dawnnodes,dawnagents,statefulsets,pvc', '-n', ns, '-o', 'wide'])
  await section('pod logs', ['logs', '-n', ns, '--all-containers', '--prefix', '--tail=60', '-l', 'app.kubernetes.io/name=dawn-node'])
  await section('operator logs', ['logs', '-n', 'dawn-system', '--all-containers', '--prefix', '--tail=80', '-l', 'app.kubernetes.io/name=dawn-operator'])
  await section('nodes and pods of every namespace', ['get', 'nodes,pods', '-A', '-o', 'wide'])
  // The full dump outlives the cluster (down removes its state dir).
  const dumpDir = join(tmpdir(), 'dawn-e2e-dumps', `${ns}-${Date.now()}`)
  await section(`cluster dump written to ${dumpDir}`, ['cluster-info', 'dump', '--all-namespaces', '--output-directory', dumpDir])
  if (e2eTarget().kind === 'local') await cp(paths.logs, join(dumpDir, 'components'), { recursive: true }).catch(() => {})
  console.error(`e2e failure diagnostics for namespace ${ns} (component logs copied to ${dumpDir}/components):\n${parts.join('\n')}`)
}

/**
 * fetch that opens a new TCP connection for every request, so each request through a
 * Service is load-balanced anew by kube-proxy (global fetch would reuse one connection and
 * hide whether the Service keeps a client on one pod).
 */
export async function freshConnectionFetch (input: string | URL | Request, init: RequestInit = {}): Promise<Response> {
  const req = new Request(input, init)
  const body = req.body === null ? undefined : Buffer.from(await req.arrayBuffer())
  return await new Promise((resolve, reject) => {
    const r = httpRequest(req.url, { method: req.method, headers: Object.fromEntries(req.headers), agent: false, signal: req.signal }, res => {
      const headers = new Headers()
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v)
      const status = res.statusCode ?? 502
      const stream = status === 204 || status === 304 ? null : Readable.toWeb(res) as ReadableStream<Uint8Array>
      resolve(new Response(stream, { status, headers }))
    })
    r.once('error', reject)
    r.end(body)
  })
}
