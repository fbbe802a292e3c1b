import type { V1StatefulSet } from '@kubernetes/client-node'
import { parseSwarmKey } from '@dawn/node-image/identity'
import type { DawnAgent, DawnNetwork, DawnNode } from '../api/index.ts'
import { API_VERSION, GROUP, KINDS, dawnNodeValidator } from '../api/index.ts'
import { Controller, ownerKeys, specChanged, watch } from '../runtime/controller.ts'
import type { OperatorMetrics } from '../runtime/metrics.ts'
import type { WorkResult } from '../runtime/work-queue.ts'
import { isConflict } from '../runtime/errors.ts'
import {
  CONDITION_TYPES, caSecretRef, configChecksum, headersJsonProblem, identitySecretName, peerStatuses,
  planIdentities, podDisruptionBudgetName, poolSelectorString, pvcResizes, renderAgentHeadersSecret, renderClientService,
  renderHeadlessService, renderIdentitySecret, renderNodeConfig, renderPodDisruptionBudget, renderPoolConfigMap, renderStatefulSet,
  resolvePlacement, secretText, secretTexts, setConditions, statefulSetName, swarmKeySecretRef, volumeClaimTemplatesChanged,
  publicKeyPemOf, type ConditionUpdate
} from '../render/index.ts'
import type { ControllerComponents } from './context.ts'
import { refuseInvalidSpec } from './invalid-spec.ts'
import { agentsOf, networkNameOf, networkOf, poolKeysOfNetwork, poolsOf, reportedPeers } from './pools.ts'
import { readNetworkSecrets, readSecret } from './secrets.ts'
import { RESOURCES } from './resources.ts'

const OWNER = { group: GROUP, kind: KINDS.node }
// Certificates are checked for renewal at least this often even when nothing changes.
const RECHECK_MS = 60 * 60_000

/**
 * DawnNode: one pool = identity Secret, config ConfigMap, headless and client
 * Services, StatefulSet and PDB. Reconciles from the caches plus fresh reads of
 * key material, then server-side applies everything it renders.
 */
export function createNodeController (c: ControllerComponents, opts: { metrics?: OperatorMetrics } = {}): Controller<DawnNode> {
  const owned = ownerKeys(OWNER, { controllerOnly: true })
  const fanOut = (obj: { metadata?: { namespace?: string } , spec?: { networkRef?: { name?: string } } }): string[] =>
    poolKeysOfNetwork(c.caches, obj.metadata?.namespace, obj.spec?.networkRef?.name)
  return new Controller<DawnNode>({
    name: KINDS.node,
    primary: c.caches.nodes,
    // Our own status writes must not trigger another full reconcile.
    primaryFilter: specChanged,
    watches: [
      // Drift: any change to what we own brings the owner back.
      watch(c.caches.statefulSets, owned),
      watch(c.caches.configMaps, owned),
      watch(c.caches.services, owned),
      watch(c.caches.pdbs, owned),
      watch(c.caches.secrets, owned),
      // A network's settings and Secrets shape every pool in it.
      watch(c.caches.networks, n => poolKeysOfNetwork(c.caches, n.metadata.namespace, n.metadata.name), ev => ev.type !== 'update' || ev.old.metadata.generation !== ev.object.metadata.generation),
      // Peers of other pools go into the bootstrap list; agents into the config.
      watch(c.caches.nodes, fanOut, ev => ev.type !== 'update' || JSON.stringify(ev.old.status?.peers) !== JSON.stringify(ev.object.status?.peers) || ev.old.spec.roles.bootstrap !== ev.object.spec.roles.bootstrap),
      watch(c.caches.agents, fanOut)
    ],
    logger: c.logger,
    ...(opts.metrics === undefined ? {} : { metrics: opts.metrics }),
    reconcile: async (_key, signal, ctx) => {
      const pool = ctx.object
      if (pool === undefined || pool.metadata.deletionTimestamp !== undefined) return
      if (await refuseInvalidSpec(c, KINDS.node, pool, dawnNodeValidator, signal)) return
      return await reconcilePool(c, pool, signal)
    }
  })
}

