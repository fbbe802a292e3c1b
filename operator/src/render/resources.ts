import type { V1ResourceRequirements } from '@kubernetes/client-node'
import type { ResourceRequirements } from '../api/common.ts'

/** Spec resources (int-or-string quantities) as a container's resource requirements. */
export function containerResources (resources: ResourceRequirements | undefined): V1ResourceRequirements | undefined {
  if (resources === undefined) return undefined
  const out: V1ResourceRequirements = {}
  const requests = quantities(resources.requests)
  const limits = quantities(resources.limits)
  if (requests !== undefined) out.requests = requests
  if (limits !== undefined) out.limits = limits
  return out
}

function quantities (map: Record<string, string | number> | undefined): Record<string, string> | undefined {
  if (map === undefined) return undefined
  const out: Record<string, string> = {}
  for (const key of Object.keys(map).sort()) out[key] = String(map[key])
  return out
}
