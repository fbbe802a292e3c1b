// Proof of failover for a logical agent (issue 15, "a replica dies mid-run"): 500 calls by one
// logical name from 16 concurrent callers through one entry node, and one replica's node
// killed (SIGKILL) while calls run inside its agent. Every replica is a remote agent that
// records each execution as it starts (recorder-agent.ts), so what ran, and where, is known
// independently of what the callers were told. Half the calls use a tool marked idempotent,
// half one that is not. Loopback is enough here: no link delay is needed, only a real death.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { Client, StreamableHTTPClientTransport } from '@modelcontextprotocol/client'
import { eventually, startMesh, type Mesh } from './harness.ts'
import { APPEND, PUT, startRecorderAgent, type RecorderAgent } from '../support/recorder-agent.ts'

const MODERN = '2026-07-28'
const ENTRY = 0
const REPLICAS = [1, 2, 3]
const VICTIM = 2
const CALLS = 500
const CALLERS = 16
/** Killed once this many calls have ended and the victim's agent runs calls of both tools. */
const KILL_AFTER = 150
/**
 * How long each execution holds before it answers: calls are inside the agent at the kill, and
 * the run outlasts the dead replica's cool-down (5 s), so calls are sent its way again after it.
 */
const HOLD_MS = 400

interface Attempt { nodeId: string, outcome: string, failover?: string }
interface Outcome {
  key: string
  tool: string
  /** The tool's result is a success. */
  ok: boolean
  /** `_meta["dawn/error"]` of a failed call, or the protocol error's text. */
  error?: string
  replica?: string
  attempts: Attempt[]
  /** The failed call's text. */
  text?: string
}

