// The pod-template checksum: a hash of exactly what a running node only reads at start.
// Left out on purpose:
//   - agents: the node reloads them live; adding or removing one must not restart pods;
//   - mcp.naming, mcp.toolFilters and mcp.catalog: reloaded live too (every DawnAgent's spec.tools is in there);
//   - p2p.bootstrap: only read at start to find the mesh, which running nodes have already
//     joined (gossip and the DHT keep them connected). Including it would restart every
//     pod of every pool whenever a bootstrap pool scales;
//   - the identity Secret's bytes: scaling up adds keys to it, which must not restart the
//     pods that exist. Its certificate epoch is included instead, so renewing (or re-keying,
//     which re-issues) restarts pods to load the new certificates.
import type { NodeConfig } from '@dawn/node-image/config'
import { canonicalJson, sha256Hex } from './canonical-json.ts'

export interface ChecksumInput {
  config: NodeConfig
  /** The swarm.key text the pods mount. */
  swarmKey: string
  /** The CA public key PEM the pods mount. */
  caPublicKeyPem: string
  /** IdentityPlan.certificateEpoch. */
  certificateEpoch: number
}

export function configChecksum (input: ChecksumInput): string {
  const { agents: _agents, ...restartOnly } = input.config
  const { bootstrap: _bootstrap, ...p2p } = restartOnly.p2p
  const { naming: _naming, toolFilters: _toolFilters, catalog: _catalog, ...mcp } = restartOnly.mcp
  return sha256Hex(canonicalJson({
    config: { ...restartOnly, p2p, mcp },
    swarmKey: sha256Hex(input.swarmKey),
    caPublicKey: sha256Hex(input.caPublicKeyPem),
    certificateEpoch: input.certificateEpoch
  }))
}
