/**
 * `npm run bench -- flood`: the pre-handshake connection flood that crashed nodes on
 * `@libp2p/pnet` 3.0.27, against our PskProtector and against pnet, one after the other.
 *
 * Each target is a bare libp2p host in its own child process (so a crash ends only the
 * child), wired like p2p/host.ts (TCP, the PSK protector, Noise, yamux, the node's
 * default inbound limits and per-address gater) minus DHT and gossipsub, which no
 * flooded socket reaches. The flooder (flooder.ts) runs here: N "nonce-only"
 * connections (connect, send 24 random bytes, close), each from its own loopback
 * source address, plus connections that send nothing. A member connected with the key
 * pings the target all along; its RSS is read from /proc; afterwards a new peer with
 * the key must still connect and ping it.
 */
import { fork } from 'node:child_process'
import { tmpdir } from 'node:os'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { createLibp2p, type Libp2p } from 'libp2p'
import { tcp } from '@libp2p/tcp'
import { noise } from '@chainsafe/libp2p-noise'
import { yamux } from '@chainsafe/libp2p-yamux'
import { identify } from '@libp2p/identify'
import { ping, type Ping } from '@libp2p/ping'
import { preSharedKey } from '@libp2p/pnet'
import { multiaddr } from '@multiformats/multiaddr'
import type { ConnectionProtector } from '@libp2p/interface'
import { inboundAdmission } from '../src/p2p/host.ts'
import { generateSwarmKey, parseSwarmKey, swarmKeyBytes } from '../src/identity/swarm-key.ts'
import { parseConfig } from '../src/config/load.ts'
import { fmtMiB, fmtOps, formatTable, median, sleep, withTimeout } from './util.ts'
import { procStatusBytes, startFlood, type Flood, type FloodResult } from './flooder.ts'

// ---- the targets ----

type TargetKind = 'ours' | 'pnet'
const KINDS: readonly TargetKind[] = ['ours', 'pnet']
const LABEL: Record<TargetKind, string> = { ours: 'PskProtector', pnet: '@libp2p/pnet 3.0.27' }
const SELF = fileURLToPath(import.meta.url)
const KEY_ENV = 'DAWN_FLOOD_SWARM_KEY'

/** The node's default p2p settings, from its config schema (no file is read). */
function defaultP2p (): ReturnType<typeof parseConfig>['p2p'] {
  return parseConfig({ network: { name: 'bench', swarmKeyFile: 'k', caPublicKeyFile: 'c' }, node: { dataDir: 'd', certificateFile: 'c' } }, tmpdir()).p2p
}

/** A host with host.ts's transport, limits and gater; only the protector differs between targets. */
async function bareHost (kind: TargetKind, keyText: string, listen: string[]): Promise<Libp2p<{ ping: Ping }>> {
  const p2p = defaultP2p()
  const { protector: ours, inbound, connectionManager } = inboundAdmission(p2p, parseSwarmKey(keyText))
  const protector: () => ConnectionProtector = kind === 'pnet' ? preSharedKey({ psk: swarmKeyBytes(keyText), timeout: p2p.handshakeTimeoutMs }) : () => ours
  return await createLibp2p({
    addresses: { listen },
    transports: [tcp()],
    connectionEncrypters: [noise()],
    streamMuxers: [yamux()],
    connectionProtector: protector,
    connectionGater: { denyInboundConnection: inbound.denyInboundConnection },
    connectionManager,
    services: { identify: identify(), ping: ping() }
  })
}

interface TargetReport {
  kind: TargetKind
  flood: FloodResult
  rssBefore: number
  rssPeak: number
  rssAfter: number
  /** A connected member's pings (every 100 ms) from the flood's start to the end of the settle time. */
  pings: { ok: number, failed: number, rttMs: number[] }
  /** Nonce-only connections started when the target died; undefined if it lived. */
  diedAt?: number
  crash?: string
  /** Alive at the end, and a new peer with the key connected and pinged it. */
  survived: boolean
}

interface Options { connections: number, silent: number, concurrency: number, settleMs: number }

