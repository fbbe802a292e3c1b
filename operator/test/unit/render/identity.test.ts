import { describe, it, expect } from 'vitest'
import fc from 'fast-check'
import {
  createCa, decodeCertificate, decodePublicKeyPem, encodePrivateKeyPem, generateSeed, peerIdFromPrivateKeyPem, verifyCertificate
} from '@dawn/node-image/identity'
import { needsRenewal, planIdentities, renderIdentitySecret, type PlanIdentitiesInput } from '../../../src/render/identity.ts'
import { secretTexts } from '../../../src/render/secret-data.ts'
import { NOW, pool } from './fixtures.ts'

const DAY = 86_400_000
const ca = createCa()
const base: PlanIdentitiesInput = { pool: 'a', replicas: 3, caPrivateKeyPem: ca.privateKeyPem, network: 'demo', validityDays: 365, now: NOW }

function expectValidCertificates (data: Record<string, string>, ordinals: number[], opts: { network?: string, caPublicKeyPem?: string, now?: number } = {}): void {
  for (const ordinal of ordinals) {
    const peerId = peerIdFromPrivateKeyPem(data[`${ordinal}.key`]!)
    const cert = decodeCertificate(data[`${ordinal}.cert.json`]!)
    expect(() => verifyCertificate(cert, {
      caPublicKey: decodePublicKeyPem(opts.caPublicKeyPem ?? ca.publicKeyPem), network: opts.network ?? 'demo', peerId, now: opts.now ?? NOW
    })).not.toThrow()
  }
}

