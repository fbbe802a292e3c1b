// Clock skew on five real nodes: one node's wall clock 30 s ahead (libfaketime), inside the
// 120 s replay window, so calls to and from it must keep working.
import { describe } from 'vitest'
import { scenarioSuite } from './suite.ts'

describe('clock skew in network namespaces', () => {
  scenarioSuite(['skew'])
})
