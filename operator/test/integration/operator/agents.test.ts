// DawnAgents reach nodes through the pool's config.json, which nodes reload live: adding or
// removing one changes the ConfigMap and never the pod template (no pod restarts).
import { describe, it, expect, beforeAll } from 'vitest'
import type { V1StatefulSet } from '@kubernetes/client-node'
import { parseConfig, type NodeConfig } from '@dawn/node-image/config'
import {
  agentManifest, clients, conditionOf, Dawn, eventually, findSecret, isNotFound, networkManifest, poolManifest,
  secretTexts, useOperatorNamespace
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''
useOperatorNamespace(c, 'op-agents', n => { ns = n })
beforeAll(async () => {
  await dawn.create(networkManifest(ns, 'ag'))
  await dawn.create(poolManifest(ns, 'hosts', 'ag', { replicas: 2 }))
  await dawn.create(poolManifest(ns, 'others', 'ag', { replicas: 1, roles: { bootstrap: false } }))
  await eventually(async () => {
    const s = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'hosts' }).catch((e: unknown) => { if (isNotFound(e)) return undefined; throw e })
    return s !== undefined && (await dawn.get('DawnNode', ns, 'others')).status?.peers?.length === 1
  }, { what: 'pools hosts and others' })
})

async function config (pool: string): Promise<NodeConfig> {
  const cm = await c.core.readNamespacedConfigMap({ namespace: ns, name: `${pool}-config` })
  return parseConfig(JSON.parse(cm.data?.['config.json'] ?? 'null'), '/etc/dawn/config')
}

const agentIds = async (pool: string): Promise<string[]> => (await config(pool)).agents.map(a => a.id)

