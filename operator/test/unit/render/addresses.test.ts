import { describe, it, expect } from 'vitest'
import { announceAddressTemplate, bootstrapAddresses, peerStatuses, podDnsName } from '../../../src/render/addresses.ts'
import { pool } from './fixtures.ts'

const peers = [{ ordinal: 2, peerId: 'P2' }, { ordinal: 0, peerId: 'P0' }, { ordinal: 1, peerId: 'P1' }]

describe('addresses', () => {
  it('name pods under the headless Service', () => {
    expect(podDnsName(pool('a'), 4, 'cluster.local')).toBe('a-4.a-headless.mesh.svc.cluster.local')
    expect(announceAddressTemplate(pool('a', { ports: { p2p: 4100 } }), 'k8s.local')).toBe('/dns4/$(POD_NAME).a-headless.mesh.svc.k8s.local/tcp/4100')
  })

  it('report peers in status, current ordinals only, in order', () => {
    expect(peerStatuses(pool('a', { replicas: 2 }), peers, 'cluster.local')).toEqual([
      { ordinal: 0, pod: 'a-0', peerId: 'P0', address: '/dns4/a-0.a-headless.mesh.svc.cluster.local/tcp/4001/p2p/P0' },
      { ordinal: 1, pod: 'a-1', peerId: 'P1', address: '/dns4/a-1.a-headless.mesh.svc.cluster.local/tcp/4001/p2p/P1' }
    ])
  })

  it('list bootstrap addresses of bootstrap pools only, interleaved, up to a limit', () => {
    const pools = [{ pool: pool('b'), peers }, { pool: pool('a'), peers }, { pool: pool('r', { roles: { bootstrap: false } }), peers }]
    expect(bootstrapAddresses(pools, 'cluster.local', 4).map(a => a.split('/')[2])).toEqual([
      'a-0.a-headless.mesh.svc.cluster.local', 'b-0.b-headless.mesh.svc.cluster.local',
      'a-1.a-headless.mesh.svc.cluster.local', 'b-1.b-headless.mesh.svc.cluster.local'
    ])
    expect(bootstrapAddresses(pools, 'cluster.local')).toHaveLength(6)
  })
})
