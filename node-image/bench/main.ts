/**
 * Bench dispatcher: `npm run bench -- [name...] [options]`.
 *   npm run bench                  runs every bench
 *   npm run bench -- registry      runs one (options after the name go to it)
 *   npm run bench -- --help        lists the benches
 * A bench is a module exporting `run(args: string[]): Promise<void>`; add one with a line in BENCHES.
 */
import { environmentHeader } from './util.ts'

export interface Bench {
  run: (args: string[]) => Promise<void>
}

interface BenchEntry {
  about: string
  load: () => Promise<Bench>
}

const BENCHES: Record<string, BenchEntry> = {
  operator: { about: 'dawn-operator on a fresh control plane: single-change latency, 200-pool burst, peak RSS', load: async () => await import('../../operator/bench/operator-bench.ts') },
  toolcall: { about: 'MCP tool call: direct Streamable HTTP vs mesh 1 hop, 2 hops via relay, encryption on/off (p50/p99, calls/s, ratios)', load: async () => await import('./toolcall.ts') },
  'toolcall-revisions': { about: 'the mesh tool call through this tree and another revision (or bundle), alternating rounds: p50/p90, entry and host CPU per call, ratios', load: async () => await import('./toolcall-revisions.ts') },
  content: { about: 'content layer: add/get MiB/s embedded store vs Kubo, mesh fetch vs local read, and a cold peer read Dawn vs Kubo bitswap (interleaved, ratios, CPU ms/MiB)', load: async () => await import('./content.ts') },
  'psk-cipher': { about: 'private-network XSalsa20 cipher alone: MiB/s before (@noble/ciphers) vs after (WebAssembly SIMD) at 64 B–256 KiB writes, ratios', load: async () => await import('./psk-cipher.ts') },
  flood: { about: 'pre-handshake connection flood (nonce-only + silent sockets): PskProtector vs @libp2p/pnet, accept rate, RSS, survival', load: async () => await import('./flood.ts') },
  ui: { about: 'the chat page in Chromium with 200 agents and 1,000 room messages: frame times and long tasks while scrolling and typing, remote message → shown latency', load: async () => await import('./ui.ts') },
  convergence: { about: 'registry convergence with one process per node at 25/50/100/200 nodes (as ./dawn mesh): p50/p99, peers, equal digests, load', load: async () => await import('./convergence.ts') },
  'idle-revisions': { about: 'an idle local mesh per build, this tree and another revision (or bundle), alternating: CPU and write calls per node per second, ratios', load: async () => await import('./idle-revisions.ts') },
  footprint: { about: 'idle node memory in one local mesh: RSS, PSS, RssAnon per node, launch variants interleaved (before/after, ratios)', load: async () => await import('./footprint.ts') },
  registry: { about: 'registry convergence at 10/25/50 in-process nodes; envelope and Ed25519 sign/verify throughput', load: async () => await import('./registry.ts') },
  sim: { about: 'scale model, no sockets, deterministic: gossip, DHT lookups and post-partition anti-entropy at 100/1,000/10,000 nodes; prediction for the registry bench', load: async () => await import('./sim/sim-bench.ts') }
}

function usage (): string {
  const names = Object.keys(BENCHES)
  const width = Math.max(...names.map(n => n.length))
  return [
    'usage: npm run bench -- [name...] [options]',
    '',
    'With no name every bench runs. Options after the names go to each bench;',
    '`npm run bench -- <name> --help` lists a bench\'s options.',
    '',
    'benches:',
    ...names.map(n => `  ${n.padEnd(width)}  ${BENCHES[n]?.about ?? ''}`)
  ].join('\n')
}

async function main (argv: string[]): Promise<number> {
  const names: string[] = []
  let i = 0
  for (; i < argv.length && !(argv[i] ?? '').startsWith('-'); i++) names.push(argv[i] as string)
  const rest = argv.slice(i)
  if (names.length === 0 && (rest.includes('--help') || rest.includes('-h'))) {
    process.stdout.write(usage() + '\n')
    return 0
  }
  const unknown = names.filter(n => !Object.hasOwn(BENCHES, n))
  if (unknown.length > 0) {
    process.stderr.write(`unknown bench: ${unknown.join(', ')}\n\n${usage()}\n`)
    return 2
  }
  const selected = names.length === 0 ? Object.keys(BENCHES) : names
  if (!rest.includes('--help') && !rest.includes('-h')) process.stdout.write(environmentHeader() + '\n')
  for (const name of selected) {
    const entry = BENCHES[name] as BenchEntry
    process.stdout.write(`\n=== bench: ${name} ===\n`)
    await (await entry.load()).run(rest)
  }
  return 0
}

main(process.argv.slice(2)).then(code => {
  // Benches close what they start; exiting explicitly still guarantees the run ends.
  process.exit(code)
}, (err: unknown) => {
  process.stderr.write(`bench: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`)
  process.exit(1)
})
