import { readFile, writeFile, copyFile } from 'node:fs/promises'
import { join } from 'node:path'
import { createNetworkDir, type NetworkFiles, type NodeFiles } from '../../src/local-mesh/network-dir.ts'
import { encodeCertificate, issueCertificate } from '../../src/identity/membership.ts'
import { tempDir } from './harness.ts'

/**
 * A node from another network dir, bootstrapping into `net`. `share` says which of
 * the mesh's credentials it gets: the PSK, the CA (a certificate signed by it), or both.
 */
export async function outsiderNode (net: NetworkFiles, share: { psk: boolean, ca: boolean }): Promise<NodeFiles> {
  const other = await createNetworkDir({ dir: await tempDir('dawn-outsider-'), nodes: 1, network: net.network })
  const node = other.nodes[0]
  if (node === undefined) throw new Error('no outsider node')
  if (share.psk) await copyFile(join(net.dir, 'swarm.key'), join(other.dir, 'swarm.key'))
  if (share.ca) {
    await copyFile(join(net.dir, 'ca.pub'), join(other.dir, 'ca.pub'))
    const cert = issueCertificate({ caPrivateKeyPem: await readFile(net.caKeyFile, 'utf8'), network: net.network, peerId: node.peerId, validForSeconds: 3600 })
    await writeFile(join(node.dir, 'node.cert.json'), encodeCertificate(cert))
  }
  const config = JSON.parse(await readFile(node.configFile, 'utf8')) as { p2p: { bootstrap: string[] } }
  config.p2p.bootstrap = net.nodes.slice(0, 2).map(n => n.p2pAddr)
  await writeFile(node.configFile, JSON.stringify(config, null, 2))
  return node
}
