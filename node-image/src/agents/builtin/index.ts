/**
 * The table of agents built into dawn-node. Each validates its `settings` and
 * builds a ServerSpec; one spec serves any number of connections (its state,
 * e.g. the notes store, is shared by them).
 */
import Type from 'typebox'
import type { TSchema } from 'typebox'
import type { LogFn } from '../../logging/json-logger.ts'
import type { ContentFacade } from '../../storage/content-api.ts'
import { SchemaValidationError, compileParser } from '../../validation/schema-error.ts'
import { defineServer } from '../define-server.ts'
import type { LowLevelServer, ServerSpec } from '../define-server.ts'
import { contentServerSpec } from './content.ts'
import { echoServerSpec } from './echo.ts'
import { meshServerSpec } from './mesh.ts'
import type { MeshFacade } from './mesh.ts'
import { MAX_NOTES, NoteStore, notesFilePath, notesServerSpec } from './notes.ts'

export interface BuiltinContext {
  agentId: string
  dataDir: string
  log: LogFn
  mesh?: MeshFacade
  content?: ContentFacade
}

/** A built-in cannot be created as configured; retrying will not help. */
export class BuiltinConfigError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BuiltinConfigError'
  }
}

export class UnknownBuiltinError extends BuiltinConfigError {
  constructor (name: string) {
    super(`unknown built-in agent "${name}" (known: ${[...BUILTINS.keys()].join(', ')})`)
    this.name = 'UnknownBuiltinError'
  }
}

export class BuiltinSettingsError extends BuiltinConfigError {
  constructor (message: string) {
    super(message)
    this.name = 'BuiltinSettingsError'
  }
}

/** The built-in needs something this process does not have (e.g. `mesh` without a node). */
export class BuiltinUnavailableError extends BuiltinConfigError {
  constructor (message: string) {
    super(message)
    this.name = 'BuiltinUnavailableError'
  }
}

interface BuiltinDefinition {
  description: string
  settings: TSchema
  create: (ctx: BuiltinContext, settings: Record<string, unknown>) => ServerSpec
}

const NoSettings = Type.Object({}, { additionalProperties: false })
const NotesSettings = Type.Object({
  maxKeys: Type.Optional(Type.Integer({ minimum: 1, maximum: MAX_NOTES, description: `most keys kept (default and limit ${MAX_NOTES})` }))
}, { additionalProperties: false })

const BUILTINS: ReadonlyMap<string, BuiltinDefinition> = new Map<string, BuiltinDefinition>([
  ['echo', {
    description: 'Echoes text, generates deterministic payloads, sleeps on request',
    settings: NoSettings,
    create: (ctx) => echoServerSpec({ agentId: ctx.agentId })
  }],
  ['notes', {
    description: 'Persistent key/value memory of this node',
    settings: NotesSettings,
    create: (ctx, settings) => {
      const { maxKeys } = settings as Type.Static<typeof NotesSettings>
      const store = new NoteStore({ log: ctx.log }, { file: notesFilePath(ctx.dataDir, ctx.agentId), ...(maxKeys === undefined ? {} : { maxKeys }) })
      return notesServerSpec(store)
    }
  }],
  ['mesh', {
    description: 'Peers, ping, routes and agents of the mesh this node is in',
    settings: NoSettings,
    create: (ctx) => {
      if (ctx.mesh === undefined) throw new BuiltinUnavailableError('the mesh built-in needs a running dawn-node (it has no mesh to look at here)')
      return meshServerSpec(ctx.mesh)
    }
  }],
  ['content', {
    description: 'Content-addressed storage of the mesh: add, get and pin content by CID',
    settings: NoSettings,
    create: (ctx) => {
      if (ctx.content === undefined) throw new BuiltinUnavailableError('the content built-in needs a running dawn-node (it has no content store here)')
      return contentServerSpec(ctx.content)
    }
  }]
])

const parsers = new Map([...BUILTINS].map(([name, def]) => [name, compileParser(def.settings, `settings of built-in "${name}"`)]))

export function builtinNames (): string[] {
  return [...BUILTINS.keys()]
}

export function builtinDescription (name: string): string | undefined {
  return BUILTINS.get(name)?.description
}

/** Validates settings and builds the built-in's spec; throws a BuiltinConfigError when it cannot. */
export function createBuiltinSpec (name: string, ctx: BuiltinContext, settings: Record<string, unknown> = {}): ServerSpec {
  const def = BUILTINS.get(name)
  const parse = parsers.get(name)
  if (def === undefined || parse === undefined) throw new UnknownBuiltinError(name)
  let parsed: Record<string, unknown>
  try {
    parsed = parse(settings) as Record<string, unknown>
  } catch (err) {
    if (err instanceof SchemaValidationError) throw new BuiltinSettingsError(err.message)
    throw err
  }
  return def.create(ctx, parsed)
}

/** A fresh Server for one connection to the built-in. */
export function createBuiltinServer (name: string, ctx: BuiltinContext, settings?: Record<string, unknown>): LowLevelServer {
  return defineServer(createBuiltinSpec(name, ctx, settings))
}