async function reconcilePool (c: ControllerComponents, pool: DawnNode, signal: AbortSignal): Promise<WorkResult | undefined> {
  const namespace = pool.metadata.namespace ?? ''
  const name = pool.metadata.name ?? ''
  const net = networkOf(c.caches, namespace, pool.spec.networkRef.name)
  if (net === undefined) {
    // The network's creation wakes us through the network watch.
    void c.events.record(pool, { type: 'Warning', reason: 'NetworkNotFound', action: 'Reconcile', note: `DawnNetwork ${pool.spec.networkRef.name} does not exist` })
    await writeStatus(c, pool, signal, { ready: { status: 'False', reason: 'NetworkNotFound', message: `DawnNetwork ${pool.spec.networkRef.name} does not exist in ${namespace}` } })
    return undefined
  }

  const material = await networkMaterial(c, net, signal)
  if ('problem' in material) {
    await writeStatus(c, pool, signal, { ready: { status: 'False', reason: material.reason, message: material.problem } })
    return { requeueAfterMs: 5000 }
  }

  // Identity: fresh read, never a cache, so no reconcile can mint a second key for an ordinal.
  const identityName = identitySecretName(name)
  const existing = await readSecret(c.applier, namespace, identityName, signal)
  const userRef = pool.spec.identitySecretRef?.name
  const provided = userRef === undefined ? undefined : await readSecret(c.applier, namespace, userRef, signal)
  if (userRef !== undefined && provided === undefined) {
    // Generating keys now would give these ordinals identities that the user's keys replace once
    // the Secret appears. User Secrets are not watched (not cached), so look again shortly.
    await writeStatus(c, pool, signal, { ready: { status: 'False', reason: 'IdentitySecretNotFound', message: `Secret ${userRef} (spec.identitySecretRef) does not exist in ${namespace}` } })
    return { requeueAfterMs: 5000 }
  }
  const problems: string[] = []
  const plan = planIdentities({
    pool: name,
    replicas: pool.spec.replicas,
    ...(existing === undefined ? {} : { existing: secretTexts(existing) }),
    ...(provided === undefined ? {} : { provided: secretTexts(provided) }),
    caPrivateKeyPem: material.caPrivateKeyPem,
    network: networkNameOf(net),
    validityDays: net.spec.membership.certificateValidityDays,
    now: c.now()
  })
  problems.push(...plan.problems)
  if (plan.changed) {
    const secret = renderIdentitySecret(pool, plan.secretData)
    // Conditional on what we read: a concurrent writer makes this fail instead of losing keys.
    const resourceVersion = existing?.metadata?.resourceVersion
    if (resourceVersion !== undefined && secret.metadata !== undefined) secret.metadata.resourceVersion = resourceVersion
    try {
      await c.applier.apply(secret, { signal, resourceVersionPrecondition: true, resource: RESOURCES.secrets })
    } catch (e) {
      if (isConflict(e)) return { requeueAfterMs: 200 }
      throw e
    }
    if (plan.generated.length > 0) void c.events.record(pool, { reason: 'IdentitiesGenerated', action: 'GenerateKeys', note: `generated node keys for ordinals ${plan.generated.join(', ')}` })
    if (plan.issued.length > 0) void c.events.record(pool, { reason: 'CertificatesIssued', action: 'IssueCertificates', note: `issued membership certificates for ordinals ${plan.issued.join(', ')}` })
  }

  // Config: bootstrap peers of every bootstrap pool (ours computed now, others' from their status).
  const pools = poolsOf(c.caches, namespace, net.metadata.name ?? '')
  const bootstrapPools = pools.map(p => p.metadata.name === name ? { pool, peers: plan.peers } : reportedPeers(p))
  const networkAgents = agentsOf(c.caches, namespace, net.metadata.name ?? '')
  const agents = networkAgents.filter(a => resolvePlacement(a, pools).includes(name))
  const rendered = renderNodeConfig({ network: net, pool, bootstrapPools, agents, networkAgents })
  problems.push(...rendered.conflicts.map(x => `agent id ${x.agentId}: ${x.kept} kept, ${x.dropped.join(', ')} ignored`))
  const headers = await agentHeaders(c, agents, namespace, signal)
  problems.push(...headers.problems)

  const checksum = configChecksum({ config: rendered.config, swarmKey: material.swarmKey, caPublicKeyPem: material.caPublicKeyPem, certificateEpoch: plan.certificateEpoch })
  const sts = renderStatefulSet({ network: net, pool, configChecksum: checksum })
  const pdb = renderPodDisruptionBudget(pool)
  const stalePdb = pdb === undefined && c.caches.pdbs.getByName(namespace, podDisruptionBudgetName(name)) !== undefined
  // Independent objects: one round trip instead of six in a row.
  await Promise.all([
    c.applier.apply(renderPoolConfigMap(pool, { configText: rendered.text, caPublicKeyPem: material.caPublicKeyPem }), { signal, resource: RESOURCES.configMaps }),
    c.applier.apply(renderAgentHeadersSecret(pool, headers.byAgent), { signal, resource: RESOURCES.secrets }),
    c.applier.apply(renderHeadlessService(pool), { signal, resource: RESOURCES.services }),
    c.applier.apply(renderClientService(pool), { signal, resource: RESOURCES.services }),
    applyStatefulSet(c, pool, sts, signal),
    pdb !== undefined
      ? c.applier.apply(pdb, { signal, resource: RESOURCES.pdbs })
      : stalePdb ? c.applier.deleteIfExists({ apiVersion: 'policy/v1', kind: 'PodDisruptionBudget', namespace, name: podDisruptionBudgetName(name) }, { signal, resource: RESOURCES.pdbs }) : undefined
  ])

  const current = c.caches.statefulSets.getByName(namespace, statefulSetName(name))
  const readyReplicas = Math.min(current?.status?.readyReplicas ?? 0, pool.spec.replicas)
  const rolledOut = current !== undefined && (current.status?.observedGeneration ?? 0) >= (current.metadata?.generation ?? 1) &&
    (current.status?.updatedReplicas ?? 0) >= pool.spec.replicas
  await writeStatus(c, pool, signal, {
    ready: readyReplicas === pool.spec.replicas
      ? { status: 'True', reason: 'AllReplicasReady', message: `${readyReplicas}/${pool.spec.replicas} nodes ready` }
      : { status: 'False', reason: 'ReplicasNotReady', message: `${readyReplicas}/${pool.spec.replicas} nodes ready` },
    progressing: rolledOut
      ? { status: 'False', reason: 'RolledOut', message: 'the StatefulSet matches the spec' }
      : { status: 'True', reason: 'RollingOut', message: 'waiting for the StatefulSet to roll out' },
    degraded: problems.length > 0
      ? { status: 'True', reason: 'ConfigurationProblem', message: problems.join('; ') }
      : { status: 'False', reason: 'AsExpected', message: '' },
    extra: {
      replicas: current?.status?.replicas ?? 0,
      readyReplicas,
      selector: poolSelectorString(pool),
      networkName: networkNameOf(net),
      peers: peerStatuses(pool, plan.peers, net.spec.clusterDomain)
    }
  })
  return { requeueAfterMs: RECHECK_MS }
}

