import { randomBytes } from 'node:crypto'
import { mkdir, open, rename, unlink } from 'node:fs/promises'
import { dirname } from 'node:path'

/** Temp file, fsync, rename: a reader sees the old or the new file, never half of one. */
export async function writeFileAtomic (file: string, body: string, mode = 0o600): Promise<void> {
  const tmp = `${file}.tmp-${process.pid}-${randomBytes(4).toString('hex')}`
  await mkdir(dirname(file), { recursive: true })
  try {
    const handle = await open(tmp, 'w', mode)
    try {
      await handle.writeFile(body)
      await handle.sync()
    } finally {
      await handle.close()
    }
    await rename(tmp, file)
  } catch (err) {
    await unlink(tmp).catch(() => {})
    throw err
  }
}
