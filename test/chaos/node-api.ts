// The nodes' HTTP API as the chaos workload and checker use it: the same calls on every
// target (namespaces, the cluster, kind), through ChaosTarget.url(i).

export interface NodeInfo {
  peerId: string
  ready: boolean
  peers: number
  registry: { digest: string, entries: number }
}
export interface PeerInfo { peerId: string, verified: boolean }
export interface RegistryEntry { nodeId: string, agentId: string, updatedAt: number }
export interface ContentStatus { cid: string, pinned: boolean, replication: number, holders: string[], have: string[], deficit: number }
export interface CallReply { route: string, durationMs: number, result: { isError?: boolean, structuredContent?: Record<string, unknown>, content?: Array<{ type: string, text?: string }> } }
export interface CallFailure { status: number, code: string, message: string }

export class NodeApiError extends Error {
  readonly status: number
  constructor (message: string, status: number) {
    super(message)
    this.name = 'NodeApiError'
    this.status = status
  }
}

async function json<T> (url: string, init: RequestInit & { timeoutMs?: number } = {}): Promise<T> {
  const res = await fetch(url, { ...init, signal: init.signal ?? AbortSignal.timeout(init.timeoutMs ?? 5000) })
  const text = await res.text()
  if (!res.ok) throw new NodeApiError(`${init.method ?? 'GET'} ${url} -> ${res.status}: ${text.slice(0, 500)}`, res.status)
  return JSON.parse(text) as T
}

export const nodeInfo = async (base: string): Promise<NodeInfo> => await json(`${base}/api/v1/node`)
export const peers = async (base: string): Promise<PeerInfo[]> => await json(`${base}/api/v1/peers`)
export const registry = async (base: string, nodeId?: string): Promise<RegistryEntry[]> =>
  (await json<{ entries: RegistryEntry[] }>(`${base}/api/v1/registry${nodeId === undefined ? '' : `?nodeId=${nodeId}`}`)).entries
export const contentStatus = async (base: string, cid: string): Promise<ContentStatus> => await json(`${base}/api/v1/content/${cid}/status`)

/** Adds bytes and pins them mesh-wide on `replication` nodes. */
export async function addContent (base: string, bytes: Uint8Array, replication: number, timeoutMs: number): Promise<{ cid: string, replication: number }> {
  return await json(`${base}/api/v1/content?replication=${replication}`, {
    method: 'POST', headers: { 'content-type': 'application/octet-stream' }, body: bytes, timeoutMs
  })
}

/**
 * One routed call through node `base`: the reply, the mesh's refusal (HTTP status and
 * code), or a thrown error when no answer came at all (timeout, reset).
 */
export async function call (base: string, body: { target: string, tool: string, arguments: Record<string, unknown>, timeoutMs: number }, httpTimeoutMs: number): Promise<CallReply | CallFailure> {
  const res = await fetch(`${base}/api/v1/calls`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify(body),
    signal: AbortSignal.timeout(httpTimeoutMs)
  })
  const text = await res.text()
  if (res.ok) return JSON.parse(text) as CallReply
  let code = 'http'
  let message = text.slice(0, 500)
  try {
    const parsed = JSON.parse(text) as { code?: string, message?: string }
    code = parsed.code ?? code
    message = parsed.message ?? message
  } catch { /* not JSON: keep the text */ }
  return { status: res.status, code, message }
}

/** A call's structured result, or its first text block parsed as JSON. */
export function resultJson (reply: CallReply): Record<string, unknown> | undefined {
  if (reply.result.structuredContent !== undefined) return reply.result.structuredContent
  const text = reply.result.content?.find(c => c.type === 'text')?.text
  if (text === undefined) return undefined
  try { return JSON.parse(text) as Record<string, unknown> } catch { return undefined }
}

/** The first text block of a call's result. */
export function resultText (reply: CallReply): string | undefined {
  return reply.result.content?.find(c => c.type === 'text')?.text
}

/** One sample from a node's /metrics summed over every label set (0 when absent). */
export async function metricSum (base: string, name: string, labels: Record<string, string> = {}): Promise<number> {
  const res = await fetch(`${base}/metrics`, { signal: AbortSignal.timeout(5000) })
  const text = await res.text()
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`)
  let sum = 0
  for (const line of text.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})?\s+(\S+)/.exec(line)
    if (m?.[1] !== name) continue
    if (want.every(w => (m[2] ?? '').includes(w))) sum += Number(m[3])
  }
  return sum
}

/** The node's wall clock as its HTTP Date header tells it (1 s resolution). */
export async function nodeClock (base: string): Promise<number> {
  const res = await fetch(`${base}/healthz`, { signal: AbortSignal.timeout(5000) })
  await res.text()
  const date = res.headers.get('date')
  if (date === null) throw new NodeApiError(`${base} sent no Date header`, res.status)
  return Date.parse(date)
}
