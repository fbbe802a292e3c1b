import { describe, expect, it } from 'vitest'
import { generateKey, preSharedKey } from '@libp2p/pnet'
import { generateSwarmKey, parseSwarmKey, SwarmKeyError, swarmKeyBytes } from '../../../src/identity/swarm-key.ts'

const HEX = 'dffb7e3135399a8b1612b2aaca1c36a3a8ac2cd0cca51ceeb2ced87d308cac6d'

/** What pnet derives from the bytes we hand it (its protector keeps the decoded key). */
function pnetPsk (bytes: Uint8Array): Uint8Array {
  const protector = preSharedKey({ psk: bytes })() as unknown as { psk: Uint8Array }
  return protector.psk
}

describe('swarm.key', () => {
  it('generates the Kubo format with a fresh 32-byte key', () => {
    const a = generateSwarmKey()
    expect(a).toMatch(/^\/key\/swarm\/psk\/1\.0\.0\/\n\/base16\/\n[0-9a-f]{64}\n$/)
    expect(parseSwarmKey(a)).toHaveLength(32)
    expect(generateSwarmKey()).not.toBe(a)
  })

  it('parses the documented example', () => {
    const key = parseSwarmKey(`/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\n`)
    expect(Buffer.from(key).toString('hex')).toBe(HEX)
  })

  it('reads keys written by @libp2p/pnet generateKey', () => {
    const buf = new Uint8Array(95)
    generateKey(buf)
    const text = new TextDecoder().decode(buf)
    expect(parseSwarmKey(text)).toEqual(pnetPsk(buf))
  })

  it('hands pnet bytes it accepts, holding the same key', () => {
    const text = generateSwarmKey()
    expect(pnetPsk(swarmKeyBytes(text))).toEqual(parseSwarmKey(text))
  })

  it('normalizes CRLF, uppercase hex and trailing blank lines into a form pnet accepts', () => {
    const messy = `/key/swarm/psk/1.0.0/\r\n/base16/\r\n${HEX.toUpperCase()}\r\n\r\n`
    expect(Buffer.from(parseSwarmKey(messy)).toString('hex')).toBe(HEX)
    expect(new TextDecoder().decode(swarmKeyBytes(messy))).toBe(`/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\n`)
    expect(Buffer.from(pnetPsk(swarmKeyBytes(messy))).toString('hex')).toBe(HEX)
  })

  it.each([
    ['empty', '', /must start with/],
    ['wrong tag', `/key/swarm/psk/2.0.0/\n/base16/\n${HEX}\n`, /must start with/],
    ['other encoding', `/key/swarm/psk/1.0.0/\n/base64/\n${HEX}\n`, /base16/],
    ['short key', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(2)}\n`, /64 hex digits/],
    ['long key', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}00\n`, /64 hex digits/],
    ['not hex', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX.slice(1)}g\n`, /hexadecimal/],
    ['missing key line', '/key/swarm/psk/1.0.0/\n/base16/\n', /64 hex digits/],
    ['extra lines', `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}\nmore\n`, /extra lines/]
  ])('rejects %s with a SwarmKeyError', (_name, text, message) => {
    expect(() => parseSwarmKey(text)).toThrow(SwarmKeyError)
    expect(() => parseSwarmKey(text)).toThrow(message)
    expect(() => swarmKeyBytes(text)).toThrow(SwarmKeyError)
  })

  it('does not echo key material in errors', () => {
    const text = `/key/swarm/psk/1.0.0/\n/base16/\n${HEX}ff\n`
    expect(() => parseSwarmKey(text)).toThrow(SwarmKeyError)
    try { parseSwarmKey(text) } catch (err) { expect((err as Error).message).not.toContain(HEX.slice(0, 16)) }
  })
})
