import { describe, it, expect } from 'vitest'
import { readFile } from 'node:fs/promises'
import { parseAllDocuments } from 'yaml'
import { renderInstallManifest, GEN_MANIFESTS_COMMAND } from '../../../src/install/install-manifest.ts'

const FILE = new URL('../../../../manifests/install.yaml', import.meta.url)

describe('manifests/install.yaml', () => {
  it(`is fresh (regenerate with: ${GEN_MANIFESTS_COMMAND})`, async () => {
    expect(await readFile(FILE, 'utf8'), `manifests/install.yaml is stale; run ${GEN_MANIFESTS_COMMAND}`).toBe(renderInstallManifest())
  })

  it('holds the CRDs, least-privilege RBAC and a restricted operator Deployment', () => {
    const docs = parseAllDocuments(renderInstallManifest()).map(d => d.toJS() as { kind: string, metadata: { name: string }, rules?: Array<{ resources: string[], verbs: string[] }>, spec?: unknown })
    expect(docs.filter(d => d.kind === 'CustomResourceDefinition').map(d => d.metadata.name).sort()).toEqual(['dawnagents.mesh.dawn.dev', 'dawnnetworks.mesh.dawn.dev', 'dawnnodes.mesh.dawn.dev'])
    const role = docs.find(d => d.kind === 'ClusterRole')
    const verbs = role?.rules?.flatMap(r => r.verbs) ?? []
    expect(verbs).not.toContain('*')
    expect(role?.rules?.flatMap(r => r.resources)).not.toContain('pods')
    // Custom resources' specs are the user's: the operator only reads them.
    const crRule = role?.rules?.find(r => r.resources.includes('dawnnodes'))
    expect(crRule?.verbs).toEqual(['get', 'list', 'watch'])
    const deployment = JSON.stringify(docs.find(d => d.kind === 'Deployment'))
    for (const needle of ['"readOnlyRootFilesystem":true', '"runAsNonRoot":true', '"drop":["ALL"]', '"RuntimeDefault"', '"allowPrivilegeEscalation":false']) expect(deployment).toContain(needle)
  })
})
