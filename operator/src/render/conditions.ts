// metav1.Condition helpers shared by every controller. They never mutate their input,
// and lastTransitionTime moves only when a condition's status flips, so writing the same
// status twice is a no-op for server-side apply and for anyone watching.
import type { Condition } from '../api/common.ts'
import { RenderInputError } from './errors.ts'

export const CONDITION_TYPES = { ready: 'Ready', progressing: 'Progressing', degraded: 'Degraded', serving: 'Serving' } as const

export type ConditionStatus = Condition['status']

export interface ConditionUpdate {
  type: string
  status: ConditionStatus
  /** CamelCase, as Kubernetes requires: `AllReplicasReady`, `SecretMissing`. */
  reason: string
  message: string
  observedGeneration?: number
}

const REASON = /^[A-Za-z]([A-Za-z0-9_,:]*[A-Za-z0-9_])?$/

/** RFC 3339 with whole seconds, as metav1.Time serializes. */
export function conditionTime (now: Date | string): string {
  const date = typeof now === 'string' ? new Date(now) : now
  if (Number.isNaN(date.getTime())) throw new RenderInputError(`not a time: ${String(now)}`)
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z')
}

export function findCondition (conditions: readonly Condition[] | undefined, type: string): Condition | undefined {
  return conditions?.find(c => c.type === type)
}

export function isConditionTrue (conditions: readonly Condition[] | undefined, type: string): boolean {
  return findCondition(conditions, type)?.status === 'True'
}

/**
 * Returns the conditions with `update` applied. The input array is returned as is when
 * nothing changes; otherwise a new array (same order, new types appended).
 */
export function setCondition (conditions: readonly Condition[] | undefined, update: ConditionUpdate, now: Date | string): Condition[] {
  if (!REASON.test(update.reason)) throw new RenderInputError(`condition reason "${update.reason}" must be CamelCase (letters, digits, _ , :)`)
  const list = conditions ?? []
  const index = list.findIndex(c => c.type === update.type)
  const previous = index < 0 ? undefined : list[index]
  const next: Condition = {
    type: update.type,
    status: update.status,
    reason: update.reason,
    message: update.message,
    lastTransitionTime: previous !== undefined && previous.status === update.status ? previous.lastTransitionTime : conditionTime(now)
  }
  const generation = update.observedGeneration ?? previous?.observedGeneration
  if (generation !== undefined) next.observedGeneration = generation
  if (previous !== undefined && sameCondition(previous, next) && conditions !== undefined) return conditions as Condition[]
  if (index < 0) return [...list, next]
  return list.map((c, i) => i === index ? next : c)
}

/** Applies several updates in order. */
export function setConditions (conditions: readonly Condition[] | undefined, updates: readonly ConditionUpdate[], now: Date | string): Condition[] {
  let out = conditions as Condition[] | undefined
  for (const update of updates) out = setCondition(out, update, now)
  return out ?? []
}

export function removeCondition (conditions: readonly Condition[] | undefined, type: string): Condition[] {
  const list = conditions ?? []
  return list.some(c => c.type === type) ? list.filter(c => c.type !== type) : list as Condition[]
}

function sameCondition (a: Condition, b: Condition): boolean {
  return a.status === b.status && a.reason === b.reason && a.message === b.message &&
    a.lastTransitionTime === b.lastTransitionTime && a.observedGeneration === b.observedGeneration
}
