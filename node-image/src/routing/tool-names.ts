/**
 * How mesh tools, prompts and resources are named on the MCP endpoint.
 *
 * Tool and prompt names are `<nodeTag>.<agentId>.<name>`:
 * - `nodeTag` is the last {@link NODE_TAG_LENGTH} characters of the node's peer id
 *   (base58; every Ed25519 id starts with `12D3KooW`, so the suffix is the random part).
 *   When two nodes in the registry share that suffix, both use their full peer id instead,
 *   so names never collide and depend only on the registry's contents.
 * - `agentId` is a DNS label (no dots); `name` is the agent's own tool/prompt name and may
 *   contain dots, colons and slashes. A name is split at its first two dots.
 *
 * Resource URIs are `dawn://<nodeId>/<agentId>/<encodeURIComponent(originalUri)>`. Resource
 * templates map the same way with their `{...}` expressions kept (see {@link meshResourceTemplate}).
 */
import { AGENT_ID_PATTERN, NODE_ID_PATTERN } from '../registry/agent-record.ts'
import type { AgentTarget } from './types.ts'

export const NODE_TAG_LENGTH = 10
export const RESOURCE_SCHEME = 'dawn:'

const NODE_ID = new RegExp(NODE_ID_PATTERN)
const AGENT_ID = new RegExp(AGENT_ID_PATTERN)

/** A mesh name split into the agent it addresses and the agent's own name for the tool or prompt. */
export interface MeshName extends AgentTarget {
  name: string
}

/** A mesh resource URI split into the agent and the agent's own URI. */
export interface MeshResourceUri extends AgentTarget {
  uri: string
}

/** The tags of one registry snapshot; build a new one when the registry changes. */
export class MeshNames {
  readonly #tagOf = new Map<string, string>()
  readonly #nodeOf = new Map<string, string>()

  constructor (entries: Iterable<{ nodeId: string }>) {
    const nodesBySuffix = new Map<string, Set<string>>()
    for (const { nodeId } of entries) {
      const suffix = nodeId.slice(-NODE_TAG_LENGTH)
      const nodes = nodesBySuffix.get(suffix) ?? new Set<string>()
      nodes.add(nodeId)
      nodesBySuffix.set(suffix, nodes)
    }
    for (const [suffix, nodes] of nodesBySuffix) {
      for (const nodeId of nodes) {
        const tag = nodes.size === 1 ? suffix : nodeId
        this.#tagOf.set(nodeId, tag)
        this.#nodeOf.set(tag, nodeId)
      }
    }
    // A full peer id always resolves too, so a name stays usable when a collision appears or goes away.
    for (const nodeId of this.#tagOf.keys()) {
      if (!this.#nodeOf.has(nodeId)) this.#nodeOf.set(nodeId, nodeId)
    }
  }

  /** The tag of a node; a node not in the snapshot is tagged with its full id. */
  nodeTag (nodeId: string): string {
    return this.#tagOf.get(nodeId) ?? nodeId
  }

  /** `<nodeTag>.<agentId>.<name>` for a tool or prompt. */
  toolName (nodeId: string, agentId: string, name: string): string {
    return `${this.nodeTag(nodeId)}.${agentId}.${name}`
  }

  /** The agent and original name behind a mesh name; undefined when malformed or the tag is unknown or ambiguous. */
  resolve (meshName: string): MeshName | undefined {
    const first = meshName.indexOf('.')
    if (first <= 0) return undefined
    const second = meshName.indexOf('.', first + 1)
    if (second < 0) return undefined
    const tag = meshName.slice(0, first)
    const agentId = meshName.slice(first + 1, second)
    const name = meshName.slice(second + 1)
    if (!AGENT_ID.test(agentId) || name === '') return undefined
    const nodeId = this.#nodeOf.get(tag)
    if (nodeId === undefined) return undefined
    return { nodeId, agentId, name }
  }
}

/** A lone surrogate, which encodeURIComponent refuses (it throws). */
const LONE_SURROGATE = /\p{Cs}/u

/** encodeURIComponent that never throws: a lone surrogate (never a real URI) becomes U+FFFD. */
function encodePart (text: string): string {
  return encodeURIComponent(LONE_SURROGATE.test(text) ? text.replace(/\p{Cs}/gu, '\uFFFD') : text)
}

/** `dawn://<nodeId>/<agentId>/<encodeURIComponent(uri)>` */
export function meshResourceUri (nodeId: string, agentId: string, uri: string): string {
  return `${RESOURCE_SCHEME}//${nodeId}/${agentId}/${encodePart(uri)}`
}

/**
 * The mesh form of an agent's RFC 6570 URI template: `dawn://<nodeId>/<agentId>/` and the
 * template with its literal parts encoded as {@link meshResourceUri} encodes a URI and its
 * `{...}` expressions kept. A client's expansion is then a mesh resource URI that
 * {@link parseMeshResourceUri} decodes into the agent's URI for the same values. Values with
 * reserved characters arrive decoded once (`a/b`, not `a%2Fb`); the template itself decodes
 * back to the original too, which is how completions find it.
 */
export function meshResourceTemplate (nodeId: string, agentId: string, template: string): string {
  let out = ''
  let at = 0
  while (at < template.length) {
    const open = template.indexOf('{', at)
    const close = open < 0 ? -1 : template.indexOf('}', open + 1)
    if (close < 0) {
      out += encodePart(template.slice(at))
      break
    }
    out += encodePart(template.slice(at, open)) + template.slice(open, close + 1)
    at = close + 1
  }
  return `${RESOURCE_SCHEME}//${nodeId}/${agentId}/${out}`
}

/**
 * The inverse of {@link meshResourceUri}; undefined for anything else. A raw `/` after the agent
 * id is accepted: expanding `{+path}` or `{/segments}` of a mesh template leaves one there.
 */
export function parseMeshResourceUri (meshUri: string): MeshResourceUri | undefined {
  const prefix = `${RESOURCE_SCHEME}//`
  if (!meshUri.startsWith(prefix)) return undefined
  const rest = meshUri.slice(prefix.length)
  const first = rest.indexOf('/')
  const second = first < 0 ? -1 : rest.indexOf('/', first + 1)
  if (second < 0) return undefined
  const nodeId = rest.slice(0, first)
  const agentId = rest.slice(first + 1, second)
  const encoded = rest.slice(second + 1)
  if (!NODE_ID.test(nodeId) || !AGENT_ID.test(agentId) || encoded === '') return undefined
  let uri: string
  try {
    uri = decodeURIComponent(encoded)
  } catch {
    return undefined
  }
  return { nodeId, agentId, uri }
}
