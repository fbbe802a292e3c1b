import { readFile, writeFile } from 'node:fs/promises'
import type { NodeFiles } from '../../src/local-mesh/network-dir.ts'
import { NodeProcess } from '../../src/local-mesh/node-process.ts'
import { freePort } from '../../src/local-mesh/free-port.ts'
import type { NetNs } from '../../../test/support/netns.ts'

/**
 * Turns a generated node into one that only a relay can reach: it runs in `ns`,
 * listens on nothing but `/p2p-circuit`, bootstraps only from `relayAddr`, and
 * serves its HTTP API on the namespace's address. Returns its (unstarted) process, which runs
 * `entry` (default the TypeScript CLI).
 */
export async function nodeBehindRelay (node: NodeFiles, ns: NetNs, relayAddr: string, entry?: string): Promise<NodeProcess> {
  const httpPort = await freePort()
  const config = JSON.parse(await readFile(node.configFile, 'utf8')) as Record<string, unknown>
  config.p2p = { listen: ['/p2p-circuit'], bootstrap: [relayAddr] }
  config.http = { host: ns.nsAddr, port: httpPort }
  await writeFile(node.configFile, JSON.stringify(config))
  return new NodeProcess({ configFile: node.configFile, httpUrl: `http://${ns.nsAddr}:${httpPort}`, wrapper: ns.exec, ...(entry === undefined ? {} : { entry }) })
}
