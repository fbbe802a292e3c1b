// The CustomResourceDefinitions, built from the TypeBox schemas (the one source of
// truth). operator/scripts/gen-crds.ts writes them to crds/; a unit test keeps that fresh.
import { stringify } from 'yaml'
import { CATEGORY, GROUP, VERSION } from './group.ts'
import type { CrdInfo, PrinterColumn } from './crd-info.ts'
import { toStructuralSchema, type StructuralSchema } from './crd-schema.ts'
import { DawnNetworkCrd } from './dawn-network.ts'
import { DawnNodeCrd } from './dawn-node.ts'
import { DawnAgentCrd } from './dawn-agent.ts'

export const CRD_INFOS: readonly CrdInfo[] = [DawnNetworkCrd, DawnNodeCrd, DawnAgentCrd]

/** apiextensions.k8s.io/v1 CustomResourceDefinition, as much of it as we write. */
export interface CustomResourceDefinition {
  apiVersion: 'apiextensions.k8s.io/v1'
  kind: 'CustomResourceDefinition'
  metadata: { name: string, labels: Record<string, string> }
  spec: {
    group: string
    names: { kind: string, listKind: string, plural: string, singular: string, shortNames: string[], categories: string[] }
    scope: 'Namespaced'
    versions: Array<{
      name: string
      served: boolean
      storage: boolean
      schema: { openAPIV3Schema: StructuralSchema }
      subresources: { status: Record<string, never>, scale?: { specReplicasPath: string, statusReplicasPath: string, labelSelectorPath: string } }
      additionalPrinterColumns: PrinterColumn[]
      selectableFields?: Array<{ jsonPath: string }>
    }>
  }
}

export function buildCrd (info: CrdInfo): CustomResourceDefinition {
  const version: CustomResourceDefinition['spec']['versions'][number] = {
    name: VERSION,
    served: true,
    storage: true,
    schema: { openAPIV3Schema: toStructuralSchema(info.schema, { root: true }) },
    subresources: info.scale === undefined ? { status: {} } : { status: {}, scale: info.scale },
    additionalPrinterColumns: info.printerColumns
  }
  if (info.selectableFields !== undefined) version.selectableFields = info.selectableFields.map(jsonPath => ({ jsonPath }))
  return {
    apiVersion: 'apiextensions.k8s.io/v1',
    kind: 'CustomResourceDefinition',
    metadata: { name: `${info.plural}.${GROUP}`, labels: { 'app.kubernetes.io/part-of': 'dawn' } },
    spec: {
      group: GROUP,
      names: { kind: info.kind, listKind: `${info.kind}List`, plural: info.plural, singular: info.singular, shortNames: info.shortNames, categories: [CATEGORY] },
      scope: 'Namespaced',
      versions: [version]
    }
  }
}

export const GEN_CRDS_COMMAND = 'npm run gen:crds'

/** `crds/<plural>.yaml` → file text, exactly as checked in. */
export function renderCrdFiles (): Map<string, string> {
  const files = new Map<string, string>()
  for (const info of CRD_INFOS) {
    const header = `# Generated from operator/src/api by operator/scripts/gen-crds.ts; do not edit.\n# Regenerate with: ${GEN_CRDS_COMMAND}\n`
    // lineWidth 0: CEL rules and messages stay on one line, as written.
    files.set(`${info.plural}.yaml`, header + stringify(buildCrd(info), { lineWidth: 0 }))
  }
  return files
}
