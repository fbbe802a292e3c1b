// A test client for the node's event stream (text/event-stream over fetch), like the page's.

export interface SseEvent {
  id?: string
  event: string
  data: unknown
}

export interface SseStream {
  status: number
  headers: Headers
  /** Every event so far, in order. */
  events: SseEvent[]
  /** Comment lines so far (`: ping`). */
  comments: string[]
  /** Resolves when the server ends the stream (or it fails). */
  closed: Promise<void>
  /** The id of the last event that had one: what a client resumes from. */
  lastEventId: () => string | undefined
  close: () => void
}

/** Opens the stream; the body is read in the background into `events`. */
export async function openEvents (url: string, opts: { headers?: Record<string, string>, lastEventId?: string } = {}): Promise<SseStream> {
  const controller = new AbortController()
  const headers: Record<string, string> = { accept: 'text/event-stream', ...opts.headers }
  if (opts.lastEventId !== undefined) headers['last-event-id'] = opts.lastEventId
  const res = await fetch(url, { headers, signal: controller.signal })
  const events: SseEvent[] = []
  const comments: string[] = []
  let last: string | undefined = opts.lastEventId
  const read = async (): Promise<void> => {
    if (res.body === null) return
    const decoder = new TextDecoder()
    let buffer = ''
    for await (const chunk of res.body) {
      buffer += decoder.decode(chunk as Uint8Array, { stream: true })
      let end: number
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end)
        buffer = buffer.slice(end + 2)
        const fields: Record<string, string> = {}
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) {
            comments.push(line.slice(1).trim())
            continue
          }
          const colon = line.indexOf(':')
          fields[line.slice(0, colon)] = line.slice(colon + 1).replace(/^ /, '')
        }
        if (fields.data === undefined) continue
        if (fields.id !== undefined) last = fields.id
        events.push({ ...(fields.id === undefined ? {} : { id: fields.id }), event: fields.event ?? 'message', data: JSON.parse(fields.data) })
      }
    }
  }
  const closed = res.ok ? read().catch(() => {}) : Promise.resolve()
  return { status: res.status, headers: res.headers, events, comments, closed, lastEventId: () => last, close: () => { controller.abort() } }
}
