import { readFile } from 'node:fs/promises'
import Type, { type Static } from 'typebox'
import { jsonParser } from '../validation/schema-error.ts'
import { writeFileAtomic } from './atomic-file.ts'
import { PinEntry } from './pin-set.ts'

/** What a node keeps across restarts besides the blocks: the pin set and what it holds. */
export const ContentStateFile = Type.Object({
  version: Type.Literal(1),
  pins: Type.Array(PinEntry),
  held: Type.Array(Type.String({ minLength: 1, maxLength: 128 }))
}, { additionalProperties: false })
export type ContentState = Static<typeof ContentStateFile>

export class ContentStateError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ContentStateError'
  }
}

/** The saved state, or an empty one on first start. A damaged file stops the node rather than losing pins. */
export async function readContentState (file: string): Promise<ContentState> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return { version: 1, pins: [], held: [] }
    throw err
  }
  return jsonParser(ContentStateFile, problem => new ContentStateError(`${file} is ${problem}; restore it from a backup, or move it away to start with no pins`))(text)
}

export async function writeContentState (file: string, state: ContentState): Promise<void> {
  await writeFileAtomic(file, JSON.stringify(state))
}
