import { describe, it, expect } from 'vitest'
import { createCa, decodePrivateKeyPem, decodePublicKeyPem, generateSwarmKey, parseSwarmKey } from '@dawn/node-image/identity'
import { planNetworkSecrets, publicKeyPemOf, renderCaSecret, renderPskSecret } from '../../../src/render/network-secrets.ts'
import { encodeSecretData, secretText } from '../../../src/render/secret-data.ts'
import { network } from './fixtures.ts'

const secret = (name: string, texts: Record<string, string>): { metadata: { name: string }, data: Record<string, string> } => ({ metadata: { name }, data: encodeSecretData(texts) })

describe('network secrets', () => {
  it('renders the PSK and CA Secrets with owner, labels and base64 data', () => {
    const net = network()
    const psk = renderPskSecret(net, 'KEY')
    expect(psk).toEqual({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: {
        name: 'demo-swarm-key',
        namespace: 'mesh',
        labels: { 'app.kubernetes.io/name': 'dawn-network', 'app.kubernetes.io/instance': 'demo', 'app.kubernetes.io/managed-by': 'dawn-operator', 'mesh.dawn.dev/network': 'demo' },
        ownerReferences: [{ apiVersion: 'mesh.dawn.dev/v1alpha1', kind: 'DawnNetwork', name: 'demo', uid: 'uid-network-demo', controller: true, blockOwnerDeletion: true }]
      },
      type: 'Opaque',
      data: { 'swarm.key': Buffer.from('KEY').toString('base64') }
    })
    const ca = renderCaSecret(net, { privateKeyPem: 'PRIV', publicKeyPem: 'PUB' })
    expect(ca.metadata?.name).toBe('demo-ca')
    expect(Object.keys(ca.data ?? {})).toEqual(['ca.key', 'ca.pub'])
  })

  it('generates both when no ref is given and nothing exists', () => {
    const plan = planNetworkSecrets(network(), {})
    expect(plan.create.map(s => s.metadata?.name)).toEqual(['demo-swarm-key', 'demo-ca'])
    expect(() => parseSwarmKey(plan.psk.swarmKey ?? '')).not.toThrow()
    expect(secretText(plan.create[0], 'swarm.key')).toBe(plan.psk.swarmKey)
    expect(publicKeyPemOf(plan.ca.privateKeyPem ?? '')).toBe(plan.ca.publicKeyPem)
    expect(secretText(plan.create[1], 'ca.key')).toBe(plan.ca.privateKeyPem)
    expect(plan.psk.problem).toBeUndefined()
    expect(plan.ca.problem).toBeUndefined()
  })

  it('never replaces existing material, even when damaged', () => {
    const swarmKey = generateSwarmKey()
    const ca = createCa()
    const plan = planNetworkSecrets(network(), { psk: secret('demo-swarm-key', { 'swarm.key': swarmKey }), ca: secret('demo-ca', { 'ca.key': ca.privateKeyPem }) })
    expect(plan.create).toEqual([])
    expect(plan.psk).toEqual({ ref: { name: 'demo-swarm-key', key: 'swarm.key', operatorManaged: true }, swarmKey })
    // ca.pub is derived from ca.key, so a Secret with only the private key works.
    expect(plan.ca).toEqual({ ref: { name: 'demo-ca', operatorManaged: true }, privateKeyPem: ca.privateKeyPem, publicKeyPem: ca.publicKeyPem })

    const damaged = planNetworkSecrets(network(), { psk: secret('demo-swarm-key', { 'swarm.key': 'garbage' }), ca: secret('demo-ca', { 'ca.pub': ca.publicKeyPem }) })
    expect(damaged.create).toEqual([])
    expect(damaged.psk.problem).toMatch(/not a valid swarm key.*delete the Secret to have a new one generated/)
    expect(damaged.ca.problem).toMatch(/has no key "ca.key"/)
  })

  it('uses user refs and reports them missing instead of generating', () => {
    const net = network({ privateNetwork: { swarmKeySecretRef: { name: 'my-psk', key: 'psk' } }, membership: { caSecretRef: { name: 'my-ca' } } })
    const missing = planNetworkSecrets(net, {})
    expect(missing.create).toEqual([])
    expect(missing.psk.problem).toMatch(/^Secret my-psk \(spec.privateNetwork.swarmKeySecretRef\) does not exist/)
    expect(missing.ca.problem).toMatch(/^Secret my-ca \(spec.membership.caSecretRef\) does not exist/)

    const swarmKey = generateSwarmKey()
    const ca = createCa()
    const found = planNetworkSecrets(net, { psk: secret('my-psk', { psk: swarmKey }), ca: secret('my-ca', { 'ca.key': ca.privateKeyPem, 'ca.pub': ca.publicKeyPem }) })
    expect(found.psk).toEqual({ ref: { name: 'my-psk', key: 'psk', operatorManaged: false }, swarmKey })
    expect(found.ca.publicKeyPem).toBe(ca.publicKeyPem)
  })

  it('refuses a ca.pub that does not belong to ca.key', () => {
    const a = createCa()
    const b = createCa()
    const plan = planNetworkSecrets(network(), { psk: secret('x', { 'swarm.key': generateSwarmKey() }), ca: secret('demo-ca', { 'ca.key': a.privateKeyPem, 'ca.pub': b.publicKeyPem }) })
    expect(plan.ca.problem).toMatch(/"ca.pub" is not the public key of "ca.key"/)
    expect(plan.ca.privateKeyPem).toBeUndefined()
  })

  it('derives the CA public key exactly as the node encodes it', () => {
    const ca = createCa()
    expect(publicKeyPemOf(ca.privateKeyPem)).toBe(ca.publicKeyPem)
    expect(decodePublicKeyPem(publicKeyPemOf(ca.privateKeyPem))).toHaveLength(32)
    expect(decodePrivateKeyPem(ca.privateKeyPem)).toHaveLength(32)
  })
})
