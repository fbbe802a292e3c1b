// What an intermediate member could read in the frames it relayed, shared by the
// unit and mesh tests of the flood route.

/**
 * Every byte string a frame holds: the frame, and, recursively, what each
 * base64url run in it decodes to (envelope bodies are base64url inside JSON,
 * and a flood envelope carries the call's envelope inside its own body).
 * Independent of the wire code, so it cannot share that code's blind spots.
 */
export function layers (bytes: Uint8Array, depth = 4): Buffer[] {
  const out: Buffer[] = [Buffer.from(bytes)]
  if (depth === 0) return out
  for (const run of Buffer.from(bytes).toString('latin1').matchAll(/[A-Za-z0-9_-]{16,}/g)) {
    out.push(...layers(Buffer.from(run[0], 'base64url'), depth - 1))
  }
  return out
}

/** Whether `text` appears in any layer of any of the frames. */
export function holds (frames: Array<{ bytes: Uint8Array }>, text: string): boolean {
  const needle = Buffer.from(text)
  return frames.some(f => layers(f.bytes).some(layer => layer.includes(needle)))
}