describe('planIdentities', () => {
  it('creates a key and a CA-signed certificate per ordinal, and peer ids from the keys', () => {
    const plan = planIdentities(base)
    expect(Object.keys(plan.secretData)).toEqual(['0.key', '0.cert.json', '1.key', '1.cert.json', '2.key', '2.cert.json'])
    expect(plan.generated).toEqual([0, 1, 2])
    expect(plan.issued).toEqual([0, 1, 2])
    expect(plan.changed).toBe(true)
    expect(plan.problems).toEqual([])
    expect(plan.peers.map(p => p.ordinal)).toEqual([0, 1, 2])
    for (const peer of plan.peers) expect(peer.peerId).toBe(peerIdFromPrivateKeyPem(plan.secretData[`${peer.ordinal}.key`]!))
    expect(new Set(plan.peers.map(p => p.peerId)).size).toBe(3)
    expectValidCertificates(plan.secretData, [0, 1, 2])
    expect(plan.certificateEpoch).toBe(Math.floor(NOW / 1000))
  })

  it('changes nothing when nothing is due: byte-equal data, no churn', () => {
    const first = planIdentities(base)
    const again = planIdentities({ ...base, existing: first.secretData, now: NOW + 10 * DAY })
    expect(again.secretData).toEqual(first.secretData)
    expect(again.changed).toBe(false)
    expect(again.generated).toEqual([])
    expect(again.issued).toEqual([])
    expect(again.certificateEpoch).toBe(first.certificateEpoch)
    expect(planIdentities({ ...base, existing: first.secretData, now: NOW + 10 * DAY })).toEqual(again)
  })

  it('keeps every ordinal\'s key across scaling 3 → 5 → 2 → 4, and the certificate epoch with it', () => {
    const keysOf = (data: Record<string, string>): Record<string, string> => Object.fromEntries(Object.entries(data).filter(([k]) => k.endsWith('.key')))
    const three = planIdentities(base)
    const five = planIdentities({ ...base, replicas: 5, existing: three.secretData, now: NOW + DAY })
    expect(five.generated).toEqual([3, 4])
    expect(five.issued).toEqual([3, 4])
    expect(keysOf(five.secretData)).toMatchObject(keysOf(three.secretData))
    expectValidCertificates(five.secretData, [0, 1, 2, 3, 4], { now: NOW + DAY })

    const two = planIdentities({ ...base, replicas: 2, existing: five.secretData, now: NOW + 2 * DAY })
    expect(two.secretData).toEqual(five.secretData) // scale-down keeps keys and certificates
    expect(two.changed).toBe(false)
    expect(two.peers.map(p => p.ordinal)).toEqual([0, 1])

    const four = planIdentities({ ...base, replicas: 4, existing: two.secretData, now: NOW + 3 * DAY })
    expect(four.generated).toEqual([])
    expect(four.secretData).toEqual(five.secretData) // scale-up reuses ordinals 2 and 3
    expect(four.peers).toEqual(five.peers.slice(0, 4))
    // Adding ordinals never moves the epoch, so existing pods are not restarted.
    expect([five.certificateEpoch, two.certificateEpoch, four.certificateEpoch]).toEqual([three.certificateEpoch, three.certificateEpoch, three.certificateEpoch])
  })

  it('respects user-provided keys and generates only the ordinals they leave out', () => {
    const userKey0 = encodePrivateKeyPem(generateSeed())
    const userKey3 = encodePrivateKeyPem(generateSeed())
    const plan = planIdentities({ ...base, replicas: 2, provided: { '0.key': userKey0, '3.key': userKey3, 'README': 'ignored' } })
    expect(plan.secretData['0.key']).toBe(userKey0)
    expect(plan.secretData['3.key']).toBe(userKey3)
    expect(plan.generated).toEqual([1])
    expect(plan.peers).toEqual([{ ordinal: 0, peerId: peerIdFromPrivateKeyPem(userKey0) }, { ordinal: 1, peerId: peerIdFromPrivateKeyPem(plan.secretData['1.key']!) }])
    expectValidCertificates(plan.secretData, [0, 1, 3])

    // A user key that replaces an operator key wins; the certificates are re-issued together.
    const replaced = planIdentities({ ...base, replicas: 2, existing: plan.secretData, provided: { '1.key': userKey3 }, now: NOW + DAY })
    expect(replaced.secretData['1.key']).toBe(userKey3)
    expect(replaced.issued).toEqual([0, 1, 3])
    expect(replaced.certificateEpoch).toBe(Math.floor((NOW + DAY) / 1000))
    expectValidCertificates(replaced.secretData, [0, 1, 3], { now: NOW + DAY })
  })

  it('gives an ordinal with an invalid user key no key at all, and says why', () => {
    const plan = planIdentities({ ...base, replicas: 2, provided: { '1.key': 'not a key' } })
    expect(plan.problems).toEqual(['1.key in spec.identitySecretRef of pool a is not an Ed25519 PKCS#8 PEM key'])
    expect(plan.secretData['1.key']).toBeUndefined()
    expect(plan.peers.map(p => p.ordinal)).toEqual([0])
  })

  it('renews all certificates together 30 days before expiry', () => {
    const first = planIdentities(base)
    expect(planIdentities({ ...base, existing: first.secretData, now: NOW + 330 * DAY }).issued).toEqual([])
    const renewed = planIdentities({ ...base, existing: first.secretData, now: NOW + 340 * DAY })
    expect(renewed.issued).toEqual([0, 1, 2])
    expect(renewed.generated).toEqual([])
    expect(renewed.certificateEpoch).toBe(Math.floor((NOW + 340 * DAY) / 1000))
    expectValidCertificates(renewed.secretData, [0, 1, 2], { now: NOW + 400 * DAY })
  })

  it('does not churn short-lived certificates: renews after two thirds of their life', () => {
    const weekly = { ...base, validityDays: 7 }
    const first = planIdentities(weekly)
    expect(planIdentities({ ...weekly, existing: first.secretData, now: NOW + 4 * DAY }).issued).toEqual([])
    expect(planIdentities({ ...weekly, existing: first.secretData, now: NOW + 5 * DAY }).issued).toEqual([0, 1, 2])
    expect(needsRenewal({ issuedAt: 0, expiresAt: 300 * 86_400 }, 269 * DAY)).toBe(false)
    expect(needsRenewal({ issuedAt: 0, expiresAt: 300 * 86_400 }, 270 * DAY)).toBe(true)
  })

  it('re-issues certificates for another network or CA, keeping the keys', () => {
    const first = planIdentities(base)
    const otherNetwork = planIdentities({ ...base, network: 'other', existing: first.secretData })
    expect(otherNetwork.issued).toEqual([0, 1, 2])
    expectValidCertificates(otherNetwork.secretData, [0, 1, 2], { network: 'other' })

    const ca2 = createCa()
    const otherCa = planIdentities({ ...base, caPrivateKeyPem: ca2.privateKeyPem, existing: first.secretData })
    expect(otherCa.issued).toEqual([0, 1, 2])
    expect(otherCa.peers).toEqual(first.peers)
    expectValidCertificates(otherCa.secretData, [0, 1, 2], { caPublicKeyPem: ca2.publicKeyPem })
  })

  it('replaces a damaged key of its own and drops unknown entries', () => {
    const first = planIdentities(base)
    const plan = planIdentities({ ...base, existing: { ...first.secretData, '1.key': 'damaged', 'stray': 'x' } })
    expect(plan.generated).toEqual([1])
    expect(plan.secretData['0.key']).toBe(first.secretData['0.key'])
    expect(plan.secretData['1.key']).not.toBe('damaged')
    expect(plan.secretData.stray).toBeUndefined()
    expectValidCertificates(plan.secretData, [0, 1, 2])
  })

  it('renders the identity Secret owned by the pool', () => {
    const plan = planIdentities(base)
    const secret = renderIdentitySecret(pool('a'), plan.secretData)
    expect(secret.metadata).toMatchObject({ name: 'a-identity', namespace: 'mesh', ownerReferences: [{ kind: 'DawnNode', name: 'a', controller: true }] })
    expect(secretTexts(secret)).toEqual(plan.secretData)
  })

  it('property: over any scaling sequence, an ordinal\'s key never changes and a repeated plan changes nothing', () => {
    fc.assert(fc.property(fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 5 }), sizes => {
      let data: Record<string, string> = {}
      const seen = new Map<string, string>()
      let day = 0
      for (const replicas of sizes) {
        day += 1
        const plan = planIdentities({ ...base, replicas, existing: data, now: NOW + day * DAY })
        for (const [k, v] of Object.entries(plan.secretData)) {
          if (!k.endsWith('.key')) continue
          expect(seen.get(k) ?? v).toBe(v)
          seen.set(k, v)
        }
        expect(plan.peers.map(p => p.ordinal)).toEqual(Array.from({ length: replicas }, (_, i) => i))
        const again = planIdentities({ ...base, replicas, existing: plan.secretData, now: NOW + day * DAY })
        expect(again.changed).toBe(false)
        expect(again.secretData).toEqual(plan.secretData)
        data = plan.secretData
      }
    }), { numRuns: 25 })
  })
})
