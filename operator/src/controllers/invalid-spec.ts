// A spec the operator cannot use, even with its schema's defaults filled in (a CRD
// installed without validation, an object written around it), is reported, never
// reconciled into a TypeError retry loop: Ready=False with reason InvalidSpec, the
// problems in the message, and a Warning Event.
import type { ResourceValidator } from '../api/index.ts'
import { API_VERSION } from '../api/index.ts'
import type { Condition } from '../api/common.ts'
import { CONDITION_TYPES, setConditions } from '../render/index.ts'
import type { ControllerComponents } from './context.ts'

export const INVALID_SPEC_REASON = 'InvalidSpec'

interface DawnObject {
  metadata: { name?: string, namespace?: string, generation?: number }
  status?: { conditions?: Condition[] }
}

/** Only the spec counts: status and metadata are not the user's to get wrong. */
export function specIssues<T> (validator: ResourceValidator<T>, obj: unknown): string[] {
  return validator.issues(obj).filter(i => i.startsWith('spec'))
}

/** True (and status and an Event written) when `obj`'s spec is unusable; the caller then stops. */
export async function refuseInvalidSpec<T extends DawnObject> (
  c: ControllerComponents, kind: string, obj: T, validator: ResourceValidator<T>, signal: AbortSignal
): Promise<boolean> {
  const issues = specIssues(validator, obj)
  if (issues.length === 0) return false
  const message = `the spec does not match the ${kind} schema: ${issues.slice(0, 8).join('; ')}${issues.length > 8 ? `; and ${issues.length - 8} more` : ''}`
  const generation = obj.metadata.generation ?? 0
  const conditions = setConditions(obj.status?.conditions ?? [], [
    { type: CONDITION_TYPES.ready, status: 'False', reason: INVALID_SPEC_REASON, message, observedGeneration: generation },
    { type: CONDITION_TYPES.degraded, status: 'True', reason: INVALID_SPEC_REASON, message, observedGeneration: generation }
  ], new Date(c.now()))
  await c.applier.applyStatus({
    apiVersion: API_VERSION, kind, metadata: { name: obj.metadata.name ?? '', namespace: obj.metadata.namespace ?? '' },
    status: { observedGeneration: generation, conditions }
  }, { signal })
  void c.events.record(obj, { type: 'Warning', reason: INVALID_SPEC_REASON, action: 'Reconcile', note: message })
  return true
}
