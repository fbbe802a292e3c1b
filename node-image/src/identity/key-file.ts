import { createPrivateKey, createPublicKey, getRandomValues, randomBytes, type KeyObject } from 'node:crypto'
import { link, mkdir, open, readFile, rename, unlink } from 'node:fs/promises'
import { basename, dirname, join } from 'node:path'
import { generateKeyPairFromSeed } from '@libp2p/crypto/keys'
import type { Ed25519PrivateKey } from '@libp2p/interface'

export const SEED_LENGTH = 32
export const PUBLIC_KEY_LENGTH = 32

// RFC 8410: the DER around an Ed25519 key is constant, so a byte prefix is the
// whole parser. This is exactly what `openssl genpkey -algorithm ed25519` writes.
const PKCS8_PREFIX = Buffer.from('302e020100300506032b657004220420', 'hex')
const SPKI_PREFIX = Buffer.from('302a300506032b6570032100', 'hex')
const PRIVATE_LABEL = 'PRIVATE KEY'
const PUBLIC_LABEL = 'PUBLIC KEY'

export type KeyFileErrorCode =
  | 'missing'
  | 'unreadable'
  | 'not-pem'
  | 'wrong-type'
  | 'wrong-algorithm'
  | 'wrong-length'
  | 'corrupt'
  | 'write-failed'

export class KeyFileError extends Error {
  readonly code: KeyFileErrorCode
  /** The file involved, when there is one. */
  readonly path: string | undefined
  constructor (code: KeyFileErrorCode, message: string, options: { path?: string, cause?: unknown } = {}) {
    super(options.path === undefined ? message : `key file ${options.path}: ${message}`, { cause: options.cause })
    this.name = 'KeyFileError'
    this.code = code
    this.path = options.path
  }
}

export function generateSeed (): Uint8Array {
  return getRandomValues(new Uint8Array(SEED_LENGTH))
}

export function encodePrivateKeyPem (seed: Uint8Array): string {
  checkLength(seed, SEED_LENGTH, 'Ed25519 seed')
  return encodePem(PRIVATE_LABEL, concat(PKCS8_PREFIX, seed))
}

/** Returns the 32-byte Ed25519 seed held in a PKCS#8 PEM. */
export function decodePrivateKeyPem (pem: string): Uint8Array {
  const der = decodePem(pem, PRIVATE_LABEL)
  return unwrapDer(der, PKCS8_PREFIX, SEED_LENGTH, 'private')
}

export function encodePublicKeyPem (publicKey: Uint8Array): string {
  checkLength(publicKey, PUBLIC_KEY_LENGTH, 'Ed25519 public key')
  return encodePem(PUBLIC_LABEL, concat(SPKI_PREFIX, publicKey))
}

/** Returns the raw 32-byte Ed25519 public key held in an SPKI PEM. */
export function decodePublicKeyPem (pem: string): Uint8Array {
  const der = decodePem(pem, PUBLIC_LABEL)
  return unwrapDer(der, SPKI_PREFIX, PUBLIC_KEY_LENGTH, 'public')
}

/** A node:crypto key for the seed; OpenSSL signs ~10x faster than pure JS. */
export function privateKeyObject (seed: Uint8Array): KeyObject {
  checkLength(seed, SEED_LENGTH, 'Ed25519 seed')
  return createPrivateKey({ key: concat(PKCS8_PREFIX, seed), format: 'der', type: 'pkcs8' })
}

/** A node:crypto key for a raw public key; throws KeyFileError if it is not a curve point. */
export function publicKeyObject (publicKey: Uint8Array): KeyObject {
  checkLength(publicKey, PUBLIC_KEY_LENGTH, 'Ed25519 public key')
  try {
    return createPublicKey({ key: concat(SPKI_PREFIX, publicKey), format: 'der', type: 'spki' })
  } catch (err) {
    throw new KeyFileError('corrupt', 'not a valid Ed25519 public key', { cause: err })
  }
}

/** The 32-byte seed of a libp2p Ed25519 key (its `raw` is seed followed by public key). */
export function seedFromPrivateKey (key: Ed25519PrivateKey): Uint8Array {
  return key.raw.slice(0, SEED_LENGTH)
}

export async function readKeyFile (path: string): Promise<Ed25519PrivateKey> {
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'ENOENT') throw new KeyFileError('missing', 'does not exist', { path, cause: err })
    throw new KeyFileError('unreadable', `cannot be read (${code ?? 'unknown error'})`, { path, cause: err })
  }
  let seed: Uint8Array
  try {
    seed = decodePrivateKeyPem(text)
  } catch (err) {
    if (err instanceof KeyFileError) throw new KeyFileError(err.code, err.message, { path, cause: err })
    throw err
  }
  return await generateKeyPairFromSeed('Ed25519', seed)
}

/** Writes the key atomically (temp file + rename), mode 0600, replacing any existing file. */
export async function writeKeyFile (path: string, seed: Uint8Array): Promise<void> {
  await publishKeyFile(path, seed, 'replace')
}

/**
 * Reads the node key, creating it on first start. Two processes racing on an
 * empty volume both end up with the same key: creation only links the new file
 * into place if nothing is there yet.
 */
export async function loadOrCreateKey (path: string): Promise<{ privateKey: Ed25519PrivateKey, created: boolean }> {
  try {
    return { privateKey: await readKeyFile(path), created: false }
  } catch (err) {
    if (!(err instanceof KeyFileError && err.code === 'missing')) throw err
  }
  const seed = generateSeed()
  if (!await publishKeyFile(path, seed, 'exclusive')) {
    return { privateKey: await readKeyFile(path), created: false }
  }
  return { privateKey: await generateKeyPairFromSeed('Ed25519', seed), created: true }
}

