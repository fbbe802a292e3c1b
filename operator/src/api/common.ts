// Schema pieces shared by the three resources. Everything here must stay
// expressible as a structural OpenAPI schema (see crd-schema.ts).
import Type from 'typebox'
import type { Static, TSchema } from 'typebox'
import type { V1ObjectMeta } from '@kubernetes/client-node'

/** A CEL rule with the message the API server returns when it fails. */
export interface CelRule {
  rule: string
  message: string
  /** JSON path (from the schema node holding the rule) that the error is reported on. */
  fieldPath?: string
  reason?: 'FieldValueInvalid' | 'FieldValueForbidden' | 'FieldValueRequired' | 'FieldValueDuplicate'
}

/** Options key for CEL rules; spread into a schema's options. */
export function cel (...rules: CelRule[]): { 'x-kubernetes-validations': CelRule[] } {
  return { 'x-kubernetes-validations': rules }
}

/** RFC 1123 label: what Kubernetes calls a DNS label (pod names, label values, agent ids). */
export const DNS1123_LABEL = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$'
/** RFC 1035 label: Service names must also start with a letter. */
export const DNS1035_LABEL = '^[a-z]([-a-z0-9]*[a-z0-9])?$'
/** RFC 1123 subdomain (Secret and other object names). */
export const DNS1123_SUBDOMAIN = '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$'
/** Keys of Secret and ConfigMap data. */
export const DATA_KEY = '^[-._a-zA-Z0-9]+$'
/** Kubernetes resource.Quantity, as the API server's own OpenAPI spells it. */
export const QUANTITY = '^(\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))(([KMGTPE]i)|[numkMGTPE]|([eE](\\+|-)?(([0-9]+(\\.[0-9]*)?)|(\\.[0-9]+))))?$'

/** Object metadata is validated by the API server itself; CRDs may only say it is an object. */
export const ObjectMeta = Type.Unsafe<V1ObjectMeta>({ type: 'object' })

/** A quantity such as `500m`, `1Gi` or `2` (int-or-string, as in core resource lists). */
export const Quantity = Type.Unsafe<number | string>({
  anyOf: [{ type: 'integer' }, { type: 'string' }],
  pattern: QUANTITY,
  'x-kubernetes-int-or-string': true
})

/** A string-only quantity, so CEL's quantity() library can compare it. */
export function StorageQuantity (defaultValue: string, description: string): ReturnType<typeof Type.String> {
  return Type.String({ pattern: QUANTITY, maxLength: 64, default: defaultValue, description })
}

export const ResourceRequirements = Type.Object({
  requests: Type.Optional(Type.Record(Type.String(), Quantity, { description: 'minimum resources, e.g. {cpu: 100m, memory: 128Mi}' })),
  limits: Type.Optional(Type.Record(Type.String(), Quantity, { description: 'maximum resources, e.g. {memory: 512Mi}' }))
}, { additionalProperties: false, description: 'compute resources (as in a container spec)' })
export type ResourceRequirements = Static<typeof ResourceRequirements>

export const ImagePullPolicy = Type.Union([Type.Literal('Always'), Type.Literal('IfNotPresent'), Type.Literal('Never')], {
  description: 'image pull policy; Kubernetes defaults it from the image tag when unset'
})

/** A reference to an object in the same namespace. */
export function LocalObjectRef (description: string) {
  return Type.Object({
    name: Type.String({ minLength: 1, maxLength: 253, pattern: DNS1123_SUBDOMAIN, description: 'name of the object in this namespace' })
  }, { additionalProperties: false, description })
}

/** A reference to one key of a Secret in the same namespace. */
export function SecretKeyRef (defaultKey: string, description: string) {
  return Type.Object({
    name: Type.String({ minLength: 1, maxLength: 253, pattern: DNS1123_SUBDOMAIN, description: 'Secret name, in this namespace' }),
    key: Type.String({ minLength: 1, maxLength: 253, pattern: DATA_KEY, default: defaultKey, description: 'key inside the Secret' })
  }, { additionalProperties: false, description })
}

/** Free-form JSON object kept as given (Kubernetes types we pass through, built-in agent settings). */
export function PreservedObject<T> (description: string): ReturnType<typeof Type.Unsafe<T>> {
  return Type.Unsafe<T>({ type: 'object', 'x-kubernetes-preserve-unknown-fields': true, description })
}

/** metav1.Condition, so `kubectl wait --for=condition=Ready` and every tool that reads conditions work. */
export const ConditionSchema = Type.Object({
  type: Type.String({
    maxLength: 316,
    pattern: '^([a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*/)?(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])$',
    description: 'condition type in CamelCase: Ready, Progressing, Degraded'
  }),
  status: Type.Union([Type.Literal('True'), Type.Literal('False'), Type.Literal('Unknown')]),
  observedGeneration: Type.Optional(Type.Integer({ minimum: 0, description: 'the .metadata.generation the condition was set for' })),
  lastTransitionTime: Type.String({ format: 'date-time', description: 'when status last changed' }),
  reason: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$', description: 'CamelCase reason' }),
  message: Type.String({ maxLength: 32768, description: 'human-readable detail' })
}, { additionalProperties: false })
export type Condition = Static<typeof ConditionSchema>

export const Conditions = Type.Array(ConditionSchema, {
  maxItems: 16,
  'x-kubernetes-list-type': 'map',
  'x-kubernetes-list-map-keys': ['type'],
  description: 'standard conditions: Ready, Progressing, Degraded'
})

export const ObservedGeneration = Type.Integer({ minimum: 0, description: 'the .metadata.generation this status describes' })

/** Wraps a spec and status schema into the full resource schema. */
export function resourceSchema<Spec extends TSchema, Status extends TSchema> (kind: string, spec: Spec, status: Status, rules: CelRule[]) {
  return Type.Object({
    apiVersion: Type.String(),
    kind: Type.String(),
    metadata: ObjectMeta,
    spec,
    status: Type.Optional(status)
  }, { description: `${kind} (mesh.dawn.dev/v1alpha1)`, ...cel(...rules) })
}
