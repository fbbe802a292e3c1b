import type { TSchema } from 'typebox'

export interface PrinterColumn {
  name: string
  type: 'string' | 'integer' | 'number' | 'boolean' | 'date'
  jsonPath: string
  description?: string
  /** 0 shows in `kubectl get`; 1 only with `-o wide`. */
  priority?: number
}

/** Everything a CRD needs beyond the group: one entry per kind, next to its schema. */
export interface CrdInfo {
  kind: string
  plural: string
  singular: string
  shortNames: string[]
  schema: TSchema
  printerColumns: PrinterColumn[]
  scale?: { specReplicasPath: string, statusReplicasPath: string, labelSelectorPath: string }
  /** Fields usable in field selectors (`kubectl get dnode --field-selector spec.networkRef.name=x`). */
  selectableFields?: string[]
}
