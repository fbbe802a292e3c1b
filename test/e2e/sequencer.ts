// vitest's own order, except that zz-down.test.ts runs after every other e2e file: they
// share one cluster, and that file tears it down and checks that nothing is left.
import { BaseSequencer, type TestSpecification } from 'vitest/node'

export const LAST = /\/test\/e2e\/zz-down\.test\.ts$/

export class E2eLastSequencer extends BaseSequencer {
  override async sort (files: TestSpecification[]): Promise<TestSpecification[]> {
    const sorted = await super.sort(files)
    return [...sorted.filter(f => !LAST.test(f.moduleId)), ...sorted.filter(f => LAST.test(f.moduleId))]
  }
}
