// HTTP headers of remote agents reach the nodes through one Secret per pool, mounted
// whole at /etc/dawn/agents (key `<agent>.headers.json`). A per-agent volume would put
// every agent into the pod template, and adding an agent must never restart a pod.
import type { V1Secret } from '@kubernetes/client-node'
import { KINDS } from '../api/group.ts'
import type { DawnNode } from '../api/dawn-node.ts'
import { nameOf, namespaceOf, ownerReference, poolLabels } from './labels.ts'
import { agentHeadersSecretName } from './names.ts'
import { agentHeadersKey } from './paths.ts'
import { encodeSecretData } from './secret-data.ts'

/** `headers` maps an agent's metadata.name to the JSON text of its headers object. */
export function renderAgentHeadersSecret (pool: DawnNode, headers: Readonly<Record<string, string>>): V1Secret {
  const texts: Record<string, string> = {}
  for (const agent of Object.keys(headers)) texts[agentHeadersKey(agent)] = headers[agent] ?? ''
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: {
      name: agentHeadersSecretName(nameOf(pool, KINDS.node)),
      namespace: namespaceOf(pool, KINDS.node),
      labels: poolLabels(pool),
      ownerReferences: [ownerReference(KINDS.node, pool)]
    },
    type: 'Opaque',
    data: encodeSecretData(texts)
  }
}

/** Why a headers Secret value is unusable, or undefined when it is a JSON object of strings. */
export function headersJsonProblem (text: string): string | undefined {
  let value: unknown
  try {
    value = JSON.parse(text)
  } catch {
    return 'is not valid JSON'
  }
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return 'must be a JSON object of header names to values'
  const bad = Object.entries(value).filter(([, v]) => typeof v !== 'string').map(([k]) => k)
  return bad.length === 0 ? undefined : `header value(s) of ${bad.map(k => JSON.stringify(k)).join(', ')} must be strings`
}
