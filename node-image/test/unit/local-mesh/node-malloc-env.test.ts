import { describe, expect, it } from 'vitest'
import { nodeMallocEnv } from '../../../src/local-mesh/node-process.ts'

describe('nodeMallocEnv', () => {
  it('keeps glibc with two arenas when told to', () => {
    expect(nodeMallocEnv({ DAWN_JEMALLOC: 'off' })).toEqual({ MALLOC_ARENA_MAX: '2' })
  })

  it('preloads the named jemalloc ahead of what is already preloaded', () => {
    expect(nodeMallocEnv({ DAWN_JEMALLOC: '/opt/libjemalloc.so.2', LD_PRELOAD: '/lib/faketime.so.1' })).toEqual({
      LD_PRELOAD: '/opt/libjemalloc.so.2 /lib/faketime.so.1',
      MALLOC_CONF: 'narenas:2,dirty_decay_ms:1000,muzzy_decay_ms:0'
    })
  })
})
