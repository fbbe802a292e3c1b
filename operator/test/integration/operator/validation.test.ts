// The CRDs' schemas and CEL rules, enforced by the real kube-apiserver: each bad spec is refused
// with a message that says what is wrong. Admission is the API server's job alone, so no operator
// runs in this file.
import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import {
  Dawn, agentManifest, apiCode, apiMessage, applyCrds, clients, createNamespace, deleteNamespace, networkManifest, poolManifest,
  type Manifest
} from './helpers.ts'

const c = clients()
const dawn = new Dawn(c)
let ns = ''

beforeAll(async () => {
  await applyCrds(c)
  ns = await createNamespace(c, 'op-validation')
  await dawn.create(networkManifest(ns, 'net-a'))
  await dawn.create(networkManifest(ns, 'net-b'))
})
afterAll(async () => { await deleteNamespace(c, ns) })

/** The rejection of `fn`: HTTP 422 (Invalid) and the apiserver's message. */
async function rejection (fn: () => Promise<unknown>): Promise<string> {
  try {
    await fn()
  } catch (e) {
    expect(apiCode(e), apiMessage(e)).toBe(422)
    return apiMessage(e)
  }
  throw new Error('the API server accepted it')
}

const refused = async (m: Manifest): Promise<string> => {
  const msg = await rejection(async () => await dawn.create(m))
  // Refused means not stored.
  expect(await dawn.find(m.kind, ns, m.metadata.name)).toBeUndefined()
  return msg
}

describe('DawnNode', () => {
  it('networkRef is immutable', async () => {
    await dawn.create(poolManifest(ns, 'pinned', 'net-a', { replicas: 1 }))
    const msg = await rejection(async () => await dawn.patch('DawnNode', ns, 'pinned', { spec: { networkRef: { name: 'net-b' } } }))
    expect(msg).toContain('networkRef is immutable: a pool cannot move to another network')
    expect((await dawn.get('DawnNode', ns, 'pinned')).spec.networkRef.name).toBe('net-a')
    // Other fields still change.
    expect((await dawn.patch('DawnNode', ns, 'pinned', { spec: { replicas: 2 } })).spec.replicas).toBe(2)
  })

  it('storage can only grow (data volume and Kubo volume), and the storage class is immutable', async () => {
    await dawn.create(poolManifest(ns, 'disk', 'net-a', { replicas: 1, storage: { size: '2Gi' }, kubo: { storageSize: '4Gi' } }))
    expect(await rejection(async () => await dawn.patch('DawnNode', ns, 'disk', { spec: { storage: { size: '1Gi' } } })))
      .toContain('storage.size can only grow: Kubernetes cannot shrink a volume')
    expect(await rejection(async () => await dawn.patch('DawnNode', ns, 'disk', { spec: { storage: { size: '2047Mi' } } })))
      .toContain('storage.size can only grow')
    expect(await rejection(async () => await dawn.patch('DawnNode', ns, 'disk', { spec: { kubo: { storageSize: '3Gi' } } })))
      .toContain('kubo.storageSize can only grow')
    expect(await rejection(async () => await dawn.patch('DawnNode', ns, 'disk', { spec: { storage: { storageClassName: 'fast' } } })))
      .toContain('storage.storageClassName is immutable')
    // Growing is fine, in any unit.
    const grown = await dawn.patch('DawnNode', ns, 'disk', { spec: { storage: { size: '3072Mi' } } })
    expect(grown.spec.storage.size).toBe('3072Mi')
    expect(await refused(poolManifest(ns, 'nodisk', 'net-a', { storage: { size: '0' } }))).toContain('storage.size must be greater than zero')
  })

  it('replicas must be within 0..100', async () => {
    expect(await refused(poolManifest(ns, 'negative', 'net-a', { replicas: -1 }))).toMatch(/spec\.replicas: Invalid value: -1: spec\.replicas in body should be greater than or equal to 0/)
    expect(await refused(poolManifest(ns, 'huge', 'net-a', { replicas: 101 }))).toMatch(/spec\.replicas: Invalid value: 101: spec\.replicas in body should be less than or equal to 100/)
    // ... through the scale subresource too.
    await dawn.create(poolManifest(ns, 'scaled', 'net-a', { replicas: 1 }))
    expect(await rejection(async () => { await dawn.scale(ns, 'scaled', 101) })).toContain('should be less than or equal to 100')
    await dawn.scale(ns, 'scaled', 100)
    expect((await dawn.get('DawnNode', ns, 'scaled')).spec.replicas).toBe(100)
    // The edges are allowed.
    await dawn.create(poolManifest(ns, 'empty', 'net-a', { replicas: 0 }))
  })

  it('names that would break pod names, labels or DNS are refused', async () => {
    const long = `p${'x'.repeat(52)}` // 53 characters
    expect(await refused(poolManifest(ns, long, 'net-a'))).toContain('metadata.name must be at most 52 characters')
    await dawn.create(poolManifest(ns, long.slice(0, 52), 'net-a', { replicas: 0 }))
    // Valid Kubernetes object names, but not DNS labels a Service or pod host name can carry.
    expect(await refused(poolManifest(ns, 'pool.v2', 'net-a'))).toContain('metadata.name must start with a lowercase letter and hold only lowercase letters, digits and "-"')
    expect(await refused(poolManifest(ns, '9pool', 'net-a'))).toContain('metadata.name must start with a lowercase letter')
    // Uppercase never gets past the apiserver's own name check.
    expect(await refused(poolManifest(ns, 'Pool', 'net-a'))).toMatch(/a lowercase RFC 1123 subdomain/)
  })

  it('ports must not collide with each other or with the Kubo sidecar', async () => {
    expect(await refused(poolManifest(ns, 'sameports', 'net-a', { ports: { p2p: 9000, http: 9000 } }))).toContain('ports.p2p and ports.http must differ')
    expect(await refused(poolManifest(ns, 'kuboport', 'net-a', { ports: { p2p: 4002 } }))).toContain('the Kubo sidecar in the same pod listens there')
  })
})

