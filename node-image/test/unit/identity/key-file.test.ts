import { execFileSync } from 'node:child_process'
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { ed25519 } from '@noble/curves/ed25519.js'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import {
  decodePrivateKeyPem,
  decodePublicKeyPem,
  encodePrivateKeyPem,
  encodePublicKeyPem,
  generateSeed,
  KeyFileError,
  loadOrCreateKey,
  readKeyFile,
  seedFromPrivateKey,
  writeKeyFile
} from '../../../src/identity/key-file.ts'

let dir: string
beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dawn-key-file-')) })
afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

const openssl = (...args: string[]): string => execFileSync('openssl', args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

function keyFileError (fn: () => unknown): KeyFileError {
  try {
    fn()
  } catch (err) {
    expect(err).toBeInstanceOf(KeyFileError)
    return err as KeyFileError
  }
  throw new Error('expected a KeyFileError')
}

async function keyFileErrorAsync (p: Promise<unknown>): Promise<KeyFileError> {
  const err: unknown = await p.then(() => undefined, (e: unknown) => e)
  expect(err).toBeInstanceOf(KeyFileError)
  return err as KeyFileError
}

describe('PEM encoding', () => {
  it('round-trips a seed and a public key', () => {
    const seed = generateSeed()
    expect(seed).toHaveLength(32)
    const pem = encodePrivateKeyPem(seed)
    expect(pem).toMatch(/^-----BEGIN PRIVATE KEY-----\n[A-Za-z0-9+/=]{64}\n-----END PRIVATE KEY-----\n$/)
    expect(decodePrivateKeyPem(pem)).toEqual(seed)
    const pub = ed25519.getPublicKey(seed)
    const pubPem = encodePublicKeyPem(pub)
    expect(pubPem).toMatch(/^-----BEGIN PUBLIC KEY-----\n[A-Za-z0-9+/=]+\n-----END PUBLIC KEY-----\n$/)
    expect(decodePublicKeyPem(pubPem)).toEqual(pub)
  })

  it('uses the RFC 8410 DER layout', () => {
    const seed = new Uint8Array(32).fill(7)
    const der = Buffer.from(encodePrivateKeyPem(seed).split('\n')[1] ?? '', 'base64')
    expect(der.toString('hex')).toBe('302e020100300506032b657004220420' + '07'.repeat(32))
    const pubDer = Buffer.from(encodePublicKeyPem(seed).split('\n')[1] ?? '', 'base64')
    expect(pubDer.toString('hex')).toBe('302a300506032b6570032100' + '07'.repeat(32))
  })

  it('reads what openssl genpkey writes, and agrees with openssl on the public key', async () => {
    const keyPath = join(dir, 'openssl.pem')
    openssl('genpkey', '-algorithm', 'ed25519', '-out', keyPath)
    const opensslPem = await readFile(keyPath, 'utf8')
    const seed = decodePrivateKeyPem(opensslPem)
    // Byte-identical re-encoding: our files are indistinguishable from openssl's.
    expect(encodePrivateKeyPem(seed)).toBe(opensslPem)
    const opensslPub = openssl('pkey', '-in', keyPath, '-pubout')
    expect(decodePublicKeyPem(opensslPub)).toEqual(ed25519.getPublicKey(seed))
    expect(encodePublicKeyPem(ed25519.getPublicKey(seed))).toBe(opensslPub)
    const key = await readKeyFile(keyPath)
    expect(key.publicKey.raw).toEqual(decodePublicKeyPem(opensslPub))
  })

  it('writes files openssl can read', async () => {
    const seed = generateSeed()
    const keyPath = join(dir, 'ours.pem')
    await writeKeyFile(keyPath, seed)
    const opensslPub = openssl('pkey', '-in', keyPath, '-pubout')
    expect(decodePublicKeyPem(opensslPub)).toEqual(ed25519.getPublicKey(seed))
  })

  it('tolerates CRLF line endings and surrounding text', () => {
    const seed = generateSeed()
    const pem = 'comment line\r\n' + encodePrivateKeyPem(seed).replaceAll('\n', '\r\n') + '\r\n'
    expect(decodePrivateKeyPem(pem)).toEqual(seed)
  })

  it('rejects non-PEM input', () => {
    const err = keyFileError(() => decodePrivateKeyPem('hello world'))
    expect(err.code).toBe('not-pem')
    expect(err.message).toContain('BEGIN PRIVATE KEY')
  })

  it('rejects a PEM missing its END line', () => {
    const pem = encodePrivateKeyPem(generateSeed()).split('\n').slice(0, 2).join('\n')
    expect(keyFileError(() => decodePrivateKeyPem(pem)).code).toBe('not-pem')
  })

  it('rejects a public key where a private key is expected, and vice versa', () => {
    const seed = generateSeed()
    expect(keyFileError(() => decodePrivateKeyPem(encodePublicKeyPem(ed25519.getPublicKey(seed)))).code).toBe('wrong-type')
    expect(keyFileError(() => decodePublicKeyPem(encodePrivateKeyPem(seed))).code).toBe('wrong-type')
  })

  it('rejects other algorithms with a message naming them', () => {
    const rsa = openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024')
    const err = keyFileError(() => decodePrivateKeyPem(rsa))
    expect(err.code).toBe('wrong-algorithm')
    expect(err.message).toMatch(/RSA/)
    const x25519 = openssl('genpkey', '-algorithm', 'x25519')
    expect(keyFileError(() => decodePrivateKeyPem(x25519)).message).toMatch(/X25519/)
    const ecPath = join(dir, 'ec.pem')
    openssl('genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', ecPath)
    const ecPublic = keyFileError(() => decodePublicKeyPem(openssl('pkey', '-in', ecPath, '-pubout')))
    expect(ecPublic.code).toBe('wrong-algorithm')
    expect(ecPublic.message).toMatch(/EC/)
  })

  it('rejects a traditional "RSA PRIVATE KEY" block as the wrong algorithm', () => {
    const err = keyFileError(() => decodePrivateKeyPem('-----BEGIN RSA PRIVATE KEY-----\nAAAA\n-----END RSA PRIVATE KEY-----\n'))
    expect(err.code).toBe('wrong-algorithm')
  })

  it('rejects a wrong key length', () => {
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), Buffer.alloc(31)])
    const pem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`
    const err = keyFileError(() => decodePrivateKeyPem(pem))
    expect(err.code).toBe('wrong-length')
    expect(err.message).toMatch(/31 key bytes; expected 32/)
  })

  it('rejects a damaged base64 body', () => {
    const pem = encodePrivateKeyPem(generateSeed()).replace(/\n(.)/, '\n!')
    expect(keyFileError(() => decodePrivateKeyPem(pem)).code).toBe('corrupt')
  })

  it('refuses to encode keys of the wrong size', () => {
    expect(keyFileError(() => encodePrivateKeyPem(new Uint8Array(31))).code).toBe('wrong-length')
    expect(keyFileError(() => encodePublicKeyPem(new Uint8Array(33))).code).toBe('wrong-length')
  })

  it('never puts key bytes into error messages', () => {
    const seed = new Uint8Array(32).fill(0xab)
    const der = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed, Buffer.from([1])])
    const pem = `-----BEGIN PRIVATE KEY-----\n${der.toString('base64')}\n-----END PRIVATE KEY-----\n`
    const err = keyFileError(() => decodePrivateKeyPem(pem))
    expect(err.message).not.toMatch(/abab|q6ur|MC4C/i)
  })
})

describe('key files', () => {
  it('readKeyFile returns the libp2p key for the file', async () => {
    const seed = generateSeed()
    const path = join(dir, 'node.key')
    await writeKeyFile(path, seed)
    const key = await readKeyFile(path)
    expect(key.type).toBe('Ed25519')
    expect(key.publicKey.raw).toEqual(ed25519.getPublicKey(seed))
    expect(seedFromPrivateKey(key)).toEqual(seed)
  })

  it('writeKeyFile creates parent directories, sets mode 0600 and leaves no temp files', async () => {
    const path = join(dir, 'a', 'b', 'node.key')
    await writeKeyFile(path, generateSeed())
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const { readdir } = await import('node:fs/promises')
    expect(await readdir(join(dir, 'a', 'b'))).toEqual(['node.key'])
  })

  it('writeKeyFile replaces an existing key', async () => {
    const path = join(dir, 'node.key')
    const first = generateSeed()
    const second = generateSeed()
    await writeKeyFile(path, first)
    await writeKeyFile(path, second)
    expect(decodePrivateKeyPem(await readFile(path, 'utf8'))).toEqual(second)
  })

  it('a missing file is a KeyFileError naming the path', async () => {
    const path = join(dir, 'nope.key')
    const err = await keyFileErrorAsync(readKeyFile(path))
    expect(err.code).toBe('missing')
    expect(err.path).toBe(path)
    expect(err.message).toContain(path)
  })

  it('an unreadable path is a KeyFileError naming the path', async () => {
    const err = await keyFileErrorAsync(readKeyFile(dir))
    expect(err.code).toBe('unreadable')
    expect(err.message).toContain(dir)
  })

  it.each([
    ['garbled', 'this is not a key\n', 'not-pem'],
    ['truncated', 'TRUNCATE', 'not-pem'],
    ['RSA', 'RSA', 'wrong-algorithm'],
    ['short body', 'SHORT', 'wrong-length']
  ])('a %s file is a KeyFileError naming the path', async (_name, content, code) => {
    const path = join(dir, 'bad.key')
    const valid = encodePrivateKeyPem(generateSeed())
    const text = content === 'TRUNCATE'
      ? valid.slice(0, 40)
      : content === 'RSA'
        ? openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:1024')
        : content === 'SHORT'
          ? valid.replace(/\n([A-Za-z0-9+/]{60})[A-Za-z0-9+/=]{4}\n/, '\n$1\n')
          : content
    await writeFile(path, text)
    const err = await keyFileErrorAsync(readKeyFile(path))
    expect(err.code).toBe(code)
    expect(err.path).toBe(path)
    expect(err.message).toContain(path)
    const err2 = await keyFileErrorAsync(loadOrCreateKey(path))
    expect(err2.code).toBe(code)
    // A bad key is never silently replaced by a new identity.
    expect(await readFile(path, 'utf8')).toBe(text)
  })

  it('loadOrCreateKey creates once, then reuses the same identity', async () => {
    const path = join(dir, 'state', 'node.key')
    const first = await loadOrCreateKey(path)
    expect(first.created).toBe(true)
    expect((await stat(path)).mode & 0o777).toBe(0o600)
    const second = await loadOrCreateKey(path)
    expect(second.created).toBe(false)
    expect(peerIdFromPrivateKey(second.privateKey).toString()).toBe(peerIdFromPrivateKey(first.privateKey).toString())
    expect(peerIdFromPrivateKey(first.privateKey).toString()).toMatch(/^12D3KooW/)
  })

  it('concurrent loadOrCreateKey calls agree on one key', async () => {
    const path = join(dir, 'node.key')
    const results = await Promise.all(Array.from({ length: 8 }, async () => await loadOrCreateKey(path)))
    expect(results.filter(r => r.created)).toHaveLength(1)
    const ids = new Set(results.map(r => peerIdFromPrivateKey(r.privateKey).toString()))
    expect(ids.size).toBe(1)
    const onDisk = await readKeyFile(path)
    expect(ids.has(peerIdFromPrivateKey(onDisk).toString())).toBe(true)
  })
})
