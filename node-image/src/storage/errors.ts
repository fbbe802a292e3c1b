/**
 * Why a content operation failed. `code` is stable: the HTTP API, the `content`
 * agent and the CLI all name failures by it.
 */
export const CONTENT_ERROR_CODES = [
  'bad-cid',
  'not-found',
  'too-large',
  'deadline-exceeded',
  'not-a-file',
  'bad-request',
  'unavailable'
] as const
export type ContentErrorCode = typeof CONTENT_ERROR_CODES[number]

export class ContentError extends Error {
  readonly code: ContentErrorCode
  constructor (code: ContentErrorCode, message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'ContentError'
    this.code = code
  }
}

/** The text is not a CID this node can serve (CIDv0/v1, dag-pb or raw, sha2-256 or identity). */
export class BadCidError extends ContentError {
  constructor (message: string) {
    super('bad-cid', message)
    this.name = 'BadCidError'
  }
}

/** Neither this node nor any node asked holds the content. */
export class ContentNotFoundError extends ContentError {
  constructor (message: string) {
    super('not-found', message)
    this.name = 'ContentNotFoundError'
  }
}

/** An upload past `storage.maxUploadBytes`; nothing of it is kept pinned. */
export class UploadTooLargeError extends ContentError {
  constructor (limit: number) {
    super('too-large', `upload is larger than the limit of ${limit} bytes`)
    this.name = 'UploadTooLargeError'
  }
}

export class ContentDeadlineError extends ContentError {
  constructor (message: string, options?: { cause?: unknown }) {
    super('deadline-exceeded', message, options)
    this.name = 'ContentDeadlineError'
  }
}

/** A block whose bytes do not hash to its CID. Never returned to a caller. */
export class BlockVerificationError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BlockVerificationError'
  }
}

/** HTTP status for each content failure. */
export const CONTENT_HTTP_STATUS: Record<ContentErrorCode, number> = {
  'bad-cid': 400,
  'not-found': 404,
  'too-large': 413,
  'deadline-exceeded': 504,
  'not-a-file': 422,
  'bad-request': 400,
  unavailable: 503
}
