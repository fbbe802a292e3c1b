/**
 * The `notes` built-in: a small persistent key/value memory per agent, in
 * `<dataDir>/agents/<agentId>/notes.json`. Every change is written (temp file,
 * fsync, rename) before the tool answers; changes are applied one at a time.
 */
import { readFile, rename } from 'node:fs/promises'
import { join } from 'node:path'
import type { CallToolResult } from '@modelcontextprotocol/server'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { LogFn } from '../../logging/json-logger.ts'
import { byCodeUnit } from '../../registry/canonical-json.ts'
import { writeFileAtomic } from '../../storage/atomic-file.ts'
import { VERSION } from '../../version.ts'
import { defineTool, jsonResult, textResult } from '../define-server.ts'
import type { ServerSpec } from '../define-server.ts'

export const NOTES_FILE = 'notes.json'
export const MAX_NOTE_KEY_CHARS = 256
export const MAX_NOTE_VALUE_BYTES = 64 * 1024
export const MAX_NOTES = 10_000

/** A change refused because it would break a limit; the message says which. */
export class NotesLimitError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'NotesLimitError'
  }
}

const NotesFile = Type.Object({
  version: Type.Literal(1),
  notes: Type.Record(Type.String(), Type.String())
})
const notesFileValidator = Compile(NotesFile)

export function notesFilePath (dataDir: string, agentId: string): string {
  return join(dataDir, 'agents', agentId, NOTES_FILE)
}

export interface NoteStoreInit {
  file: string
  maxKeys?: number
  now?: () => number
}

export interface NoteStoreComponents {
  log: LogFn
}

export class NoteStore {
  readonly file: string
  private readonly maxKeys: number
  private readonly now: () => number
  private readonly log: LogFn
  private loaded: Promise<Map<string, string>> | undefined
  /** Changes run one after another: apply, write, and undo if the write fails. */
  private queue: Promise<unknown> = Promise.resolve()
  private readonly watchers = new Set<() => void>()

  constructor (components: NoteStoreComponents, init: NoteStoreInit) {
    this.log = components.log
    this.file = init.file
    this.maxKeys = init.maxKeys ?? MAX_NOTES
    this.now = init.now ?? Date.now
  }

  async get (key: string): Promise<string | undefined> {
    return (await this.notes()).get(key)
  }

  /** Sorted keys starting with `prefix`. */
  async list (prefix = ''): Promise<string[]> {
    return [...(await this.notes()).keys()].filter((k) => k.startsWith(prefix)).sort()
  }

  /** All notes, sorted by key. */
  async all (): Promise<Array<[string, string]>> {
    return [...(await this.notes()).entries()].sort(([a], [b]) => byCodeUnit(a, b))
  }

  /** Calls `onChange` after each saved change; returns the function that stops it. */
  watch (onChange: () => void): () => void {
    this.watchers.add(onChange)
    return () => { this.watchers.delete(onChange) }
  }

  async put (key: string, value: string): Promise<void> {
    checkKey(key)
    const bytes = Buffer.byteLength(value, 'utf8')
    if (bytes > MAX_NOTE_VALUE_BYTES) {
      throw new NotesLimitError(`value is ${bytes} bytes; a note holds at most ${MAX_NOTE_VALUE_BYTES} bytes (64 KiB)`)
    }
    await this.change(async (notes) => {
      const previous = notes.get(key)
      if (previous === undefined && notes.size >= this.maxKeys) {
        throw new NotesLimitError(`notes are full: ${notes.size} keys, the limit is ${this.maxKeys}; delete some first`)
      }
      notes.set(key, value)
      await this.writeOrUndo(notes, key, previous)
    })
  }

  /** True when the key existed. */
  async delete (key: string): Promise<boolean> {
    return await this.change(async (notes) => {
      const previous = notes.get(key)
      if (previous === undefined) return false
      notes.delete(key)
      await this.writeOrUndo(notes, key, previous)
      return true
    })
  }

  private async change<T> (fn: (notes: Map<string, string>) => Promise<T>): Promise<T> {
    const run = this.queue.then(async () => await fn(await this.notes()))
    this.queue = run.catch(() => {})
    return await run
  }

  private async writeOrUndo (notes: Map<string, string>, key: string, previous: string | undefined): Promise<void> {
    try {
      await this.write(notes)
      for (const watcher of this.watchers) watcher()
    } catch (err) {
      if (previous === undefined) notes.delete(key)
      else notes.set(key, previous)
      throw new Error(`cannot save notes: ${(err as Error).message}`, { cause: err })
    }
  }

  private async notes (): Promise<Map<string, string>> {
    this.loaded ??= this.load()
    try {
      return await this.loaded
    } catch (err) {
      this.loaded = undefined // e.g. EACCES: try again next time rather than clobber the file
      throw err
    }
  }

