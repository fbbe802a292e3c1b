// Which nodes the agent controller asks about a DawnAgent, and in what order.
import { describe, expect, it } from 'vitest'
import { agentProbeTargets, observeAgent, type AgentWatch } from '../../../src/controllers/agent-serving.ts'
import { pool } from '../render/fixtures.ts'

function withPeers (name: string, replicas: number, ordinals: number[], spec: Record<string, unknown> = {}, readyReplicas = 1): ReturnType<typeof pool> {
  const p = pool(name, { replicas, ...spec })
  p.status = { readyReplicas, peers: ordinals.map(o => ({ ordinal: o, pod: `${name}-${o}`, peerId: `${name}peer${o}`, address: '/dns4/x/tcp/4001/p2p/x' })) }
  return p
}

describe('agentProbeTargets', () => {
  it('puts the placed pools first, by ordinal, skips nodes without a peer id or beyond replicas and pools with no ready pod, then the other pools', () => {
    const a = withPeers('a', 2, [0, 1])
    const b = withPeers('b', 3, [2, 1, 5], { ports: { p2p: 4100, http: 9090 } })
    const c = withPeers('c', 1, [])
    const d = withPeers('d', 1, [0], {}, 0)
    expect(agentProbeTargets([b, d], [a, b, c, d], 'cluster.local')).toEqual([
      { name: 'b-1', baseUrl: 'http://b-1.b-headless.mesh.svc.cluster.local:9090' },
      { name: 'b-2', baseUrl: 'http://b-2.b-headless.mesh.svc.cluster.local:9090' },
      { name: 'a-0', baseUrl: 'http://a-0.a-headless.mesh.svc.cluster.local:8080' },
      { name: 'a-1', baseUrl: 'http://a-1.a-headless.mesh.svc.cluster.local:8080' }
    ])
  })

  it('asks nobody when no node is ready or has a peer id yet', async () => {
    let asked = 0
    const watch: AgentWatch = { intervalMs: 1000, probe: { observe: async () => { asked++; return { ok: false, errors: [] } } } }
    expect(await observeAgent(watch, 'files', agentProbeTargets([], [withPeers('a', 2, []), withPeers('b', 1, [0], {}, 0)], 'cluster.local'), AbortSignal.timeout(1000))).toBeUndefined()
    expect(asked).toBe(0)
  })
})
