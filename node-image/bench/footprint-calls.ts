/**
 * The CPU side of a footprint choice: the variants' nodes of one mesh answer the same
 * tool calls (echo.echo by its logical name), interleaved in rounds, and each variant's CPU per call (caller +
 * callee, from /proc) and p50 are printed next to the first variant's. A memory flag that
 * costs CPU per call shows here, under the same machine noise as its baseline.
 */
import { Client } from '@modelcontextprotocol/sdk/client/index.js'
import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js'
import { formatTable, fmtMs, summarize } from './util.ts'

export interface CallPair {
  /** The entry node's HTTP URL and process id. */
  entryUrl: string
  entryPid: number
  /** Another node of the same variant, whose CPU counts too when replica choice sends the call there. */
  hostPid: number
}

export interface CallsInit {
  names: readonly string[]
  pairs: ReadonlyArray<CallPair | undefined>
  rounds: number
  calls: number
  cpuSeconds: (pid: number) => Promise<number>
}

export async function runFootprintCalls (init: CallsInit): Promise<string> {
  const text = 'x'.repeat(256)
  const clients = await Promise.all(init.pairs.map(async p => {
    if (p === undefined) return undefined
    const client = new Client({ name: 'dawn-footprint', version: '1.0.0' })
    await client.connect(new StreamableHTTPClientTransport(new URL('/mcp', p.entryUrl)))
    return client
  }))
  const once = async (k: number): Promise<void> => {
    const client = clients[k]
    const pair = init.pairs[k]
    if (client === undefined || pair === undefined) return
    // Every node hosts echo, so an endpoint lists it by its logical name only; replica choice picks the node.
    const result = await client.callTool({ name: 'echo.echo', arguments: { text } })
    const content = result.content as Array<{ text?: string }>
    if (result.isError === true || content[0]?.text !== text) throw new Error(`${init.names[k] ?? k}: wrong answer ${JSON.stringify(result).slice(0, 200)}`)
  }
  try {
    for (let k = 0; k < clients.length; k++) for (let i = 0; i < 50; i++) await once(k) // warm-up
    const samples = init.pairs.map((): number[] => [])
    const cpu = init.pairs.map(() => 0)
    const cpuOfPair = async (p: CallPair): Promise<number> => await init.cpuSeconds(p.entryPid) + await init.cpuSeconds(p.hostPid)
    for (let r = 0; r < init.rounds; r++) {
      for (const [k, pair] of init.pairs.entries()) {
        if (pair === undefined) continue
        const before = await cpuOfPair(pair)
        for (let i = 0; i < init.calls; i++) {
          const t0 = performance.now()
          await once(k)
          samples[k]?.push(performance.now() - t0)
        }
        cpu[k] = (cpu[k] ?? 0) + await cpuOfPair(pair) - before
      }
    }
    const total = init.rounds * init.calls
    const perCall = cpu.map(s => s * 1e6 / total)
    const p50s = samples.map(s => summarize(s).p50)
    const rows = init.names.map((n, k) => {
      if (init.pairs[k] === undefined) return [n, '-', '-', '-', '-']
      const ratio = (xs: number[]): string => k === 0 ? '' : ` (${((xs[k] ?? 0) / (xs[0] ?? 1)).toFixed(2)}×)`
      return [n, String(total), `${fmtMs(p50s[k] ?? Number.NaN)}${ratio(p50s)}`, `${(perCall[k] ?? 0).toFixed(0)}${ratio(perCall)}`, fmtMs(summarize(samples[k] ?? []).p99)]
    })
    return `tool calls (echo.echo by logical name, 256-byte argument), ${init.rounds} interleaved rounds × ${init.calls} per variant; CPU = entry node + one other node of the variant, /proc (10 ms ticks):\n` +
      formatTable(['variant', 'calls', 'p50', 'CPU µs/call', 'p99'], rows)
  } finally {
    await Promise.all(clients.map(async c => { await c?.close() }))
  }
}