describe('DawnAgent', () => {
  it('needs exactly one runtime', async () => {
    expect(await refused(agentManifest(ns, 'none', 'net-a', { description: 'no runtime' })))
      .toContain('set exactly one agent runtime: spec.builtin, spec.remote or spec.image')
    expect(await refused(agentManifest(ns, 'both', 'net-a', { builtin: { name: 'echo' }, remote: { url: 'https://mcp.example.com/mcp' } })))
      .toContain('set exactly one agent runtime')
    expect(await refused(agentManifest(ns, 'three', 'net-a', { builtin: { name: 'echo' }, remote: { url: 'https://mcp.example.com/mcp' }, image: { image: 'x/y:1' } })))
      .toContain('set exactly one agent runtime')
    await dawn.create(agentManifest(ns, 'one', 'net-a', { remote: { url: 'https://mcp.example.com/mcp' } }))
  })

  it('agentId must be a DNS label; the name must leave room for the Service prefix', async () => {
    expect(await refused(agentManifest(ns, 'upper', 'net-a', { agentId: 'Weather', builtin: { name: 'echo' } })))
      .toMatch(/spec\.agentId: Invalid value: "Weather": spec\.agentId in body should match/)
    expect(await refused(agentManifest(ns, 'under', 'net-a', { agentId: 'my_agent', builtin: { name: 'echo' } })))
      .toMatch(/spec\.agentId in body should match/)
    expect(await refused(agentManifest(ns, 'longid', 'net-a', { agentId: 'a'.repeat(64), builtin: { name: 'echo' } })))
      .toMatch(/spec\.agentId: Too long/)
    expect(await refused(agentManifest(ns, `a${'g'.repeat(52)}`, 'net-a'))).toContain('metadata.name must be at most 52 characters')
    expect(await refused(agentManifest(ns, 'agent.v2', 'net-a'))).toContain('metadata.name must hold only lowercase letters, digits and "-"')
  })

  it('networkRef is immutable and placement takes one of nodes or nodeSelector', async () => {
    await dawn.create(agentManifest(ns, 'moving', 'net-a'))
    expect(await rejection(async () => await dawn.patch('DawnAgent', ns, 'moving', { spec: { networkRef: { name: 'net-b' } } })))
      .toContain('networkRef is immutable: an agent cannot move to another network')
    expect(await refused(agentManifest(ns, 'placed', 'net-a', { builtin: { name: 'echo' }, placement: { nodes: ['a'], nodeSelector: { matchLabels: { x: 'y' } } } })))
      .toContain('set at most one of placement.nodes and placement.nodeSelector')
  })

  it('spec.tools: tool names and patterns only, and no two tools renamed to one name', async () => {
    const tools = (t: Record<string, unknown>): Record<string, unknown> => ({ builtin: { name: 'echo' }, tools: t })
    expect(await refused(agentManifest(ns, 'clash', 'net-a', tools({ rename: { read: 'get', fetch: 'get' } }))))
      .toContain('two tools cannot be renamed to one name')
    expect(await refused(agentManifest(ns, 'badkey', 'net-a', tools({ rename: { 'no spaces': 'x' } }))))
      .toContain('every key of tools.rename must be a tool name')
    expect(await refused(agentManifest(ns, 'longkey', 'net-a', tools({ descriptions: { [`t${'x'.repeat(128)}`]: 'd' } }))))
      .toContain('every key of tools.descriptions must be a tool name')
    expect(await refused(agentManifest(ns, 'badglob', 'net-a', tools({ deny: ['a b'] })))).toMatch(/spec\.tools\.deny\[0\] in body should match/)
    const ok = tools({ allow: ['read*', 'write'], deny: ['read_secret'], rename: { read: 'fetch', write: 'put' }, descriptions: { read: 'Reads a file.' } })
    await dawn.create(agentManifest(ns, 'filtered', 'net-a', ok))
    expect((await dawn.get('DawnAgent', ns, 'filtered')).spec.tools).toEqual(ok.tools)
  })
})

describe('DawnNetwork', () => {
  it('networkName is immutable and must be a DNS label', async () => {
    await dawn.create(networkManifest(ns, 'named', { networkName: 'mesh-one' }))
    expect(await rejection(async () => await dawn.patch('DawnNetwork', ns, 'named', { spec: { networkName: 'mesh-two' } })))
      .toContain('spec.networkName is immutable')
    // Setting it explicitly to what it already was (metadata.name) is no change.
    await dawn.patch('DawnNetwork', ns, 'net-b', { spec: { networkName: 'net-b' } })
    expect(await rejection(async () => await dawn.patch('DawnNetwork', ns, 'net-b', { spec: { networkName: 'other' } })))
      .toContain('spec.networkName is immutable')
    expect(await refused(networkManifest(ns, 'badname', { networkName: 'Mesh_1' }))).toMatch(/spec\.networkName in body should match/)
    expect(await refused(networkManifest(ns, 'dotted.name'))).toContain('metadata.name is the default network name and must then be a DNS label')
    await dawn.create(networkManifest(ns, 'dotted.ok', { networkName: 'dotted-ok' }))
  })
})
