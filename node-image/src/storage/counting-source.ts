/** Passes a byte stream through and counts it; optionally refuses it past a limit. */
export function countingSource (source: AsyncIterable<Uint8Array>, limit?: { bytes: number, error: () => Error }): { source: AsyncIterable<Uint8Array>, bytes: () => number } {
  let total = 0
  return {
    bytes: () => total,
    source: (async function * () {
      for await (const chunk of source) {
        total += chunk.byteLength
        if (limit !== undefined && total > limit.bytes) throw limit.error()
        yield chunk
      }
    })()
  }
}
