import { describe, it, expect } from 'vitest'
import { agentEndpoint, nodeAgentEntry, renderAgentDeployment, renderAgentService, resolvePlacement, unknownPlacementNodes } from '../../../src/render/agent.ts'
import { renderAgentHeadersSecret, headersJsonProblem } from '../../../src/render/agent-headers.ts'
import { secretTexts } from '../../../src/render/secret-data.ts'
import { RenderInputError } from '../../../src/render/errors.ts'
import { agent, pool } from './fixtures.ts'

const pools = [
  pool('a', {}, { tier: 'edge' }),
  pool('b', {}, { tier: 'core' }),
  pool('c', {}, { tier: 'edge' }),
  pool('x', { networkRef: { name: 'elsewhere' } }, { tier: 'edge' })
]
const restricted = {
  runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, readOnlyRootFilesystem: true, allowPrivilegeEscalation: false,
  capabilities: { drop: ['ALL'] }, seccompProfile: { type: 'RuntimeDefault' }
}

describe('resolvePlacement', () => {
  it('defaults to every pool of the agent\'s network', () => {
    expect(resolvePlacement(agent('e', { builtin: { name: 'echo' } }), pools)).toEqual(['a', 'b', 'c'])
  })
  it('follows placement.nodes, ignoring pools of other networks', () => {
    const a = agent('e', { builtin: { name: 'echo' }, placement: { nodes: ['c', 'x', 'gone'] } })
    expect(resolvePlacement(a, pools)).toEqual(['c'])
    expect(unknownPlacementNodes(a, pools)).toEqual(['gone', 'x'])
  })
  it('follows placement.nodeSelector', () => {
    expect(resolvePlacement(agent('e', { builtin: { name: 'echo' }, placement: { nodeSelector: { matchLabels: { tier: 'edge' } } } }), pools)).toEqual(['a', 'c'])
  })
  it('ignores pools in other namespaces', () => {
    const elsewhere = pool('z')
    elsewhere.metadata.namespace = 'other'
    expect(resolvePlacement(agent('e', { builtin: { name: 'echo' } }), [elsewhere])).toEqual([])
  })
})

describe('image runtime', () => {
  const fetcher = agent('fetch', { image: { image: 'mcp/fetch:1', port: 9000, env: [{ name: 'A', value: 'b' }], resources: { limits: { memory: '256Mi' } } } })
  const labels = { 'app.kubernetes.io/name': 'dawn-agent', 'app.kubernetes.io/instance': 'fetch', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo', 'mesh.dawn.dev/agent': 'fetch' }
  const selector = { 'app.kubernetes.io/name': 'dawn-agent', 'app.kubernetes.io/instance': 'fetch' }
  const ownerReferences = [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnAgent', name: 'fetch', uid: 'uid-agent-fetch', controller: true, blockOwnerDeletion: true }]

  it('renders a restricted Deployment', () => {
    expect(renderAgentDeployment(fetcher)).toEqual({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'dawn-agent-fetch', namespace: 'mesh', labels, ownerReferences },
      spec: {
        replicas: 1,
        selector: { matchLabels: selector },
        template: {
          metadata: { labels },
          spec: {
            automountServiceAccountToken: false,
            enableServiceLinks: false,
            securityContext: { runAsNonRoot: true, runAsUser: 65532, runAsGroup: 65532, fsGroup: 65532, fsGroupChangePolicy: 'OnRootMismatch', seccompProfile: { type: 'RuntimeDefault' } },
            containers: [{
              name: 'agent',
              image: 'mcp/fetch:1',
              ports: [{ name: 'mcp', containerPort: 9000, protocol: 'TCP' }],
              env: [{ name: 'A', value: 'b' }],
              resources: { limits: { memory: '256Mi' } },
              readinessProbe: { tcpSocket: { port: 'mcp' }, periodSeconds: 5 },
              livenessProbe: { tcpSocket: { port: 'mcp' }, periodSeconds: 10, failureThreshold: 6 },
              securityContext: restricted,
              volumeMounts: [{ name: 'tmp', mountPath: '/tmp' }]
            }],
            volumes: [{ name: 'tmp', emptyDir: { sizeLimit: '256Mi' } }]
          }
        }
      }
    })
  })

  it('renders the Service the nodes call, and its URL', () => {
    expect(renderAgentService(fetcher)).toEqual({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'dawn-agent-fetch', namespace: 'mesh', labels, ownerReferences },
      spec: { type: 'ClusterIP', selector, ports: [{ name: 'mcp', port: 9000, targetPort: 'mcp', protocol: 'TCP', appProtocol: 'http' }] }
    })
    expect(agentEndpoint(fetcher, 'cluster.local')).toBe('http://dawn-agent-fetch.mesh.svc.cluster.local:9000/mcp')
    expect(nodeAgentEntry(fetcher, 'cluster.local')).toEqual({ id: 'fetch', kind: 'remote', description: '', url: 'http://dawn-agent-fetch.mesh.svc.cluster.local:9000/mcp' })
  })

  it('refuses other runtimes', () => {
    expect(() => renderAgentDeployment(agent('e', { builtin: { name: 'echo' } }))).toThrow(RenderInputError)
    expect(agentEndpoint(agent('e', { builtin: { name: 'echo' } }), 'cluster.local')).toBeUndefined()
  })
})

describe('remote agent headers', () => {
  it('go into one per-pool Secret under <agent>.headers.json, matching the config entry', () => {
    const weather = agent('weather', { remote: { url: 'https://weather.example/mcp', headersSecretRef: { name: 'w' } } })
    const entry = nodeAgentEntry(weather, 'cluster.local')
    expect(entry).toEqual({ id: 'weather', kind: 'remote', description: '', url: 'https://weather.example/mcp', headersFile: '/etc/dawn/agents/weather.headers.json' })
    const secret = renderAgentHeadersSecret(pool('a'), { weather: '{"Authorization":"Bearer x"}' })
    expect(secret.metadata?.name).toBe('a-agent-headers')
    expect(secretTexts(secret)).toEqual({ 'weather.headers.json': '{"Authorization":"Bearer x"}' })
  })

  it('checks the headers are a JSON object of strings', () => {
    expect(headersJsonProblem('{"a":"b"}')).toBeUndefined()
    expect(headersJsonProblem('nope')).toBe('is not valid JSON')
    expect(headersJsonProblem('[1]')).toMatch(/must be a JSON object/)
    expect(headersJsonProblem('{"a":1}')).toMatch(/"a" must be strings/)
  })
})
