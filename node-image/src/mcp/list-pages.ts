/**
 * Pages of the mesh's lists. A cursor names the list, a digest of that list's contents and an
 * offset, so it is opaque to clients, needs no state on the node, and works on any node that
 * lists the same items (modern clients may page across nodes). A cursor for contents that have
 * changed since, or one that was never minted, is refused: the client lists again from the start.
 */
import { createHash } from 'node:crypto'

/** A cursor that is garbled, for another list, or for contents that have changed. */
export class InvalidCursorError extends Error {
  constructor (reason: string) {
    super(`invalid cursor: ${reason}`)
    this.name = 'InvalidCursorError'
  }
}

export interface Page<T> {
  items: T[]
  nextCursor?: string
}

export interface ListPager<L extends { [K in keyof L]: unknown[] }> {
  readonly pageSize: number
  /** The page a cursor points at (the first without one); throws {@link InvalidCursorError}. */
  page: <K extends keyof L & string>(list: K, cursor: string | undefined) => Page<L[K][number]>
}

/** Longer than any cursor minted here; a bigger one is refused before it is decoded. */
const MAX_CURSOR_LENGTH = 256

interface CursorBody { l: string, d: string, o: number }

function isCursorBody (value: unknown): value is CursorBody {
  if (typeof value !== 'object' || value === null) return false
  const { l, d, o } = value as Record<string, unknown>
  return typeof l === 'string' && typeof d === 'string' && typeof o === 'number' && Number.isSafeInteger(o)
}

export function createListPager<L extends { [K in keyof L]: unknown[] }> (lists: L, pageSize: number): ListPager<L> {
  if (!Number.isSafeInteger(pageSize) || pageSize < 1) throw new RangeError(`page size must be a positive integer, not ${pageSize}`)
  // Only lists longer than a page need their digest, and only once.
  const digests = new Map<string, string>()
  const digestOf = (list: keyof L & string): string => {
    let digest = digests.get(list)
    if (digest === undefined) {
      digest = createHash('sha256').update(JSON.stringify(lists[list])).digest('base64url').slice(0, 22)
      digests.set(list, digest)
    }
    return digest
  }
  const mint = (list: keyof L & string, offset: number): string =>
    Buffer.from(JSON.stringify({ l: list, d: digestOf(list), o: offset } satisfies CursorBody)).toString('base64url')

  const offsetOf = (list: keyof L & string, cursor: string): number => {
    if (cursor.length > MAX_CURSOR_LENGTH || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw new InvalidCursorError('not one this server issued')
    let body: unknown
    try {
      body = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
    } catch {
      throw new InvalidCursorError('not one this server issued')
    }
    if (!isCursorBody(body)) throw new InvalidCursorError('not one this server issued')
    if (body.l !== list) throw new InvalidCursorError(`it pages another list (${body.l.slice(0, 32)})`)
    const items = lists[list]
    if (body.o <= 0 || body.o >= items.length || body.d !== digestOf(list)) throw new InvalidCursorError('the list changed since; list again from the start')
    return body.o
  }

  return {
    pageSize,
    page: (list, cursor) => {
      const items = lists[list]
      const offset = cursor === undefined ? 0 : offsetOf(list, cursor)
      const end = offset + pageSize
      const page = items.slice(offset, end) as Array<L[typeof list][number]>
      return end < items.length ? { items: page, nextCursor: mint(list, end) } : { items: page }
    }
  }
}
