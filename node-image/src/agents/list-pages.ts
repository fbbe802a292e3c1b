/**
 * Fetches one of an agent's lists (tools, resources, prompts, resource templates) page by
 * page, in either protocol revision. Items are left raw for the list mapper, which skips the
 * ones the registry would refuse: one malformed tool must not cost the agent its other tools.
 */
import { ProtocolError, ProtocolErrorCode, SdkHttpError, type Client } from '@modelcontextprotocol/client'
import { PaginatedResultSchema } from '@modelcontextprotocol/core'
import { clip, type ListKind } from './list-mapper.ts'

export const MAX_LIST_PAGES = 100
const METHOD_NOT_FOUND: number = ProtocolErrorCode.MethodNotFound
const LIST_METHODS = { tools: 'tools/list', resources: 'resources/list', prompts: 'prompts/list', resourceTemplates: 'resources/templates/list' } as const

export interface ListPagesOptions {
  signal: AbortSignal
  timeoutMs: number
  /** The list had more than MAX_LIST_PAGES pages; the first ones are returned. */
  onTooManyPages: (method: string) => void
}

/** Every item of one list; a repeated cursor or a page without the list is an error. */
export async function fetchListPages (client: Client, kind: ListKind, opts: ListPagesOptions): Promise<unknown[]> {
  const method = LIST_METHODS[kind]
  const items: unknown[] = []
  const seen = new Set<string>()
  let cursor: string | undefined
  for (let page = 0; page < MAX_LIST_PAGES; page++) {
    let result
    try {
      result = await client.request({ method, params: cursor === undefined ? {} : { cursor } }, PaginatedResultSchema, { signal: opts.signal, timeout: opts.timeoutMs })
    } catch (err) {
      // Templates are optional within the resources capability; a server without them has none.
      if (kind === 'resourceTemplates' && rpcErrorCode(err) === METHOD_NOT_FOUND) return []
      throw err
    }
    const list = result[kind]
    if (!Array.isArray(list)) throw new Error(`${method} answered without a "${kind}" array`)
    items.push(...(list as unknown[]))
    cursor = result.nextCursor
    if (cursor === undefined) return items
    if (seen.has(cursor)) throw new Error(`${method} repeated cursor ${clip(cursor, 64)}`)
    seen.add(cursor)
  }
  opts.onTooManyPages(method)
  return items
}

/** A JSON-RPC error's code, also when 2026-07-28 sent it as an HTTP error (e.g. -32601 with 404), which the SDK does not decode. */
export function rpcErrorCode (err: unknown): number | undefined {
  if (err instanceof ProtocolError) return err.code
  if (!(err instanceof SdkHttpError) || typeof err.data.text !== 'string' || err.data.text.length > 64 * 1024) return undefined
  try {
    const body: unknown = JSON.parse(err.data.text)
    const code = typeof body === 'object' && body !== null && 'error' in body && typeof body.error === 'object' && body.error !== null && 'code' in body.error ? body.error.code : undefined
    return typeof code === 'number' ? code : undefined
  } catch {
    return undefined
  }
}