describe('adding and removing DawnAgents', () => {
  it('changes config.json agents but neither the StatefulSet template nor its generation', async () => {
    const baseline = await eventually(async () => {
      const s = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'hosts' }).catch((e: unknown) => { if (isNotFound(e)) return undefined; throw e })
      const p = await dawn.get('DawnNode', ns, 'hosts')
      return s !== undefined && p.status?.peers?.length === 2 && s.status?.observedGeneration === s.metadata?.generation ? s : undefined
    }, { what: 'StatefulSet hosts' })
    expect(await agentIds('hosts')).toEqual([])
    const unchanged = async (): Promise<V1StatefulSet> => {
      const now = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'hosts' })
      expect(now.metadata?.generation).toBe(baseline.metadata?.generation)
      expect(now.spec?.template).toEqual(baseline.spec?.template)
      return now
    }

    // A built-in agent on every pool, and a remote one (with headers) placed on `hosts` only.
    await dawn.create(agentManifest(ns, 'echo', 'ag', { description: 'says it back', builtin: { name: 'echo', settings: { prefix: '> ' } } }))
    await c.core.createNamespacedSecret({ namespace: ns, body: { metadata: { name: 'weather-auth' }, stringData: { 'headers.json': '{"Authorization":"Bearer t0k3n"}' } } })
    await dawn.create(agentManifest(ns, 'weather-agent', 'ag', {
      agentId: 'weather',
      placement: { nodes: ['hosts'] },
      remote: { url: 'https://weather.example.com/mcp', headersSecretRef: { name: 'weather-auth' } }
    }))
    await eventually(async () => JSON.stringify(await agentIds('hosts')) === '["echo","weather"]', { what: 'both agents in hosts config', detail: async () => JSON.stringify(await agentIds('hosts')) })
    await eventually(async () => JSON.stringify(await agentIds('others')) === '["echo"]', { what: 'echo only in others config', detail: async () => JSON.stringify(await agentIds('others')) })
    const agents = (await config('hosts')).agents
    expect(agents).toEqual([
      { id: 'echo', kind: 'builtin', description: 'says it back', builtin: 'echo', settings: { prefix: '> ' } },
      { id: 'weather', kind: 'remote', description: '', url: 'https://weather.example.com/mcp', headersFile: '/etc/dawn/agents/weather-agent.headers.json' }
    ])
    // The headers travel in the pool's headers Secret, mounted whole (no per-agent volume in the template).
    await eventually(async () => secretTexts((await findSecret(c, ns, 'hosts-agent-headers'))!)['weather-agent.headers.json'] === '{"Authorization":"Bearer t0k3n"}',
      { what: 'headers copied into hosts-agent-headers' })
    const withAgents = await unchanged()
    expect(JSON.stringify(withAgents.spec?.template)).not.toContain('Bearer')
    // The agent reports where it lives.
    const echo = await eventually(async () => {
      const a = await dawn.get('DawnAgent', ns, 'echo')
      return a.status?.nodes?.length === 2 ? a : undefined
    }, { what: 'echo status nodes' })
    expect(echo.status?.nodes).toEqual(['hosts', 'others'])
    expect(conditionOf(echo, 'Ready')).toMatchObject({ status: 'True', reason: 'Placed' })
    const weather = await eventually(async () => {
      const a = await dawn.get('DawnAgent', ns, 'weather-agent')
      return a.status?.nodes?.length === 1 ? a : undefined
    }, { what: 'weather status nodes' })
    expect(weather.status?.nodes).toEqual(['hosts'])
    expect(weather.status?.endpoint).toBe('https://weather.example.com/mcp')

    // Removing them.
    await dawn.delete('DawnAgent', ns, 'weather-agent')
    await eventually(async () => JSON.stringify(await agentIds('hosts')) === '["echo"]', { what: 'weather removed from hosts config' })
    await eventually(async () => (await findSecret(c, ns, 'hosts-agent-headers'))?.data?.['weather-agent.headers.json'] === undefined,
      { what: 'headers removed from hosts-agent-headers' })
    await dawn.delete('DawnAgent', ns, 'echo')
    await eventually(async () => (await agentIds('hosts')).length === 0 && (await agentIds('others')).length === 0, { what: 'no agents left' })
    await unchanged()
    // Nor was the identity touched.
    expect(Object.keys(secretTexts((await findSecret(c, ns, 'hosts-identity'))!)).sort()).toEqual(['0.cert.json', '0.key', '1.cert.json', '1.key'])
  })

  it('two DawnAgents claiming one agent id: the older one is configured, the pool says so, and the other takes over when it goes', async () => {
    await dawn.create(agentManifest(ns, 'zeta', 'ag', { agentId: 'dup', placement: { nodes: ['others'] }, builtin: { name: 'zeta' } }))
    await dawn.create(agentManifest(ns, 'alpha', 'ag', { agentId: 'dup', placement: { nodes: ['others'] }, builtin: { name: 'alpha' } }))
    // Older wins; equal creation seconds fall back to the name.
    const [zeta, alpha] = [await dawn.get('DawnAgent', ns, 'zeta'), await dawn.get('DawnAgent', ns, 'alpha')]
    const t = (a: typeof zeta): number => new Date(a.metadata.creationTimestamp as unknown as string).getTime()
    const [winner, loser] = t(zeta) < t(alpha) ? ['zeta', 'alpha'] : ['alpha', 'zeta']
    const degraded = await eventually(async () => {
      const p = await dawn.get('DawnNode', ns, 'others')
      const d = conditionOf(p, 'Degraded')
      return d?.status === 'True' ? d : undefined
    }, { what: 'pool others Degraded by the agent id conflict' })
    expect(degraded).toMatchObject({ reason: 'ConfigurationProblem', message: `agent id dup: ${winner} kept, ${loser} ignored` })
    const entries = (await config('others')).agents.filter(a => a.id === 'dup')
    expect(entries).toEqual([expect.objectContaining({ id: 'dup', kind: 'builtin', builtin: winner })])

    await dawn.delete('DawnAgent', ns, winner)
    await eventually(async () => (await config('others')).agents.some(a => a.id === 'dup' && a.kind === 'builtin' && a.builtin === loser), { what: `${loser} to take agent id dup` })
    await eventually(async () => conditionOf(await dawn.get('DawnNode', ns, 'others'), 'Degraded')?.status === 'False', { what: 'pool others no longer Degraded' })
    await dawn.delete('DawnAgent', ns, loser)
    await eventually(async () => !(await config('others')).agents.some(a => a.id === 'dup'), { what: 'agent id dup gone' })
  })

  it('an image agent runs as a Deployment + Service and nodes call its Service URL', async () => {
    const before = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'hosts' })
    await dawn.create(agentManifest(ns, 'calc', 'ag', { placement: { nodes: ['hosts'] }, image: { image: 'example.invalid/calc:1', port: 9000 } }))
    const url = `http://dawn-agent-calc.${ns}.svc.cluster.local:9000/mcp`
    await eventually(async () => (await config('hosts')).agents.some(a => a.id === 'calc' && a.kind === 'remote' && a.url === url), { what: 'calc in hosts config' })
    const dep = await eventually(async () => await c.apps.readNamespacedDeployment({ namespace: ns, name: 'dawn-agent-calc' }), { what: 'Deployment dawn-agent-calc' })
    const agent = await dawn.get('DawnAgent', ns, 'calc')
    expect(dep.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'DawnAgent', name: 'calc', uid: agent.metadata.uid, controller: true })
    expect(dep.spec?.template.spec?.containers[0]?.securityContext).toMatchObject({ runAsNonRoot: true, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } })
    const svc = await c.core.readNamespacedService({ namespace: ns, name: 'dawn-agent-calc' })
    expect(svc.spec?.ports?.[0]?.port).toBe(9000)
    // No pod runs here (no kubelet), so the agent waits for its workload.
    await eventually(async () => conditionOf(await dawn.get('DawnAgent', ns, 'calc'), 'Ready')?.reason === 'WorkloadNotAvailable', { what: 'calc WorkloadNotAvailable' })
    const after = await c.apps.readNamespacedStatefulSet({ namespace: ns, name: 'hosts' })
    expect(after.metadata?.generation).toBe(before.metadata?.generation)
    expect(after.spec?.template).toEqual(before.spec?.template)
  })

  it('spec.tools and the network\'s naming mode reach every pool\'s config, placed there or not, and restart nothing', async () => {
    const before = await Promise.all(['hosts', 'others'].map(async name => (await c.apps.readNamespacedStatefulSet({ namespace: ns, name })).spec?.template))
    const filters = async (pool: string): Promise<NodeConfig['mcp']> => (await config(pool)).mcp
    await dawn.create(agentManifest(ns, 'files', 'ag', { placement: { nodes: ['hosts'] }, builtin: { name: 'echo' }, tools: { deny: ['secret*'], rename: { read: 'fetch' } } }))
    for (const pool of ['hosts', 'others']) {
      await eventually(async () => JSON.stringify((await filters(pool)).toolFilters) === '{"files":{"deny":["secret*"],"rename":{"read":"fetch"}}}',
        { what: `the files filter in ${pool} config`, detail: async () => JSON.stringify(await filters(pool)) })
    }
    expect((await config('others')).agents.map(a => a.id)).not.toContain('files')
    await dawn.patch('DawnNetwork', ns, 'ag', { spec: { mcp: { naming: 'conditional' } } })
    await eventually(async () => (await filters('others')).naming === 'conditional', { what: 'naming conditional in others config' })
    await dawn.patch('DawnAgent', ns, 'files', { spec: { tools: { deny: ['*'] } } })
    await eventually(async () => JSON.stringify((await filters('hosts')).toolFilters.files) === '{"deny":["*"],"rename":{"read":"fetch"}}', { what: 'the edited filter in hosts config' })
    const after = await Promise.all(['hosts', 'others'].map(async name => (await c.apps.readNamespacedStatefulSet({ namespace: ns, name })).spec?.template))
    expect(after).toEqual(before)

    // No pod is ready here (no kubelet): nobody to ask, so Serving is Unknown; the desired count is the placed pool's size.
    const files = await eventually(async () => {
      const a = await dawn.get('DawnAgent', ns, 'files')
      return conditionOf(a, 'Serving') !== undefined ? a : undefined
    }, { what: 'files Serving condition' })
    expect(conditionOf(files, 'Serving')).toMatchObject({ status: 'Unknown', reason: 'NotObserved', message: 'no node of the network is ready to be asked yet' })
    expect(files.status?.desiredReplicas).toBe(2)
    expect(conditionOf(files, 'Ready')).toMatchObject({ status: 'True', reason: 'Placed' })
    await dawn.delete('DawnAgent', ns, 'files')
    await eventually(async () => JSON.stringify((await filters('others')).toolFilters) === '{}', { what: 'the files filter gone from others config' })
  })
})