async function floodTarget (kind: TargetKind, keyText: string, opts: Options): Promise<TargetReport> {
  const child = fork(SELF, [kind], { execArgv: process.execArgv, env: { ...process.env, [KEY_ENV]: keyText }, stdio: ['ignore', 'ignore', 'pipe', 'ipc'] })
  let stderr = ''
  child.stderr?.on('data', (chunk: Buffer) => { stderr = (stderr + chunk.toString()).slice(-8000) })
  const stop = new AbortController()
  const state = { exited: false, flooding: true }
  let diedAt: number | undefined
  let flood: Flood | undefined
  child.once('exit', () => {
    state.exited = true
    diedAt = flood?.progress.attempted ?? 0
    stop.abort()
  })
  // A member with live traffic: a node always has some, and pnet's cipher pool fails
  // when a live connection's cipher runs after the flood has grown the pool.
  const member = await bareHost('ours', keyText, [])
  try {
    const ready = await withTimeout(new Promise<{ port: number, peerId: string }>(resolve => { child.once('message', resolve) }), 30_000)
    if (ready === undefined) throw new Error(`${LABEL[kind]} target did not start: ${stderr}`)
    const addr = multiaddr(`/ip4/127.0.0.1/tcp/${ready.port}/p2p/${ready.peerId}`)
    const pid = child.pid ?? 0
    await member.services.ping.ping(addr, { signal: AbortSignal.timeout(10_000) })
    await sleep(2_000)
    const rssBefore = procStatusBytes(pid, 'VmRSS')
    let rssPeak = rssBefore
    const sampler = setInterval(() => {
      try {
        rssPeak = Math.max(rssPeak, procStatusBytes(pid, 'VmRSS'))
      } catch { /* the target just died; 'exit' records it */ }
    }, 100)
    const pings: TargetReport['pings'] = { ok: 0, failed: 0, rttMs: [] }
    const pinging = (async () => {
      while (state.flooding) {
        try {
          pings.rttMs.push(await member.services.ping.ping(addr, { signal: AbortSignal.timeout(5_000) }))
          pings.ok++
        } catch {
          pings.failed++
        }
        await sleep(100)
      }
    })()
    flood = startFlood({ port: ready.port, connections: opts.connections, silent: opts.silent, silentAfter: Math.floor(opts.connections * 0.8), concurrency: opts.concurrency, signal: stop.signal })
    const result = await flood.done
    // Handshake timeouts expire and the collector catches up before "after" is read.
    for (let waited = 0; waited < opts.settleMs && !state.exited; waited += 500) await sleep(500)
    state.flooding = false
    await pinging
    clearInterval(sampler)
    const rssAfter = state.exited ? Number.NaN : procStatusBytes(pid, 'VmRSS')
    if (!state.exited) rssPeak = Math.max(rssPeak, procStatusBytes(pid, 'VmHWM'))
    const survived = !state.exited && await pingable(keyText, addr.toString())
    const crash = state.exited ? /^.*(Error|Maximum).*$/m.exec(stderr)?.[0] ?? stderr.trim().split('\n').at(-1) : undefined
    return { kind, flood: result, rssBefore, rssPeak, rssAfter, pings, ...(diedAt === undefined ? {} : { diedAt }), ...(crash === undefined ? {} : { crash }), survived }
  } finally {
    state.flooding = false
    await member.stop()
    if (!state.exited) child.kill('SIGKILL')
  }
}

/** A new host with our protector (wire-compatible with both) dials the target and pings it. */
async function pingable (keyText: string, addr: string): Promise<boolean> {
  const dialer = await bareHost('ours', keyText, [])
  try {
    await dialer.services.ping.ping(multiaddr(addr), { signal: AbortSignal.timeout(15_000) })
    return true
  } catch {
    return false
  } finally {
    await dialer.stop()
  }
}

// ---- the bench ----

