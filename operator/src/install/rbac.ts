import type { V1PolicyRule } from '@kubernetes/client-node'
import { RESOURCES } from '../controllers/resources.ts'

const READ = ['get', 'list', 'watch']
// Server-side apply that creates an object needs both create and patch.
const APPLY = ['create', 'patch']

/**
 * The operator's cluster permissions, derived from the collections it touches, so
 * RBAC cannot drift from the code. Anything missing here fails the RBAC test.
 */
export function operatorClusterRules (): V1PolicyRule[] {
  const r = RESOURCES
  return [
    { apiGroups: [r.networks.group], resources: [r.networks.plural, r.nodes.plural, r.agents.plural], verbs: READ },
    { apiGroups: [r.networks.group], resources: [`${r.networks.plural}/status`, `${r.nodes.plural}/status`, `${r.agents.plural}/status`], verbs: ['get', 'patch'] },
    // Secrets: network PSK/CA are created once (never overwritten), identities applied conditionally.
    { apiGroups: [''], resources: [r.secrets.plural], verbs: [...READ, ...APPLY] },
    // Delete: a Grafana dashboard ConfigMap turned off in spec.monitoring.
    { apiGroups: [''], resources: [r.configMaps.plural], verbs: [...READ, ...APPLY, 'delete'] },
    { apiGroups: [''], resources: [r.services.plural], verbs: [...READ, ...APPLY, 'delete'] },
    // Growing storage resizes the PVCs of a pool.
    { apiGroups: [''], resources: [r.pvcs.plural], verbs: ['get', 'patch'] },
    { apiGroups: [r.statefulSets.group], resources: [r.statefulSets.plural, r.deployments.plural], verbs: [...READ, ...APPLY, 'delete'] },
    { apiGroups: [r.pdbs.group], resources: [r.pdbs.plural], verbs: [...READ, ...APPLY, 'delete'] },
    // prometheus-operator objects of spec.monitoring (discovery of their kinds needs no rule).
    { apiGroups: [r.podMonitors.group], resources: [r.podMonitors.plural, r.prometheusRules.plural, r.alertmanagerConfigs.plural], verbs: [...READ, ...APPLY, 'delete'] },
    { apiGroups: ['events.k8s.io'], resources: ['events'], verbs: ['create', 'patch'] }
  ]
}

/** Leader election needs only its own Lease, in the operator's namespace. */
export function operatorLeaseRules (): V1PolicyRule[] {
  return [{ apiGroups: [RESOURCES.leases.group], resources: [RESOURCES.leases.plural], verbs: ['get', 'create', 'update', 'patch'] }]
}
