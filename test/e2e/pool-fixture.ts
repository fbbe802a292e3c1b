// A Dawn network as a platform team would apply it, in its own namespace labelled Pod
// Security `restricted`, and ways to look at its pods and nodes from the host.
import type { V1Pod } from '@kubernetes/client-node'
import type { DawnNode } from '../../operator/src/api/index.ts'
import { API_VERSION, clients, Dawn, type Clients, type Manifest } from '../../operator/test/integration/operator/helpers.ts'
import { uniqueName } from '../controlplane/kube.ts'
import { Bridges, eventually, getJson, kubectl } from './access.ts'

export const HTTP_PORT = 8080
export const NODE_IMAGE = 'dawn/node:0.1.0'

export interface NodeInfo { peerId: string, ready: boolean, peers: number, registry: { digest: string, entries: number } }
export interface PeerInfo { peerId: string, verified: boolean }

export class PoolFixture {
  readonly c: Clients = clients()
  readonly dawn = new Dawn(this.c)
  readonly bridges = new Bridges()
  ns = ''

  async createNamespace (prefix: string): Promise<string> {
    this.ns = uniqueName(prefix)
    await this.c.core.createNamespace({
      body: {
        metadata: {
          name: this.ns,
          labels: {
            'pod-security.kubernetes.io/enforce': 'restricted',
            'pod-security.kubernetes.io/enforce-version': 'latest',
            'pod-security.kubernetes.io/warn': 'restricted'
          }
        }
      }
    })
    return this.ns
  }

  async apply (...manifests: Manifest[]): Promise<void> {
    for (const m of manifests) await this.dawn.create(m)
  }

  network (name: string, spec: Record<string, unknown> = {}): Manifest<'DawnNetwork'> {
    return { apiVersion: API_VERSION, kind: 'DawnNetwork', metadata: { name, namespace: this.ns }, spec }
  }

  pool (name: string, network: string, spec: Record<string, unknown> = {}): Manifest<'DawnNode'> {
    return { apiVersion: API_VERSION, kind: 'DawnNode', metadata: { name, namespace: this.ns }, spec: { networkRef: { name: network }, image: NODE_IMAGE, ...spec } }
  }

  agent (name: string, network: string, spec: Record<string, unknown> = { builtin: { name: 'echo' } }): Manifest<'DawnAgent'> {
    return { apiVersion: API_VERSION, kind: 'DawnAgent', metadata: { name, namespace: this.ns }, spec: { networkRef: { name: network }, ...spec } }
  }

  async pods (pool: string): Promise<V1Pod[]> {
    const items = (await this.c.core.listNamespacedPod({ namespace: this.ns, labelSelector: `app.kubernetes.io/instance=${pool}` })).items
    return items.sort((a, b) => (a.metadata?.name ?? '').localeCompare(b.metadata?.name ?? '', 'en', { numeric: true }))
  }

  /** Waits for the pool's Ready condition with `replicas` ready pods of the current generation. */
  async readyPool (name: string, replicas: number, timeoutMs = 300_000): Promise<DawnNode> {
    return await eventually(async () => {
      const p = await this.dawn.get('DawnNode', this.ns, name)
      const ready = p.status?.conditions?.find(c => c.type === 'Ready')?.status === 'True'
      return ready && p.status?.observedGeneration === p.metadata.generation && p.status?.readyReplicas === replicas ? p : undefined
    }, {
      what: `DawnNode ${name} Ready with ${replicas} ready replicas`,
      timeoutMs,
      intervalMs: 1000,
      detail: async () => `${JSON.stringify((await this.dawn.find('DawnNode', this.ns, name))?.status)}\n${await kubectl(['get', 'pods', '-n', this.ns, '-o', 'wide'])}`
    })
  }

  async node<T = NodeInfo> (pod: V1Pod, path = '/api/v1/node'): Promise<T> {
    const ip = pod.status?.podIP
    if (ip === undefined) throw new Error(`pod ${pod.metadata?.name ?? ''} has no IP`)
    return await getJson<T>(this.bridges, ip, HTTP_PORT, path)
  }

  async nodeUrl (pod: V1Pod): Promise<string> {
    return await this.bridges.url(pod.status?.podIP ?? '', HTTP_PORT)
  }

  async exec (pod: string, container: string, script: string): Promise<string> {
    return await kubectl(['exec', '-n', this.ns, pod, '-c', container, '--', 'sh', '-c', script])
  }

  async dispose (): Promise<void> {
    await this.bridges.closeAll()
    if (this.ns !== '') await this.c.core.deleteNamespace({ name: this.ns }).catch(() => {})
  }
}

export const restarts = (pod: V1Pod): number =>
  [...(pod.status?.containerStatuses ?? []), ...(pod.status?.initContainerStatuses ?? [])].reduce((n, s) => n + s.restartCount, 0)

export const uidsOf = (pods: V1Pod[]): string[] => pods.map(p => p.metadata?.uid ?? '')