export async function run (args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      connections: { type: 'string', default: '20000' },
      silent: { type: 'string', default: '2000' },
      concurrency: { type: 'string', default: '256' },
      settle: { type: 'string', default: '15' },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) {
    process.stdout.write([
      'options: --connections N  nonce-only connections per target (20000; at most 65536 distinct sources)',
      '         --silent N       connections that send nothing, opened at once at 80% of the flood (2000)',
      '         --concurrency N  nonce-only sockets in flight (256)',
      '         --settle S       seconds after the flood before "RSS after" is read (15)'
    ].join('\n') + '\n')
    return
  }
  const opts: Options = {
    connections: whole(values.connections, '--connections'),
    silent: whole(values.silent, '--silent'),
    concurrency: whole(values.concurrency, '--concurrency'),
    settleMs: whole(values.settle, '--settle') * 1000
  }
  const keyText = generateSwarmKey()
  const reports: TargetReport[] = []
  for (const kind of KINDS) {
    process.stdout.write(`flooding ${LABEL[kind]} ...\n`)
    reports.push(await floodTarget(kind, keyText, opts))
  }
  process.stdout.write([
    '',
    `${opts.connections} nonce-only connections (one source address each, ${opts.concurrency} in flight) + ${opts.silent} silent ones at 80% per target;`,
    `node default limits; a connected member pings every 100 ms; RSS "after" ${opts.settleMs / 1000} s after the flood.`,
    'RSS includes V8 keeping the heap pages a flood grew it into (a high-water mark, not per connection; see psk-flood.test.ts).',
    '', ''
  ].join('\n'))
  process.stdout.write(formatTable(
    ['target', 'attempted', 'reached PSK', 'refused', 'failed', 'silent held', 'conn/s', 'pings ok/failed', 'ping p50/max', 'RSS before', 'peak', 'after', 'survived'],
    reports.map(r => [
      LABEL[r.kind], String(r.flood.attempted), String(r.flood.answered), String(r.flood.dropped), String(r.flood.failed),
      `${r.flood.silent.answered}/${r.flood.silent.attempted}`, fmtOps(acceptRate(r)), `${r.pings.ok}/${r.pings.failed}`, pingSpread(r.pings.rttMs),
      fmtMiB(r.rssBefore), fmtMiB(r.rssPeak), Number.isNaN(r.rssAfter) ? '-' : fmtMiB(r.rssAfter),
      r.diedAt === undefined ? (r.survived ? 'yes' : 'alive, no ping') : `died at ${r.diedAt}`
    ])
  ) + '\n')
  for (const r of reports) if (r.crash !== undefined) process.stdout.write(`${LABEL[r.kind]} crash: ${r.crash}\n`)
  const [ours, pnet] = reports as [TargetReport, TargetReport]
  const ratio = (a: number, b: number): string => Number.isFinite(a / b) ? `${(a / b).toFixed(2)}×` : '-'
  const dead = reports.filter(r => r.diedAt !== undefined).map(r => `${LABEL[r.kind]} died at ${String(r.diedAt)}`).join(', ')
  // RSS growth compares only like with like: a target that died saw fewer connections.
  const rss = (f: (r: TargetReport) => number): string => dead === '' ? ratio(f(ours), f(pnet)) : `- (${dead})`
  process.stdout.write([
    '',
    `ours/pnet accept rate:       ${ratio(acceptRate(ours), acceptRate(pnet))}${dead === '' ? '' : ' (a dead target\'s rate is up to its death)'}`,
    `ours/pnet peak RSS growth:   ${rss(r => r.rssPeak - r.rssBefore)}`,
    `ours/pnet RSS after-before:  ${rss(r => r.rssAfter - r.rssBefore)}`
  ].join('\n') + '\n')
}

/** libp2p's ping reports whole milliseconds. */
const pingSpread = (rtts: number[]): string => rtts.length === 0 ? '-' : `${median(rtts)}/${Math.max(...rtts)} ms`

/** Nonce-only connections the flooder finished per second (until the end, or the target's death). */
const acceptRate = (r: TargetReport): number => r.flood.attempted / (r.flood.nonceOnlyMs / 1000)

function whole (text: string, flag: string): number {
  const n = Number(text)
  if (!Number.isInteger(n) || n < 0) throw new Error(`${flag} must be a whole number, got ${text}`)
  return n
}

// Child-process entry: one target; reports its port over IPC, lives until the parent goes.
if (import.meta.main) {
  const kind = process.argv[2] === 'pnet' ? 'pnet' : 'ours'
  bareHost(kind, process.env[KEY_ENV] ?? '', ['/ip4/127.0.0.1/tcp/0']).then(host => {
    const port = Number(host.getMultiaddrs()[0]?.getComponents().find(c => c.name === 'tcp')?.value)
    process.send?.({ port, peerId: host.peerId.toString() })
    process.on('disconnect', () => { process.exit(0) })
  }, (err: unknown) => {
    process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
    process.exit(1)
  })
}
