import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { ContentStateError, readContentState, writeContentState } from '../../../src/storage/content-state-file.ts'

describe('content state file', () => {
  let dir: string
  beforeEach(async () => { dir = await mkdtemp(join(tmpdir(), 'dawn-state-')) })
  afterEach(async () => { await rm(dir, { recursive: true, force: true }) })

  it('starts empty, and reads back what was written', async () => {
    const file = join(dir, 'content', 'state.json')
    expect(await readContentState(file)).toEqual({ version: 1, pins: [], held: [] })
    const state = { version: 1 as const, pins: [{ cid: 'bafya', replication: 2, at: 5, removed: false, size: 10 }], held: ['bafya'] }
    await writeContentState(file, state)
    expect(await readContentState(file)).toEqual(state)
  })

  it('refuses a damaged file with a message that says what to do, and leaves it in place', async () => {
    const file = join(dir, 'state.json')
    await writeFile(file, '{"version":1,"pins":[')
    await expect(readContentState(file)).rejects.toThrow(ContentStateError)
    await expect(readContentState(file)).rejects.toThrow(/not JSON.*move it away/)
    await writeFile(file, JSON.stringify({ version: 1, pins: [{ cid: 'bafya', replication: 0, at: 1, removed: false }], held: [] }))
    await expect(readContentState(file)).rejects.toThrow(/pins\.0\.replication/)
    expect(await readFile(file, 'utf8')).toContain('"replication":0')
  })
})