  private async load (): Promise<Map<string, string>> {
    let text: string
    try {
      text = await readFile(this.file, 'utf8')
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return new Map()
      throw new Error(`cannot read notes file: ${(err as Error).message}`, { cause: err })
    }
    try {
      const value: unknown = JSON.parse(text)
      if (!notesFileValidator.Check(value)) throw new Error('not a notes file')
      return new Map(Object.entries(value.notes))
    } catch (err) {
      const aside = `${this.file}.corrupt-${this.now()}`
      this.log('warn', 'notes file is corrupt; moved aside, starting empty', { file: this.file, aside, error: (err as Error).message })
      await rename(this.file, aside)
      return new Map()
    }
  }

  private async write (notes: Map<string, string>): Promise<void> {
    await writeFileAtomic(this.file, JSON.stringify({ version: 1, notes: Object.fromEntries(notes) }))
  }
}

function checkKey (key: string): void {
  if (key.length === 0) throw new NotesLimitError('key is empty')
  if (key.length > MAX_NOTE_KEY_CHARS) throw new NotesLimitError(`key is ${key.length} characters; the limit is ${MAX_NOTE_KEY_CHARS}`)
}

const Key = Type.String({ minLength: 1, maxLength: MAX_NOTE_KEY_CHARS, description: `note key, 1..${MAX_NOTE_KEY_CHARS} characters` })
/** Recall quotes at most this much of the notes into the prompt. */
const MAX_RECALL_CHARS = 256 * 1024

async function limited<T> (fn: () => Promise<T>, ok: (value: T) => CallToolResult): Promise<CallToolResult> {
  try {
    return ok(await fn())
  } catch (err) {
    if (err instanceof NotesLimitError) return textResult(err.message, true)
    throw err
  }
}

export function notesServerSpec (store: NoteStore): ServerSpec {
  return {
    name: 'dawn-notes',
    version: VERSION,
    instructions: 'A persistent key/value memory: put, get, delete and list notes.',
    tools: [
      defineTool({
        name: 'put',
        description: `Store a note under a key (replacing any previous value). Values up to 64 KiB, at most ${MAX_NOTES} keys.`,
        input: Type.Object({ key: Key, value: Type.String({ description: 'the note, up to 64 KiB of UTF-8' }) }, { additionalProperties: false }),
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
        handler: async ({ key, value }) => await limited(async () => { await store.put(key, value) }, () => textResult(`stored note "${key}"`))
      }),
      defineTool({
        name: 'get',
        description: 'Read the note stored under a key.',
        input: Type.Object({ key: Key }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async ({ key }) => {
          const value = await store.get(key)
          return value === undefined ? textResult(`no note "${key}"`, true) : textResult(value)
        }
      }),
      defineTool({
        name: 'delete',
        description: 'Delete the note stored under a key.',
        input: Type.Object({ key: Key }, { additionalProperties: false }),
        annotations: { readOnlyHint: false, destructiveHint: true, idempotentHint: true, openWorldHint: false },
        handler: async ({ key }) => {
          const deleted = await store.delete(key)
          const text = deleted ? `deleted note "${key}"` : `no note "${key}"; nothing deleted`
          return { content: [{ type: 'text', text }], structuredContent: { key, deleted } }
        }
      }),
      defineTool({
        name: 'list',
        description: 'List the keys of all notes, or of those starting with a prefix, sorted.',
        input: Type.Object({ prefix: Type.Optional(Type.String({ maxLength: MAX_NOTE_KEY_CHARS, description: 'only keys starting with this' })) }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, openWorldHint: false },
        handler: async ({ prefix }) => jsonResult({ keys: await store.list(prefix) })
      })
    ],
    resources: [{
      uri: 'notes://all',
      name: 'all notes',
      description: 'Every note as one JSON object (key → value)',
      mimeType: 'application/json',
      read: async () => JSON.stringify(Object.fromEntries(await store.all())),
      watch: (onChange) => store.watch(onChange)
    }],
    prompts: [{
      name: 'recall',
      description: 'Ask to recall what the notes say about a topic; quotes the matching notes',
      arguments: [{ name: 'topic', description: 'what to recall', required: true }],
      get: async (args) => {
        const topic = args.topic ?? ''
        const needle = topic.toLowerCase()
        const matches = (await store.all()).filter(([k, v]) => k.toLowerCase().includes(needle) || v.toLowerCase().includes(needle))
        let quoted = JSON.stringify(Object.fromEntries(matches), null, 2)
        if (quoted.length > MAX_RECALL_CHARS) quoted = `${quoted.slice(0, MAX_RECALL_CHARS)}\n… (truncated)`
        const text = matches.length === 0
          ? `Recall what you know about "${topic}". The notes have nothing on it.`
          : `Recall what you know about "${topic}". These notes mention it:\n${quoted}`
        return { description: `notes about ${topic}`, messages: [{ role: 'user', content: { type: 'text', text } }] }
      }
    }]
  }
}
