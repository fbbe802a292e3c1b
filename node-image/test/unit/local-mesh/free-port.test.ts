import { readFileSync } from 'node:fs'
import { createServer } from 'node:net'
import { describe, expect, it } from 'vitest'
import { freePorts } from '../../../src/local-mesh/free-port.ts'

describe('freePorts', () => {
  it('hands out distinct ports below the kernel\'s ephemeral range that a server can bind', async () => {
    const ephemeralLow = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0])
    const ports = await freePorts(20)
    expect(new Set(ports).size).toBe(20)
    for (const port of ports) {
      expect(port).toBeLessThan(ephemeralLow)
      await new Promise<void>((resolve, reject) => {
        const srv = createServer()
        srv.once('error', reject)
        srv.listen(port, '127.0.0.1', () => { srv.close(() => { resolve() }) })
      })
    }
  })
})
