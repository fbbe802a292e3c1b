import { parseArgs } from 'node:util'
import { readFile } from 'node:fs/promises'
import { loadOrCreateKey, decodePrivateKeyPem } from '../identity/key-file.ts'
import { peerIdFromSeed } from '../identity/peer-id.ts'
import { CliError } from './cli-error.ts'

export async function identityCommand (args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { key: { type: 'string' }, create: { type: 'boolean', default: false } } })
  if (values.key === undefined) throw new CliError('identity: --key FILE is required')
  if (values.create) await loadOrCreateKey(values.key)
  let pem: string
  try {
    pem = await readFile(values.key, 'utf8')
  } catch (err) {
    throw new CliError(`identity: key file ${values.key} cannot be read: ${(err as NodeJS.ErrnoException).code ?? String(err)} (use --create to generate one)`, 1)
  }
  let seed: Uint8Array
  try {
    seed = decodePrivateKeyPem(pem)
  } catch (err) {
    throw new CliError(`identity: key file ${values.key}: ${(err as Error).message}`, 1)
  }
  process.stdout.write(peerIdFromSeed(seed) + '\n')
  return 0
}
