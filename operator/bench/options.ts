// Options of `npm run bench -- operator`.
import { parseArgs } from 'node:util'

export const USAGE = `usage: npm run bench -- operator [options]

  --operators LIST       operators to run side by side, comma-separated (default source,shipped):
                           shipped  operator/bin/dawn-operator: the esbuild bundle and V8 flags the image runs
                           source   operator/src/cli/main.ts through type stripping, semi-space 4 (as shipped before the bundle)
                           DIR      DIR/operator/bin/dawn-operator of another checkout (e.g. the previous commit)
                           shipped:FLAGS, source:FLAGS  the same code with these node/V8 flags instead of its own
                                    (e.g. shipped:--max-semi-space-size=4 --max-old-space-size=192)
  --idle S               seconds every operator idles after start-up before any work; its RSS then is the idle figure (default 10)

  --changes N            part 1: single spec changes timed (default 50)
  --gap MS               part 1: pause after each change so the operator is idle again (default 250)
  --change-timeout S     part 1: a change not in the StatefulSet after S seconds is a timeout (default 15)
  --pools N              part 2: DawnNodes created in one burst (default 200)
  --concurrency N        part 2: creates in flight (default 20)
  --pools-timeout S      part 2: give up waiting for the pools after S seconds (default 300)
  --settle-timeout S     after part 2: wait at most S seconds for the operator to go quiet (default 60)
  --budget S             wall-clock budget of the whole bench, start-up included (default 1200)
  --only WHAT            part1 | part2 (default both)
  --cpu-prof DIR         run the operator with --cpu-prof into DIR (written when it exits)
  --operator-flags=F     node flags for every operator instead of their own, space-separated (e.g. --operator-flags=--max-old-space-size=128)
  --log-level LEVEL      operator log level (default info)
  --keep                 keep the temp dir (control-plane logs, operator.log) after the run
  --verbose              print every change of part 1 and progress of part 2
  --help`

export interface Options {
  operators: string[]
  idleMs: number
  changes: number
  gapMs: number
  changeTimeoutMs: number
  pools: number
  concurrency: number
  poolsTimeoutMs: number
  settleTimeoutMs: number
  budgetMs: number
  only: 'part1' | 'part2' | undefined
  cpuProfDir: string | undefined
  operatorFlags: string[]
  logLevel: string
  keep: boolean
  verbose: boolean
}

export function parseOptions (args: string[]): Options | undefined {
  const { values } = parseArgs({
    args,
    allowPositionals: false,
    options: {
      operators: { type: 'string', default: 'source,shipped' },
      idle: { type: 'string', default: '10' },
      changes: { type: 'string', default: '50' },
      gap: { type: 'string', default: '250' },
      'change-timeout': { type: 'string', default: '15' },
      pools: { type: 'string', default: '200' },
      concurrency: { type: 'string', default: '20' },
      'pools-timeout': { type: 'string', default: '300' },
      'settle-timeout': { type: 'string', default: '60' },
      budget: { type: 'string', default: '1200' },
      only: { type: 'string' },
      'cpu-prof': { type: 'string' },
      'operator-flags': { type: 'string', default: '' },
      'log-level': { type: 'string', default: 'info' },
      keep: { type: 'boolean', default: false },
      verbose: { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false }
    }
  })
  if (values.help) { process.stdout.write(USAGE + '\n'); return undefined }
  const int = (name: string, v: string, min: number): number => {
    const n = Number(v)
    if (!Number.isInteger(n) || n < min) throw new Error(`--${name} must be a whole number >= ${min}, got "${v}"`)
    return n
  }
  const only = values.only
  if (only !== undefined && only !== 'part1' && only !== 'part2') throw new Error(`--only must be part1 or part2, got "${only}"`)
  const operators = values.operators.split(',').map(x => x.trim()).filter(x => x !== '')
  if (operators.length === 0) throw new Error('--operators needs at least one operator')
  return {
    operators,
    idleMs: int('idle', values.idle, 0) * 1000,
    changes: int('changes', values.changes, 1),
    gapMs: int('gap', values.gap, 0),
    changeTimeoutMs: int('change-timeout', values['change-timeout'], 1) * 1000,
    pools: int('pools', values.pools, 1),
    concurrency: int('concurrency', values.concurrency, 1),
    poolsTimeoutMs: int('pools-timeout', values['pools-timeout'], 1) * 1000,
    settleTimeoutMs: int('settle-timeout', values['settle-timeout'], 0) * 1000,
    budgetMs: int('budget', values.budget, 60) * 1000,
    only,
    cpuProfDir: values['cpu-prof'],
    operatorFlags: values['operator-flags'].split(' ').filter(s => s !== ''),
    logLevel: values['log-level'],
    keep: values.keep,
    verbose: values.verbose
  }
}
