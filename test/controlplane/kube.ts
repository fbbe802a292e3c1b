// Helpers for tests that run against the control plane started by global-setup.ts.
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { KubeConfig, ApiException } from '@kubernetes/client-node'

export { eventually } from '../support/eventually.ts'

/** The admin KubeConfig of this run's control plane (from globalSetup's provide). */
export function loadKubeConfig (): KubeConfig {
  const kc = new KubeConfig()
  kc.loadFromFile(inject('kubeconfig'))
  return kc
}

/** A fresh, DNS-safe name with a readable prefix, e.g. `smoke-3f9a1c`. */
export function uniqueName (prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`
}

export const isNotFound = (e: unknown): boolean => e instanceof ApiException && e.code === 404

