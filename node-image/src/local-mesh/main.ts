import { parseArgs } from 'node:util'
import { mkdtemp } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join, resolve } from 'node:path'
import { createNetworkDir, readNetworkDir } from './network-dir.ts'
import { NodeProcess, nodeMallocEnv } from './node-process.ts'
import { demoAgents } from './demo-agents.ts'
import { ensureNodeBundle } from './node-bundle.ts'
import { bootstrapNodesFor, loopbackLimits, loopbackStartWave } from './mesh-wiring.ts'
import { startInWaves } from './start-waves.ts'

const USAGE = 'usage: npm run mesh -- [--nodes N] [--dir DIR] [--network NAME] [--source]\n  --source  run the TypeScript sources instead of the node bundle (rebuilt when stale)'
/** Each idle node takes ~150 MiB of private memory (bench `footprint`); past this, check yours. */
const MAX_NODES = 200

async function main (): Promise<void> {
  const { values } = parseArgs({ options: { nodes: { type: 'string', default: '5' }, dir: { type: 'string' }, network: { type: 'string', default: 'local' }, help: { type: 'boolean' }, source: { type: 'boolean' } } })
  if (values.help === true) { process.stdout.write(USAGE + '\n'); return }
  const count = Number(values.nodes)
  if (!Number.isInteger(count) || count < 1 || count > MAX_NODES) throw new Error(`--nodes must be an integer from 1 to ${MAX_NODES}, got "${values.nodes}"\n${USAGE}`)

  const dir = values.dir === undefined ? await mkdtemp(join(tmpdir(), 'dawn-mesh-')) : resolve(values.dir)
  let net = await readNetworkDir(dir)
  if (net === undefined) {
    // node-1 also serves circuit relay v2, so a node behind NAT (or a namespace) can join through it.
    const relayFirst = (i: number, config: Record<string, unknown>): void => {
      if (i === 0) (config.node as Record<string, unknown>).relayServer = true
      loopbackLimits(count, config)
    }
    net = await createNetworkDir({ dir, nodes: count, network: values.network, agents: demoAgents, bootstrapNodes: bootstrapNodesFor(count), patch: relayFirst })
    process.stdout.write(`Created network "${net.network}" in ${dir}\n`)
  } else {
    process.stdout.write(`Reusing network "${net.network}" in ${dir} (${net.nodes.length} nodes; --nodes is ignored)\n`)
  }

  const entry = values.source === true ? undefined : await ensureNodeBundle(m => { process.stdout.write(`${m}\n`) })
  const malloc = nodeMallocEnv()
  process.stdout.write(malloc.LD_PRELOAD !== undefined
    ? `Nodes allocate with jemalloc (${malloc.LD_PRELOAD}); DAWN_JEMALLOC=off for glibc\n`
    : 'jemalloc not found: nodes use glibc malloc, about 35 MiB more each (Debian: apt-get install libjemalloc2)\n')
  const procs = net.nodes.map(n => new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, ...(entry === undefined ? {} : { entry }) }))
  let stopping = false
  const shutdown = async (code: number): Promise<never> => {
    if (!stopping) {
      stopping = true
      process.stdout.write('\nStopping nodes...\n')
      await Promise.all(procs.map(async p => { await p.stop() }))
      process.stdout.write(`Stopped. The network stays in ${dir}; reuse it with --dir ${dir}\n`)
    }
    process.exit(code)
  }
  process.on('SIGINT', () => { void shutdown(0) })
  process.on('SIGTERM', () => { void shutdown(0) })

  // The first node is ready alone; the rest once they reach it.
  // Start-up is CPU-bound: a hundred nodes on two cores take minutes, not seconds.
  const wave = loopbackStartWave(procs.length)
  if (wave < procs.length) process.stdout.write(`Starting ${procs.length} nodes ${wave} at a time...\n`)
  await startInWaves(procs, { wave, waveTimeoutMs: 120_000, onWave: n => { if (wave < procs.length) process.stdout.write(`  ${n} started\n`) } })
  await Promise.all(procs.map(async p => { await p.waitReady(60_000 + procs.length * 3_000) })).catch(async (err: unknown) => {
    process.stderr.write(`${(err as Error).message}\n`)
    await shutdown(1)
  })

  const first = net.nodes[0]
  const last = net.nodes.at(-1)
  process.stdout.write(`\nDawn local mesh: ${net.nodes.length} nodes, network "${net.network}"\n\n`)
  process.stdout.write(`  Chat: open ${first?.httpUrl ?? ''}/ in a browser (each node's page shows every agent in the mesh)\n\n`)
  for (const n of net.nodes) process.stdout.write(`  ${n.name.padEnd(8)} ${n.httpUrl.padEnd(24)} ${n.peerId}\n`)
  process.stdout.write([
    '',
    'Or try:',
    `  curl ${first?.httpUrl ?? ''}/api/v1/agents`,
    `  npm run node -- call echo echo --args '{"text":"hi"}' --url ${first?.httpUrl ?? ''}     (any node's echo)`,
    `  npm run node -- call ${last?.peerId ?? ''}:echo echo --args '{"text":"hi"}' --url ${first?.httpUrl ?? ''}`,
    `  npm run node -- content add README.md --url ${first?.httpUrl ?? ''}     (prints a CID)`,
    `  npm run node -- content get <cid> --url ${last?.httpUrl ?? ''}         (read it on another node)`,
    '',
    `Every node serves the whole mesh's tools over MCP (Streamable HTTP) at ${first?.httpUrl ?? ''}/mcp,`,
    `one name per agent (<agentId>.<tool>); one agent under its own names at ${first?.httpUrl ?? ''}/mcp/agents/<agentId>`,
    '',
    'Ctrl-C stops every node.',
    ''
  ].join('\n'))

  const watchdog = setInterval(() => {
    for (const [i, p] of procs.entries()) {
      if (!p.running && !stopping) process.stderr.write(`${net.nodes[i]?.name ?? '?'} exited (code ${p.exitCode ?? '?'}):\n${p.logs().split('\n').slice(-10).join('\n')}\n`)
    }
  }, 2000)
  watchdog.unref()
  await new Promise(() => {})
}

main().catch((err: unknown) => {
  process.stderr.write(`mesh: ${(err as Error).message}\n`)
  process.exit(1)
})
