/**
 * `content-disposition` for a download under a name the uploader chose (RFC 6266, with the
 * name in RFC 8187/5987 `filename*` form). The name is untrusted: control characters, bidi
 * overrides (which can disguise an extension), quotes and path separators become `_`,
 * and it is cut to 255 characters.
 */

export const MAX_FILENAME_CHARS = 255
const FALLBACK_NAME = 'download'

// C0, DEL, C1, bidi marks/embeddings/overrides/isolates, quotes, slashes; with the u flag the
// surrogate range matches only lone surrogates, which cannot be encoded.
// eslint-disable-next-line no-control-regex
const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u200e\u200f\u202a-\u202e\u2066-\u2069"'/\\\ud800-\udfff]/gu

/** The name as it may be offered to the browser. */
export function safeFilename (name: string): string {
  const cleaned = name.replace(UNSAFE, '_').trim()
  // Cut on code points, never inside a surrogate pair.
  const cut = Array.from(cleaned).slice(0, MAX_FILENAME_CHARS).join('')
  return cut === '' || /^\.+$/.test(cut) ? FALLBACK_NAME : cut
}

/** `attachment; filename*=UTF-8''<name>`, percent-encoded to RFC 8187 attr-chars. */
export function attachmentDisposition (name: string): string {
  const encoded = encodeURIComponent(safeFilename(name))
    .replace(/['()*]/g, c => `%${c.charCodeAt(0).toString(16).toUpperCase()}`)
  return `attachment; filename*=UTF-8''${encoded}`
}
