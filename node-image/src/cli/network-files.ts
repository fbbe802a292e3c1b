import { parseArgs } from 'node:util'
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createCa, issueCertificate, encodeCertificate } from '../identity/membership.ts'
import { decodePrivateKeyPem } from '../identity/key-file.ts'
import { peerIdFromSeed } from '../identity/peer-id.ts'
import { generateSwarmKey } from '../identity/swarm-key.ts'
import { CliError } from './cli-error.ts'

async function writeNew (file: string, content: string, mode: number): Promise<void> {
  try {
    await writeFile(file, content, { mode, flag: 'wx' })
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'EEXIST') throw new CliError(`${file} already exists; refusing to overwrite it`, 1)
    throw err
  }
}

export async function caCommand (args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'create') throw new CliError('usage: dawn-node ca create --out DIR')
  const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } })
  if (values.out === undefined) throw new CliError('ca create: --out DIR is required')
  await mkdir(values.out, { recursive: true })
  const ca = createCa()
  await writeNew(join(values.out, 'ca.key'), ca.privateKeyPem, 0o600)
  await writeNew(join(values.out, 'ca.pub'), ca.publicKeyPem, 0o644)
  process.stdout.write(`${join(values.out, 'ca.key')}\n${join(values.out, 'ca.pub')}\n`)
  return 0
}

export async function certCommand (args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'sign') throw new CliError('usage: dawn-node cert sign --ca-key FILE --network NAME (--key FILE | --peer-id ID) [--days N] --out FILE')
  const { values } = parseArgs({
    args: rest,
    options: { 'ca-key': { type: 'string' }, network: { type: 'string' }, key: { type: 'string' }, 'peer-id': { type: 'string' }, days: { type: 'string', default: '365' }, out: { type: 'string' } }
  })
  const caKey = values['ca-key']
  if (caKey === undefined || values.network === undefined || values.out === undefined) throw new CliError('cert sign: --ca-key, --network and --out are required')
  if ((values.key === undefined) === (values['peer-id'] === undefined)) throw new CliError('cert sign: give exactly one of --key FILE or --peer-id ID')
  const days = Number(values.days)
  if (!Number.isInteger(days) || days < 1 || days > 3650) throw new CliError(`cert sign: --days must be an integer from 1 to 3650, got "${values.days}"`)
  const peerId = values['peer-id'] ?? peerIdFromSeed(decodePrivateKeyPem(await readFile(values.key as string, 'utf8')))
  const cert = issueCertificate({ caPrivateKeyPem: await readFile(caKey, 'utf8'), network: values.network, peerId, validForSeconds: days * 86400 })
  await writeFile(values.out, encodeCertificate(cert), { mode: 0o644 })
  process.stdout.write(`${values.out}\n`)
  return 0
}

export async function swarmKeyCommand (args: string[]): Promise<number> {
  const [sub, ...rest] = args
  if (sub !== 'create') throw new CliError('usage: dawn-node swarm-key create --out FILE')
  const { values } = parseArgs({ args: rest, options: { out: { type: 'string' } } })
  if (values.out === undefined) throw new CliError('swarm-key create: --out FILE is required')
  await writeNew(values.out, generateSwarmKey(), 0o600)
  process.stdout.write(`${values.out}\n`)
  return 0
}
