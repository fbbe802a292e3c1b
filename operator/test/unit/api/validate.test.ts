import { describe, it, expect } from 'vitest'
import { dawnAgentValidator, dawnNetworkValidator, dawnNodeValidator, ResourceValidationError } from '../../../src/api/validate.ts'
import { effectiveNetworkName } from '../../../src/api/dawn-network.ts'
import { agentRuntime, effectiveAgentId } from '../../../src/api/dawn-agent.ts'

const meta = (name: string): { name: string, namespace: string } => ({ name, namespace: 'ns' })

describe('resource validators', () => {
  it('apply the schema defaults as the API server does', () => {
    const net = dawnNetworkValidator.parse({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', metadata: meta('demo') })
    expect(net.spec.clusterDomain).toBe('cluster.local')
    expect(net.spec.membership.certificateValidityDays).toBe(365)
    expect(effectiveNetworkName(net)).toBe('demo')
    expect(effectiveNetworkName({ ...net, spec: { ...net.spec, networkName: 'mesh-a' } })).toBe('mesh-a')

    const node = dawnNodeValidator.parse({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNode', metadata: meta('pool'), spec: { networkRef: { name: 'demo' } } })
    expect(node.spec).toMatchObject({ replicas: 3, image: 'dawn/node:0.1.0', storage: { size: '1Gi' }, ports: { p2p: 4001, http: 8080 }, logLevel: 'info' })

    const agent = dawnAgentValidator.parse({ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnAgent', metadata: meta('fetch'), spec: { networkRef: { name: 'demo' }, image: { image: 'mcp/fetch:1' } } })
    expect(agent.spec.image).toEqual({ image: 'mcp/fetch:1', port: 8080, path: '/mcp', replicas: 1 })
    expect(effectiveAgentId(agent)).toBe('fetch')
    expect(agentRuntime(agent)).toBe('image')
  })

  it('reject bad specs with every issue named', () => {
    let error: unknown
    try {
      dawnNodeValidator.parse({ apiVersion: 'x', kind: 'DawnNode', metadata: meta('pool'), spec: { networkRef: { name: 'demo' }, replicas: 101, storage: { size: 'lots' }, extra: 1 } })
    } catch (e) { error = e }
    expect(error).toBeInstanceOf(ResourceValidationError)
    const issues = (error as ResourceValidationError).issues
    expect(issues).toContain('spec.replicas: must be <= 100')
    expect(issues.some(i => i.startsWith('spec.storage.size: must match pattern'))).toBe(true)
    expect(issues).toContain('spec: unknown field(s) "extra"')
    expect((error as Error).message).toMatch(/^DawnNode pool is invalid/)
  })

  it('accept int-or-string quantities and reject malformed ones', () => {
    const base = { apiVersion: 'x', kind: 'DawnNode', metadata: meta('pool') }
    expect(() => dawnNodeValidator.parse({ ...base, spec: { networkRef: { name: 'd' }, resources: { requests: { cpu: '100m', memory: 128 } } } })).not.toThrow()
    expect(() => dawnNodeValidator.parse({ ...base, spec: { networkRef: { name: 'd' }, resources: { requests: { cpu: '100 m' } } } })).toThrow(ResourceValidationError)
  })

  it('take remote agent URL rules from the node config schema', () => {
    const base = { apiVersion: 'x', kind: 'DawnAgent', metadata: meta('a') }
    expect(() => dawnAgentValidator.parse({ ...base, spec: { networkRef: { name: 'd' }, remote: { url: 'ftp://x' } } })).toThrow(/spec\.remote\.url/)
    const ok = dawnAgentValidator.parse({ ...base, spec: { networkRef: { name: 'd' }, remote: { url: 'https://mcp.example/mcp', headersSecretRef: { name: 'h' } } } })
    expect(ok.spec.remote?.headersSecretRef?.key).toBe('headers.json')
  })
})