type Material = { swarmKey: string, caPrivateKeyPem: string, caPublicKeyPem: string } | { problem: string, reason: 'NetworkSecretsPending' | 'NetworkSecretsInvalid' }

/** The network's PSK and CA as the DawnNetwork controller left them. */
async function networkMaterial (c: ControllerComponents, net: DawnNetwork, signal: AbortSignal): Promise<Material> {
  const pskRef = swarmKeySecretRef(net)
  const caRef = caSecretRef(net)
  const { psk, ca } = await readNetworkSecrets(c, net, signal)
  const swarmKey = secretText(psk, pskRef.key)
  const caPrivateKeyPem = secretText(ca, 'ca.key')
  if (swarmKey === undefined) return { problem: `waiting for the swarm key Secret ${pskRef.name}`, reason: 'NetworkSecretsPending' }
  if (caPrivateKeyPem === undefined) return { problem: `waiting for the CA Secret ${caRef.name}`, reason: 'NetworkSecretsPending' }
  try {
    // A bad PSK would be mounted into every pod, which then cannot start: render nothing instead.
    parseSwarmKey(swarmKey)
  } catch (e) {
    return { problem: `swarm key Secret ${pskRef.name} key "${pskRef.key}" is unusable: ${(e as Error).message}`, reason: 'NetworkSecretsInvalid' }
  }
  try {
    return { swarmKey, caPrivateKeyPem, caPublicKeyPem: publicKeyPemOf(caPrivateKeyPem) }
  } catch (e) {
    return { problem: `CA Secret ${caRef.name} is unusable: ${(e as Error).message}`, reason: 'NetworkSecretsInvalid' }
  }
}

