import { describe, it, expect } from 'vitest'
import { conditionTime, findCondition, isConditionTrue, removeCondition, setCondition, setConditions } from '../../../src/render/conditions.ts'
import { RenderInputError } from '../../../src/render/errors.ts'

const T1 = '2026-01-01T00:00:00.123Z'
const T2 = '2026-01-02T00:00:00Z'

describe('conditions', () => {
  it('adds a condition with a whole-second RFC 3339 time', () => {
    const out = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Progressing', message: 'starting', observedGeneration: 1 }, T1)
    expect(out).toEqual([{ type: 'Ready', status: 'False', reason: 'Progressing', message: 'starting', observedGeneration: 1, lastTransitionTime: '2026-01-01T00:00:00Z' }])
  })

  it('moves lastTransitionTime only when the status flips, and never mutates its input', () => {
    const first = setCondition(undefined, { type: 'Ready', status: 'False', reason: 'Waiting', message: 'a' }, T1)
    const frozen = structuredClone(first)
    const sameStatus = setCondition(first, { type: 'Ready', status: 'False', reason: 'StillWaiting', message: 'b', observedGeneration: 2 }, T2)
    expect(sameStatus[0]).toMatchObject({ reason: 'StillWaiting', message: 'b', observedGeneration: 2, lastTransitionTime: '2026-01-01T00:00:00Z' })
    const flipped = setCondition(sameStatus, { type: 'Ready', status: 'True', reason: 'AllReady', message: 'c' }, T2)
    expect(flipped[0]).toMatchObject({ status: 'True', lastTransitionTime: T2, observedGeneration: 2 })
    expect(first).toEqual(frozen)
  })

  it('returns the same array when nothing changes', () => {
    const list = setCondition(undefined, { type: 'Ready', status: 'True', reason: 'Ok', message: 'fine' }, T1)
    expect(setCondition(list, { type: 'Ready', status: 'True', reason: 'Ok', message: 'fine' }, T2)).toBe(list)
  })

  it('keeps order, appends new types, finds and removes', () => {
    const list = setConditions(undefined, [
      { type: 'Ready', status: 'False', reason: 'A', message: '' },
      { type: 'Progressing', status: 'True', reason: 'B', message: '' },
      { type: 'Degraded', status: 'False', reason: 'C', message: '' }
    ], T1)
    expect(list.map(c => c.type)).toEqual(['Ready', 'Progressing', 'Degraded'])
    const updated = setCondition(list, { type: 'Progressing', status: 'False', reason: 'Done', message: '' }, T2)
    expect(updated.map(c => c.type)).toEqual(['Ready', 'Progressing', 'Degraded'])
    expect(isConditionTrue(updated, 'Progressing')).toBe(false)
    expect(findCondition(updated, 'Degraded')?.reason).toBe('C')
    expect(removeCondition(updated, 'Degraded').map(c => c.type)).toEqual(['Ready', 'Progressing'])
  })

  it('rejects reasons the API server would reject, and bad times', () => {
    expect(() => setCondition(undefined, { type: 'Ready', status: 'True', reason: 'not camel case', message: '' }, T1)).toThrow(RenderInputError)
    expect(() => conditionTime('yesterday')).toThrow(RenderInputError)
  })
})
