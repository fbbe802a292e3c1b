import { describe, it, expect } from 'vitest'
import { libp2pLoggerOption } from '../../../src/p2p/libp2p-logger.ts'

describe('libp2p logger option', () => {
  it('gives libp2p one silent logger when DEBUG is unset, and its own loggers when DEBUG asks', () => {
    const { logger } = libp2pLoggerOption(undefined)
    if (logger === undefined) throw new Error('expected the silent logger')
    const log = logger.forComponent('libp2p:connection')
    expect(log.enabled).toBe(false)
    expect(log.newScope('stream')).toBe(log)
    expect(logger.forComponent('libp2p:other')).toBe(log)
    expect(() => { log('x %s', 1); log.error('y'); log.trace('z') }).not.toThrow()
    expect(libp2pLoggerOption('  ').logger).toBe(logger)
    expect(libp2pLoggerOption('libp2p:*')).toEqual({})
  })
})
