/**
 * Source patches applied while the node is bundled: small fixes to dependencies that are
 * not upstream yet. Each must match its text exactly once in every file it names, and must
 * match some file, or the build fails naming it; a dependency update that moves the code
 * is looked at again rather than silently unpatched. Unit tests run the unpatched sources,
 * so each patch keeps behaviour and changes only cost.
 */
import { readFile } from 'node:fs/promises'
import type { Plugin } from 'esbuild'

export interface BundlePatch {
  name: string
  why: string
  /** Which files (absolute paths as esbuild resolves them). */
  file: RegExp
  find: string
  replace: string
}

export const BUNDLE_PATCHES: readonly BundlePatch[] = [{
  name: 'length-prefixed-decoder-empty-buffer',
  why: "@libp2p/utils' LengthPrefixedDecoder asks its length decoder about the empty buffer left after every chunk; Noise's decoder answers by throwing a new RangeError, a stack capture per frame read on every connection (2-4 % of a node's CPU on the call path). An empty buffer ends the loop before asking, as the RangeError did.",
  file: /[\\/]@libp2p[\\/]utils[\\/]dist[\\/]src[\\/]length-prefixed-decoder\.js$/,
  find: '        while (true) {\n            let dataLength;\n',
  replace: '        while (true) {\n            if (this.buffer.byteLength === 0) {\n                break;\n            }\n            let dataLength;\n'
}, {
  name: 'yamux-window-update-at-half',
  why: "@chainsafe/libp2p-yamux answers every data frame with a window update, so each gossip message, ping or call frame a node receives costs it an encrypted frame and a socket write back: at idle in a 20-node mesh, half of a node's writes. A receiver now grants credit once half the window is used, as go-yamux and rust-yamux do; a frame with flags (SYN, ACK) still goes at once.",
  file: /[\\/]@chainsafe[\\/]libp2p-yamux[\\/]dist[\\/]src[\\/]stream\.js$/,
  find: '        if (this.recvWindowCapacity >= this.recvWindow && flags === 0) {\n',
  replace: '        if (flags === 0 && this.recvWindow - this.recvWindowCapacity < this.recvWindow / 2) {\n'
}, ...[
  { direction: 'outbound', tail: '            });\n' },
  { direction: 'inbound', tail: '            }, {\n                signal\n            });\n' }
].map(({ direction, tail }): BundlePatch => ({
  name: `libp2p-stream-protocol-merged-once-${direction}`,
  why: "libp2p merges a stream's protocol into the remote peer's peer-store record on every stream it opens or accepts: a write lock, a protobuf decode of the whole record, a re-encode and a compare, for a protocol the record nearly always holds. In an idle 20-node mesh (then with a ping stream per connection every 20 s each way, plus DHT and gossip streams) that was 6 % of a node's CPU and a fifth of what it allocated, and every per-call stream pays it too. Each connection now merges a protocol once, on its first stream of it (idle CPU 0.92x, `npm run bench -- idle-revisions`).",
  file: /[\\/]libp2p[\\/]dist[\\/]src[\\/]connection\.js$/,
  find: `            await this.components.peerStore.merge(this.remotePeer, {\n                protocols: [muxedStream.protocol]\n${tail}`,
  replace: `            if (!(this.dawnMergedProtocols ??= new Set()).has(muxedStream.protocol)) {\n            await this.components.peerStore.merge(this.remotePeer, {\n                protocols: [muxedStream.protocol]\n${tail}            this.dawnMergedProtocols.add(muxedStream.protocol);\n            }\n`
}))]

export class BundlePatchError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'BundlePatchError'
  }
}

/** Applies `patches` to the files they name; check(): every patch was applied somewhere. */
export function patchPlugin (patches: readonly BundlePatch[] = BUNDLE_PATCHES): { plugin: Plugin, check: () => void } {
  const applied = new Set<string>()
  const plugin: Plugin = {
    name: 'dawn-bundle-patches',
    setup (build) {
      if (patches.length === 0) return
      const filter = new RegExp(patches.map(p => p.file.source).join('|'))
      build.onLoad({ filter }, async (args) => {
        let contents = await readFile(args.path, 'utf8')
        for (const patch of patches) {
          if (!patch.file.test(args.path)) continue
          const count = contents.split(patch.find).length - 1
          if (count !== 1) throw new BundlePatchError(`bundle patch ${patch.name} matches ${count} times in ${args.path}, not once: the dependency changed; check whether the fix is upstream`)
          contents = contents.replace(patch.find, patch.replace)
          applied.add(patch.name)
        }
        return { contents, loader: 'js' }
      })
    }
  }
  const check = (): void => {
    const missing = patches.filter(p => !applied.has(p.name)).map(p => p.name)
    if (missing.length > 0) throw new BundlePatchError(`bundle patches matched no file: ${missing.join(', ')}`)
  }
  return { plugin, check }
}
