// `npm run chaos -- <scenario> [--nodes N] [--seed S] [--hold MS]`: one scenario on real
// nodes in network namespaces (root), printing its summary. `npm run chaos -- list`.
import { parseArgs } from 'node:util'
import { NetnsTarget } from './netns/target.ts'
import { passed, runScenario, scenario, SCENARIOS, summarize } from './scenarios/index.ts'

const USAGE = 'usage: npm run chaos -- <scenario> [--nodes N] [--seed S] [--hold MS] [--verbose] | list'

async function main (): Promise<number> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      nodes: { type: 'string', default: '5' },
      seed: { type: 'string' },
      hold: { type: 'string', default: '8000' },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  const name = positionals[0]
  if (values.help || name === undefined) {
    console.log(USAGE)
    return name === undefined && !values.help ? 2 : 0
  }
  if (name === 'list') {
    for (const s of SCENARIOS) console.log(`${s.name.padEnd(14)} ${s.description} (${s.minNodes}+ nodes)`)
    return 0
  }
  const sc = scenario(name)
  if (sc === undefined) {
    console.error(`no scenario "${name}"; one of: ${SCENARIOS.map(s => s.name).join(', ')}`)
    return 2
  }
  const nodes = Number(values.nodes)
  const seed = values.seed === undefined ? Math.floor(Math.random() * 2 ** 31) : Number(values.seed)
  const holdMs = Number(values.hold)
  if (!Number.isInteger(nodes) || nodes < sc.minNodes || !Number.isInteger(seed) || !(holdMs >= 0)) {
    console.error(`${USAGE}\n(${sc.name} needs --nodes ≥ ${sc.minNodes}; --seed and --hold are integers)`)
    return 2
  }
  console.log(`${sc.name}: ${sc.description}; starting ${nodes} nodes in network namespaces (seed ${seed})`)
  const target = await NetnsTarget.start({ nodes })
  try {
    const result = await runScenario(target, sc, {
      seed,
      holdMs,
      log: line => { if (values.verbose || line.startsWith('probe:')) console.log(line) }
    })
    console.log(summarize(result))
    return passed(result) ? 0 : 1
  } finally {
    await target.close()
  }
}

main().then(code => { process.exitCode = code }, (err: unknown) => {
  console.error(err instanceof Error ? `${err.name}: ${err.message}` : String(err))
  process.exitCode = 1
})