/** Copies each remote agent's headers from the user's Secret into the pool's headers Secret. */
async function agentHeaders (c: ControllerComponents, agents: readonly DawnAgent[], namespace: string, signal: AbortSignal): Promise<{ byAgent: Record<string, string>, problems: string[] }> {
  const byAgent: Record<string, string> = {}
  const problems: string[] = []
  for (const agent of agents) {
    const ref = agent.spec.remote?.headersSecretRef
    if (ref === undefined) continue
    const secret = await readSecret(c.applier, namespace, ref.name, signal)
    const text = secretText(secret, ref.key)
    const problem = text === undefined ? `Secret ${ref.name} has no key "${ref.key}"` : headersJsonProblem(text)
    if (problem !== undefined || text === undefined) problems.push(`agent ${agent.metadata.name ?? ''}: ${problem ?? 'no headers'}`)
    else byAgent[agent.metadata.name ?? ''] = text
  }
  return { byAgent, problems }
}

/**
 * Applies the StatefulSet. Volume claim templates are immutable, so growing storage
 * means resizing the PVCs and re-creating the StatefulSet without deleting its pods.
 */
async function applyStatefulSet (c: ControllerComponents, pool: DawnNode, desired: V1StatefulSet, signal: AbortSignal): Promise<void> {
  const namespace = pool.metadata.namespace ?? ''
  const current = c.caches.statefulSets.getByName(namespace, statefulSetName(pool.metadata.name ?? ''))
  if (current !== undefined && volumeClaimTemplatesChanged(current, desired)) {
    const ordinals = Array.from({ length: current.spec?.replicas ?? 0 }, (_, i) => i)
    for (const pvc of pvcResizes(pool, ordinals)) {
      await c.client.request({
        method: 'PATCH',
        path: `/api/v1/namespaces/${namespace}/persistentvolumeclaims/${pvc.name}`,
        contentType: 'application/merge-patch+json',
        body: { spec: { resources: { requests: { storage: pvc.size } } } },
        signal
      }).catch((e: unknown) => { c.logger.warn('PVC resize failed', { pvc: pvc.name, err: (e as Error).message }) })
    }
    await c.applier.deleteIfExists(current, { signal, propagationPolicy: 'Orphan', resource: RESOURCES.statefulSets })
  }
  await c.applier.apply(desired, { signal, resource: RESOURCES.statefulSets })
}

interface StatusUpdate {
  ready: Omit<ConditionUpdate, 'type'>
  progressing?: Omit<ConditionUpdate, 'type'>
  degraded?: Omit<ConditionUpdate, 'type'>
  extra?: NonNullable<DawnNode['status']>
}

async function writeStatus (c: ControllerComponents, pool: DawnNode, signal: AbortSignal, update: StatusUpdate): Promise<void> {
  const observedGeneration = pool.metadata.generation ?? 0
  const updates: ConditionUpdate[] = [{ type: CONDITION_TYPES.ready, ...update.ready, observedGeneration }]
  if (update.progressing !== undefined) updates.push({ type: CONDITION_TYPES.progressing, ...update.progressing, observedGeneration })
  if (update.degraded !== undefined) updates.push({ type: CONDITION_TYPES.degraded, ...update.degraded, observedGeneration })
  await c.applier.applyStatus({
    apiVersion: API_VERSION,
    kind: KINDS.node,
    metadata: { name: pool.metadata.name ?? '', namespace: pool.metadata.namespace ?? '' },
    status: { ...(pool.status ?? {}), ...update.extra, observedGeneration, conditions: setConditions(pool.status?.conditions ?? [], updates, new Date(c.now())) }
  }, { signal })
}
