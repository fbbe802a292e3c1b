import { describe, it, expect } from 'vitest'
import { readFile } from 'node:fs/promises'
import { parseAllDocuments } from 'yaml'
import { renderInstallManifest, installObjects, DEFAULT_INSTALL, GEN_MANIFESTS_COMMAND } from '../../../src/install/install-manifest.ts'

const FILE = new URL('../../../../manifests/install.yaml', import.meta.url)

interface Doc { kind: string, metadata: { name: string, namespace?: string, labels?: Record<string, string> }, rules?: Array<{ resources: string[], verbs: string[] }>, spec?: unknown }

describe('manifests/install.yaml', () => {
  it(`is fresh: helm template of charts/dawn (regenerate with: ${GEN_MANIFESTS_COMMAND})`, async () => {
    expect(await readFile(FILE, 'utf8'), `manifests/install.yaml is stale; run ${GEN_MANIFESTS_COMMAND}`).toBe(await renderInstallManifest())
  })

  it('holds the CRDs, its Namespace, least-privilege RBAC and a restricted operator Deployment', async () => {
    const docs = parseAllDocuments(await readFile(FILE, 'utf8')).map(d => d.toJS() as Doc | null).filter((d): d is Doc => d !== null)
    expect(docs.filter(d => d.kind === 'CustomResourceDefinition').map(d => d.metadata.name).sort()).toEqual(['dawnagents.mesh.dawn.dev', 'dawnnetworks.mesh.dawn.dev', 'dawnnodes.mesh.dawn.dev'])
    // The Namespace comes first, so `kubectl apply -f` creates it before what lives in it.
    expect(docs[0]?.kind).toBe('Namespace')
    expect(docs[0]?.metadata.name).toBe(DEFAULT_INSTALL.namespace)
    expect(docs[0]?.metadata.labels?.['pod-security.kubernetes.io/enforce']).toBe('restricted')
    expect(docs.map(d => d.kind).sort()).toEqual(['ClusterRole', 'ClusterRoleBinding', 'CustomResourceDefinition', 'CustomResourceDefinition', 'CustomResourceDefinition',
      'Deployment', 'Namespace', 'PodDisruptionBudget', 'Role', 'RoleBinding', 'Service', 'ServiceAccount'])
    const role = docs.find(d => d.kind === 'ClusterRole')
    const verbs = role?.rules?.flatMap(r => r.verbs) ?? []
    expect(verbs).not.toContain('*')
    expect(role?.rules?.flatMap(r => r.resources)).not.toContain('pods')
    // Custom resources' specs are the user's: the operator only reads them.
    const crRule = role?.rules?.find(r => r.resources.includes('dawnnodes'))
    expect(crRule?.verbs).toEqual(['get', 'list', 'watch'])
    const deploymentDoc = docs.find(d => d.kind === 'Deployment') as { spec: { replicas: number, template: { spec: { containers: Array<{ image: string, args: string[] }> } } } } | undefined
    expect(deploymentDoc?.spec.replicas).toBe(DEFAULT_INSTALL.replicas)
    const container = deploymentDoc?.spec.template.spec.containers[0]
    expect(container?.image).toBe(DEFAULT_INSTALL.image)
    expect(container?.args.join(' ')).toContain('--leader-elect true')
    expect(container?.args.join(' ')).toContain('--metrics-port 8080')
    const deployment = JSON.stringify(deploymentDoc)
    for (const needle of ['"readOnlyRootFilesystem":true', '"runAsNonRoot":true', '"drop":["ALL"]', '"RuntimeDefault"', '"allowPrivilegeEscalation":false']) expect(deployment).toContain(needle)
    for (const d of docs) if (d.kind !== 'Namespace' && d.kind !== 'CustomResourceDefinition' && !d.kind.startsWith('Cluster')) expect(d.metadata.namespace, `${d.kind}/${d.metadata.name}`).toBe(DEFAULT_INSTALL.namespace)
  })

  it('renders for another namespace, image and replica count', async () => {
    const objs = await installObjects({ namespace: 'other', image: 'example.com/dawn/operator:test', replicas: 1 }) as Doc[]
    const deployment = objs.find(o => o.kind === 'Deployment') as { metadata: { namespace: string }, spec: { replicas: number, template: { spec: { containers: Array<{ image: string }> } } } }
    expect(deployment.metadata.namespace).toBe('other')
    expect(deployment.spec.replicas).toBe(1)
    expect(deployment.spec.template.spec.containers[0]?.image).toBe('example.com/dawn/operator:test')
    expect(objs.find(o => o.kind === 'Namespace')?.metadata.name).toBe('other')
  })
})
