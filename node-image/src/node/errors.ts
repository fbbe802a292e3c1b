/** The node cannot start with what it was given; the message says what to fix. */
export class NodeStartError extends Error {
  constructor (message: string, options?: { cause?: unknown }) {
    super(message, options)
    this.name = 'NodeStartError'
  }
}
