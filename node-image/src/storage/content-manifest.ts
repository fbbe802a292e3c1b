import Type, { type Static } from 'typebox'
import { jsonParser } from '../validation/schema-error.ts'
import { PinEntry } from './pin-set.ts'
import { LruMap } from '../p2p/lru-map.ts'

export const MAX_MANIFEST_ITEMS = 4096
/** Members whose manifests are remembered at once. */
export const MAX_MANIFEST_NODES = 4096

/**
 * What each node gossips about its content, as a whole (state-based): the pins
 * it knows, the CIDs it holds completely, and its Kubo sidecar's swarm address.
 */
export const ContentManifest = Type.Object({
  v: Type.Literal(1),
  backend: Type.Union([Type.Literal('embedded'), Type.Literal('kubo')]),
  pins: Type.Array(PinEntry, { maxItems: MAX_MANIFEST_ITEMS }),
  held: Type.Array(Type.String({ minLength: 1, maxLength: 128, pattern: '^[a-z2-7]+$' }), { maxItems: MAX_MANIFEST_ITEMS }),
  kubo: Type.Optional(Type.Object({
    peerId: Type.String({ minLength: 1, maxLength: 128 }),
    addrs: Type.Array(Type.String({ minLength: 3, maxLength: 512, pattern: '^/' }), { maxItems: 32 })
  }, { additionalProperties: false }))
}, { additionalProperties: false })
export type ContentManifest = Static<typeof ContentManifest>

export class ManifestError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'ManifestError'
  }
}

const parseManifestText = jsonParser(ContentManifest, problem => new ManifestError(`manifest is ${problem}`))

export function parseManifest (body: Uint8Array): ContentManifest {
  return parseManifestText(new TextDecoder().decode(body))
}

interface Known {
  manifest: ContentManifest
  /** Sender's timestamp: an older manifest never replaces a newer one. */
  ts: number
  held: Set<string>
}

/** The latest manifest of every node heard from. */
export class ContentDirectory {
  // One entry per member heard from; bounded even if a CA issued certificates freely.
  private readonly known = new LruMap<string, Known>(MAX_MANIFEST_NODES)

  update (nodeId: string, manifest: ContentManifest, ts: number): boolean {
    const prev = this.known.get(nodeId)
    if (prev !== undefined && prev.ts >= ts) return false
    this.known.set(nodeId, { manifest, ts, held: new Set(manifest.held) })
    return true
  }

  nodes (): string[] {
    return [...this.known.keys()]
  }

  holds (nodeId: string, cid: string): boolean {
    return this.known.get(nodeId)?.held.has(cid) === true
  }

  manifest (nodeId: string): ContentManifest | undefined {
    return this.known.get(nodeId)?.manifest
  }
}
