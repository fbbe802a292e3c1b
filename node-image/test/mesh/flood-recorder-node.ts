/**
 * A real dawn-node that also writes down every frame it relays on the flood
 * route: the recording hook is injected through the node's components
 * (`observeFlood`), so the frames are exactly the bytes its FloodRelay passes
 * on and back. One JSON line per frame to the file in DAWN_FLOOD_RECORD.
 *
 * Started in place of the CLI (NodeProcess with this script in its wrapper), so
 * it takes the CLI's arguments and reads only `--config FILE` from them.
 */
import { appendFileSync } from 'node:fs'
import { loadConfig } from '../../src/config/load.ts'
import { DawnNode } from '../../src/node/dawn-node.ts'
import { createJsonLogger } from '../../src/logging/json-logger.ts'
import type { RelayedFrame } from '../../src/routing/flood-relay.ts'

export interface RecordedFrame {
  direction: RelayedFrame['direction']
  from: string
  to: string
  /** base64 */
  bytes: string
}

const configFile = process.argv[process.argv.indexOf('--config') + 1]
const record = process.env.DAWN_FLOOD_RECORD
if (configFile === undefined || record === undefined) {
  process.stderr.write('usage: DAWN_FLOOD_RECORD=FILE flood-recorder-node.ts ... --config FILE\n')
  process.exit(2)
}

const { config } = await loadConfig({ file: configFile })
const log = createJsonLogger({ level: config.log.level, bindings: { component: 'dawn-node', recorder: true } })
const node = await DawnNode.create({
  config,
  log,
  configFile,
  reloadConfig: async () => (await loadConfig({ file: configFile })).config,
  observeFlood: frame => {
    const line: RecordedFrame = { direction: frame.direction, from: frame.from, to: frame.to, bytes: Buffer.from(frame.bytes).toString('base64') }
    appendFileSync(record, JSON.stringify(line) + '\n')
  }
})
await node.start()

const parent = process.ppid
await new Promise<void>(resolve => {
  process.once('SIGTERM', () => { resolve() })
  process.once('SIGINT', () => { resolve() })
  // The test process that started us died: leave no node behind.
  setInterval(() => { if (process.ppid !== parent) resolve() }, 1000).unref()
})
setTimeout(() => { process.exit(1) }, 10_000).unref()
await node.stop()
process.exit(0)