describe('a replica of a logical agent dies mid-run', () => {
  let mesh: Mesh
  const recorders = new Map<number, RecorderAgent>()
  const clients: Client[] = []
  const ids: string[] = []
  const nodeIndex = (nodeId: string | undefined): number => ids.indexOf(nodeId ?? '')

  beforeAll(async () => {
    for (const i of REPLICAS) recorders.set(i, await startRecorderAgent({ holdMs: HOLD_MS }))
    mesh = await startMesh({
      nodes: 5,
      bootstrapNodes: 2,
      agents: (i) => {
        const recorder = recorders.get(i)
        return recorder === undefined ? [] : [{ id: 'ledger', kind: 'remote', url: recorder.url, description: 'records every execution' }]
      }
    })
    ids.push(...mesh.net.nodes.map((n) => n.peerId))
    await eventually(async () => {
      const { entries } = await mesh.get<{ entries: Array<{ nodeId: string, agentId: string, tools: unknown[] }> }>(ENTRY, '/api/v1/registry')
      return entries.filter((e) => e.agentId === 'ledger' && e.tools.length === 2).length === REPLICAS.length
    }, { what: 'the three ledger replicas, with their tools, in the entry node\'s registry', timeoutMs: 60_000 })
    for (let c = 0; c < CALLERS; c++) {
      const client = new Client({ name: `dawn-failover-test-${c}`, version: '1.0.0' }, { versionNegotiation: { mode: { pin: MODERN } } })
      await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', mesh.net.nodes[ENTRY]!.httpUrl)))
      clients.push(client)
    }
  }, 120_000)

  afterAll(async () => {
    for (const c of clients.splice(0)) await c.close().catch(() => {})
    await (mesh as Mesh | undefined)?.stop()
    for (const r of recorders.values()) await r.close()
  })

  it('loses no call that never reached an agent, retries only the idempotent tool, and reports no success that did not run', async () => {
    const names = (await clients[0]!.listTools()).tools.map((t) => t.name).filter((n) => n.includes('ledger.'))
    expect(names.sort()).toEqual([`ledger.${APPEND}`, `ledger.${PUT}`])

    const outcomes: Outcome[] = []
    let next = 0
    const call = async (client: Client, n: number): Promise<Outcome> => {
      const key = `k${n}`
      const tool = n % 2 === 0 ? APPEND : PUT
      try {
        const result = await client.callTool({ name: `ledger.${tool}`, arguments: { key } })
        const meta = result._meta ?? {}
        const attempts = (meta['dawn/attempts'] ?? []) as Attempt[]
        const text = (result.content as Array<{ text?: string }>)[0]?.text ?? ''
        if (result.isError === true) return { key, tool, ok: false, error: String(meta['dawn/error']), attempts, text }
        return { key, tool, ok: true, replica: String(meta['dawn/replica']), attempts }
      } catch (err) {
        return { key, tool, ok: false, error: `protocol error: ${(err as Error).message}`, attempts: [] }
      }
    }
    const caller = async (client: Client): Promise<void> => {
      for (let n = next++; n < CALLS; n = next++) outcomes.push(await call(client, n))
    }

    // The kill: once enough calls ended and the victim's agent is running calls of both tools.
    const victim = recorders.get(VICTIM)!
    let runningAtKill: string[] = []
    const executedAtKill = new Map<number, number>()
    const killer = (async () => {
      await eventually(async () => {
        const tools = new Set([...victim.running.values()].map((e) => e.tool))
        return outcomes.length >= KILL_AFTER && tools.has(APPEND) && tools.has(PUT)
      }, { what: 'the victim running calls of both tools after the first calls', timeoutMs: 60_000, intervalMs: 5 })
      runningAtKill = [...victim.running.values()].map((e) => `${e.tool}:${e.key}`)
      for (const [i, r] of recorders) executedAtKill.set(i, r.executions.length)
      mesh.procs[VICTIM]!.kill()
      return outcomes.length
    })()
    const started = performance.now()
    await Promise.all(clients.map(caller))
    const endedBeforeKill = await killer
    const seconds = (performance.now() - started) / 1000
    // Executions that started at the agents have all answered (or found their node gone).
    await eventually(async () => [...recorders.values()].every((r) => r.running.size === 0), { what: 'the agents to finish what they run', timeoutMs: 10_000 })

    // Where each key ran, by tool.
    const ranAt = new Map<string, number[]>()
    for (const [i, r] of recorders) {
      for (const e of r.executions) ranAt.set(`${e.tool}:${e.key}`, [...(ranAt.get(`${e.tool}:${e.key}`) ?? []), i])
    }
    const sent = new Set(outcomes.map((o) => `${o.tool}:${o.key}`))

    // Counts by tool and outcome.
    const classify = (o: Outcome): string => {
      const ran = ranAt.get(`${o.tool}:${o.key}`) ?? []
      const failed = o.attempts.filter((a) => a.outcome !== 'ok')
      const chain = failed.map((a) => `node ${nodeIndex(a.nodeId)} ${a.outcome}`).join(', ')
      if (o.ok) {
        if (failed.length === 0) return 'ok, first replica'
        if (failed.every((a) => a.failover === 'next-replica')) return `ok, after a replica it never reached (${chain})`
        return `ok, retried after it may have run (${chain})`
      }
      if (o.error === 'outcome-unknown') return `outcome-unknown (${chain}), ran ${ran.length > 0 ? `on node ${ran.join('+')}` : 'nowhere'}`
      return `failed: ${o.error ?? ''}`
    }
    const table = new Map<string, Record<string, number>>()
    for (const o of outcomes) {
      const row = table.get(classify(o)) ?? { [APPEND]: 0, [PUT]: 0 }
      row[o.tool] = (row[o.tool] ?? 0) + 1
      table.set(classify(o), row)
    }
    const served = REPLICAS.map((i) => `node ${i}${i === VICTIM ? ' (killed)' : ''}: ${recorders.get(i)!.executions.length}`)
    console.log([
      `failover: ${CALLS} calls, ${CALLERS} callers, ${seconds.toFixed(1)} s; node ${VICTIM} killed after ${endedBeforeKill} calls ended, running ${runningAtKill.length} (${runningAtKill.join(' ')})`,
      `executions at the agents: ${served.join(', ')}`,
      `${'outcome'.padEnd(60)} ${APPEND.padStart(8)} ${PUT.padStart(8)}`,
      ...[...table].sort(([a], [b]) => a.localeCompare(b)).map(([k, row]) => `${k.padEnd(60)} ${String(row[APPEND]).padStart(8)} ${String(row[PUT]).padStart(8)}`),
      ...outcomes.filter((o) => o.error === 'outcome-unknown' && !ranAt.has(`${o.tool}:${o.key}`)).map((o) => `ran nowhere, ${o.tool}:${o.key}: ${o.text ?? ''}`)
    ].join('\n'))

    expect(outcomes).toHaveLength(CALLS)
    // Nothing ran that nobody sent.
    expect([...ranAt.keys()].filter((k) => !sent.has(k))).toEqual([])
    // Every call succeeded or ended outcome-unknown: none was refused as if it had not run, none lost to another error.
    expect(outcomes.filter((o) => !o.ok && o.error !== 'outcome-unknown').map((o) => `${o.tool}:${o.key} ${o.error ?? ''}`)).toEqual([])
    // Never a reported success for a call that was not executed, where the result says it was.
    expect(outcomes.filter((o) => o.ok && !(ranAt.get(`${o.tool}:${o.key}`) ?? []).includes(nodeIndex(o.replica)))
      .map((o) => `${o.tool}:${o.key} reported by node ${nodeIndex(o.replica)}, ran at ${(ranAt.get(`${o.tool}:${o.key}`) ?? []).join('+') || 'none'}`)).toEqual([])
    // The tool that is not idempotent ran at most once, and only an idempotent call was retried after it may have run.
    expect([...ranAt].filter(([k, at]) => k.startsWith(`${APPEND}:`) && at.length > 1).map(([k, at]) => `${k} ran at ${at.join('+')}`)).toEqual([])
    expect(outcomes.filter((o) => o.tool === APPEND && o.attempts.some((a) => a.failover === 'retry-if-idempotent') && o.ok)).toEqual([])
    // A call that may have run ended outcome-unknown only after it may have reached the dead replica, and ran nowhere else.
    for (const o of outcomes.filter((x) => x.error === 'outcome-unknown')) {
      expect(o.attempts.filter((a) => a.failover === 'retry-if-idempotent').map((a) => nodeIndex(a.nodeId)), `${o.tool}:${o.key}`).toEqual([VICTIM])
      expect((ranAt.get(`${o.tool}:${o.key}`) ?? []).filter((i) => i !== VICTIM), `${o.tool}:${o.key}`).toEqual([])
    }
    // The idempotent tool always found another replica.
    expect(outcomes.filter((o) => o.tool === PUT && !o.ok).map((o) => `${o.key} ${o.error ?? ''}`)).toEqual([])

    // The kill bit: calls inside the dead replica's agent ended outcome-unknown (append) or were retried (put).
    expect(runningAtKill.length).toBeGreaterThan(0)
    expect(outcomes.some((o) => o.tool === APPEND && o.error === 'outcome-unknown' && (ranAt.get(`${o.tool}:${o.key}`) ?? []).includes(VICTIM))).toBe(true)
    expect(outcomes.some((o) => o.tool === PUT && o.ok && o.attempts.some((a) => nodeIndex(a.nodeId) === VICTIM && a.failover === 'retry-if-idempotent'))).toBe(true)
    // Every replica served calls before the kill, and the survivors carried on after it.
    for (const i of REPLICAS) expect(executedAtKill.get(i), `node ${i}`).toBeGreaterThan(0)
    for (const i of REPLICAS.filter((r) => r !== VICTIM)) expect(recorders.get(i)!.executions.length, `node ${i}`).toBeGreaterThan(executedAtKill.get(i)!)
  }, 180_000)
})