/** Returns false when mode is 'exclusive' and the file already existed. */
async function publishKeyFile (path: string, seed: Uint8Array, mode: 'replace' | 'exclusive'): Promise<boolean> {
  const pem = encodePrivateKeyPem(seed)
  const dir = dirname(path)
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${randomBytes(6).toString('hex')}.tmp`)
  try {
    await mkdir(dir, { recursive: true, mode: 0o700 })
    const fh = await open(tmp, 'wx', 0o600)
    try {
      // The umask can only clear bits; chmod makes the mode exact either way.
      await fh.chmod(0o600)
      await fh.writeFile(pem, 'utf8')
      await fh.sync()
    } finally {
      await fh.close()
    }
    if (mode === 'replace') {
      await rename(tmp, path)
    } else {
      const linked = await linkExclusive(tmp, path)
      if (!linked) return false
    }
    await syncDir(dir)
    return true
  } catch (err) {
    throw new KeyFileError('write-failed', `cannot be written (${errnoCode(err) ?? 'unknown error'})`, { path, cause: err })
  } finally {
    await unlink(tmp).catch(() => {})
  }
}

async function linkExclusive (tmp: string, path: string): Promise<boolean> {
  try {
    await link(tmp, path)
    return true
  } catch (err) {
    const code = errnoCode(err)
    if (code === 'EEXIST') return false
    // Some filesystems have no hard links; fall back to a (slightly racy) rename.
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') throw err
    const existing = await open(path, 'r').then(async fh => { await fh.close(); return true }, () => false)
    if (existing) return false
    await rename(tmp, path)
    return true
  }
}

async function syncDir (dir: string): Promise<void> {
  // Makes the rename durable; not every platform lets a directory be fsynced.
  try {
    const fh = await open(dir, 'r')
    try { await fh.sync() } finally { await fh.close() }
  } catch { /* best effort */ }
}

function encodePem (label: string, der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64')
  const lines = b64.match(/.{1,64}/g) ?? []
  return `-----BEGIN ${label}-----\n${lines.join('\n')}\n-----END ${label}-----\n`
}

function decodePem (text: string, label: string): Uint8Array {
  const begin = /-----BEGIN ([A-Z0-9 ]+)-----/.exec(text)
  if (begin === null) throw new KeyFileError('not-pem', `not a PEM file (expected "-----BEGIN ${label}-----")`)
  const found = begin[1] ?? ''
  if (found !== label) {
    if (/\b(RSA|EC|DSA)\b/.test(found)) {
      throw new KeyFileError('wrong-algorithm', `holds a "${found}" block, not Ed25519; expected "-----BEGIN ${label}-----"`)
    }
    throw new KeyFileError('wrong-type', `holds a "${found}" block; expected "-----BEGIN ${label}-----"`)
  }
  const bodyStart = begin.index + begin[0].length
  const endMarker = `-----END ${label}-----`
  const end = text.indexOf(endMarker, bodyStart)
  if (end < 0) throw new KeyFileError('not-pem', `PEM is truncated (no "${endMarker}" line)`)
  const body = text.slice(bodyStart, end).replace(/\s+/g, '')
  const der = Buffer.from(body, 'base64')
  // Buffer's decoder skips junk; a round trip proves the body was clean base64.
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(body) || der.toString('base64') !== body) {
    throw new KeyFileError('corrupt', 'PEM body is not valid base64')
  }
  return new Uint8Array(der)
}

function unwrapDer (der: Uint8Array, prefix: Uint8Array, length: number, kind: 'private' | 'public'): Uint8Array {
  if (startsWith(der, prefix)) {
    if (der.length !== prefix.length + length) {
      throw new KeyFileError('wrong-length', `Ed25519 ${kind} key has ${der.length - prefix.length} key bytes; expected ${length}`)
    }
    return der.slice(prefix.length)
  }
  const algorithm = identifyAlgorithm(der, kind)
  if (algorithm === 'ed25519') {
    throw new KeyFileError('wrong-length', `Ed25519 ${kind} key is ${der.length} bytes of DER; expected the ${prefix.length + length}-byte RFC 8410 form`)
  }
  if (algorithm !== undefined) throw new KeyFileError('wrong-algorithm', `holds a key of type ${algorithm}; expected Ed25519`)
  throw new KeyFileError('corrupt', `is not a valid ${kind === 'private' ? 'PKCS#8' : 'SPKI'} structure (truncated or damaged)`)
}

/** Names the algorithm of a key we will not accept, purely for the error message. */
function identifyAlgorithm (der: Uint8Array, kind: 'private' | 'public'): string | undefined {
  try {
    const key = kind === 'private'
      ? createPrivateKey({ key: Buffer.from(der), format: 'der', type: 'pkcs8' })
      : createPublicKey({ key: Buffer.from(der), format: 'der', type: 'spki' })
    const type = key.asymmetricKeyType ?? 'unknown'
    return type === 'ed25519' ? type : type.toUpperCase()
  } catch {
    return undefined
  }
}

function checkLength (bytes: Uint8Array, length: number, what: string): void {
  if (!(bytes instanceof Uint8Array) || bytes.length !== length) {
    throw new KeyFileError('wrong-length', `${what} must be ${length} bytes`)
  }
}

function startsWith (bytes: Uint8Array, prefix: Uint8Array): boolean {
  if (bytes.length < prefix.length) return false
  for (let i = 0; i < prefix.length; i++) if (bytes[i] !== prefix[i]) return false
  return true
}

function concat (a: Uint8Array, b: Uint8Array): Buffer {
  return Buffer.concat([a, b])
}

function errnoCode (err: unknown): string | undefined {
  if (typeof err === 'object' && err !== null && 'code' in err && typeof err.code === 'string') return err.code
  return undefined
}
