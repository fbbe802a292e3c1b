// Helpers for tests that run against the control plane started by global-setup.ts.
import { randomBytes } from 'node:crypto'
import { inject } from 'vitest'
import { KubeConfig, ApiException } from '@kubernetes/client-node'

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

/**
 * Polls `probe` until it returns a value other than `undefined`/`false`, or fails after
 * `timeoutMs` with `what` and the last observation (`detail`) in the message.
 */
export async function eventually<T> (
  probe: () => Promise<T | undefined | false>,
  opts: { what: string, timeoutMs?: number, intervalMs?: number, detail?: () => Promise<string> }
): Promise<T> {
  const deadline = Date.now() + (opts.timeoutMs ?? 30_000)
  let lastError: unknown
  for (;;) {
    try {
      const v = await probe()
      if (v !== undefined && v !== false) return v
    } catch (e) { lastError = e }
    if (Date.now() > deadline) {
      const detail = opts.detail !== undefined ? await opts.detail().catch((e: unknown) => `(detail failed: ${String(e)})`) : ''
      throw new Error(`timed out waiting for ${opts.what}${detail !== '' ? `\n${detail}` : ''}${lastError !== undefined ? `\nlast error: ${errorText(lastError)}` : ''}`)
    }
    await new Promise(r => setTimeout(r, opts.intervalMs ?? 200))
  }
}

const errorText = (e: unknown): string => e instanceof Error ? e.message : JSON.stringify(e)
