// Where things live inside a node pod. The node config and the StatefulSet's mounts
// both come from here, so they cannot disagree.

export const CONFIG_DIR = '/etc/dawn/config'
export const CONFIG_FILE_NAME = 'config.json'
export const CONFIG_FILE = `${CONFIG_DIR}/${CONFIG_FILE_NAME}`

export const PSK_DIR = '/etc/dawn/psk'
export const SWARM_KEY_FILE_NAME = 'swarm.key'
export const SWARM_KEY_FILE = `${PSK_DIR}/${SWARM_KEY_FILE_NAME}`

export const CA_DIR = '/etc/dawn/ca'
export const CA_PUBLIC_KEY_FILE_NAME = 'ca.pub'
export const CA_PUBLIC_KEY_FILE = `${CA_DIR}/${CA_PUBLIC_KEY_FILE_NAME}`

/** This pod's own key and certificate only (a memory-backed volume); see identity-init.ts. */
export const IDENTITY_DIR = '/etc/dawn/identity'
/** The pool's identity Secret, every ordinal's key; mounted only by the identity init container. */
export const POOL_IDENTITY_DIR = '/etc/dawn/pool-identity'
export const AGENTS_DIR = '/etc/dawn/agents'
export const DATA_DIR = '/var/lib/dawn'
export const TMP_DIR = '/tmp'
export const KUBO_REPO_DIR = '/data/ipfs'

/** Secret keys of a pool's identity Secret. */
export const identityKeyName = (ordinal: number | string): string => `${ordinal}.key`
export const identityCertName = (ordinal: number | string): string => `${ordinal}.cert.json`

/**
 * The pod's own key and certificate, copied out of the pool's Secret by the identity
 * init container under fixed names, so the config file names the real files.
 */
export const NODE_KEY_FILE = `${IDENTITY_DIR}/node.key`
export const NODE_CERT_FILE = `${IDENTITY_DIR}/node.cert.json`

/** Headers of a remote agent, from the pool's agent-headers Secret (key `<agent>.headers.json`). */
export const agentHeadersKey = (agentName: string): string => `${agentName}.headers.json`
export const agentHeadersFile = (agentName: string): string => `${AGENTS_DIR}/${agentHeadersKey(agentName)}`
