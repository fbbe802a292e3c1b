// Polling for tests: one implementation for the mesh, browser and control-plane tiers.

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
