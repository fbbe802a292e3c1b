import type { V1Secret } from '@kubernetes/client-node'

/** The text of one key of a Secret read from the API (base64 `data`) or built locally (`stringData`). */
export function secretText (secret: V1Secret | undefined, key: string): string | undefined {
  const fromString = secret?.stringData?.[key]
  if (fromString !== undefined) return fromString
  const encoded = secret?.data?.[key]
  return encoded === undefined ? undefined : Buffer.from(encoded, 'base64').toString('utf8')
}

/** Every key of a Secret as text. */
export function secretTexts (secret: V1Secret | undefined): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of Object.keys(secret?.data ?? {}).concat(Object.keys(secret?.stringData ?? {}))) {
    const text = secretText(secret, key)
    if (text !== undefined) out[key] = text
  }
  return out
}

/**
 * Base64 `data` for a Secret we write. `stringData` is write-only and would never
 * compare equal to what the API server returns, so server-side apply would churn.
 */
export function encodeSecretData (texts: Readonly<Record<string, string>>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const key of Object.keys(texts).sort()) out[key] = Buffer.from(texts[key] ?? '', 'utf8').toString('base64')
  return out
}
