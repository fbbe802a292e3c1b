import { afterEach, describe, expect, it } from 'vitest'
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import { existsSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import * as esbuild from 'esbuild'
import { Uint8ArrayList } from 'uint8arraylist'
import { generateKeyPair } from '@libp2p/crypto/keys'
import { defaultLogger } from '@libp2p/logger'
import { peerIdFromPrivateKey } from '@libp2p/peer-id'
import { multiaddr } from '@multiformats/multiaddr'
import { BUNDLE_PATCHES, BundlePatchError, patchPlugin, type BundlePatch } from '../../../src/local-mesh/bundle-patches.ts'

async function bundle (root: string, patches: BundlePatch[]): Promise<{ text: string, check: () => void }> {
  const { plugin, check } = patchPlugin(patches)
  const out = await esbuild.build({ entryPoints: [join(root, 'main.js')], bundle: true, write: false, format: 'esm', logLevel: 'silent', plugins: [plugin] })
  return { text: out.outputFiles[0]!.text, check }
}

describe('bundle patches', () => {
  let root = ''
  afterEach(async () => { await rm(root, { recursive: true, force: true }) })

  it('patches the files a patch names, and fails a build whose patch no longer matches', async () => {
    root = await mkdtemp(join(tmpdir(), 'dawn-patch-'))
    await writeFile(join(root, 'main.js'), "import { f } from './lib/dep.js'\nconsole.log(f())\n")
    await mkdir(join(root, 'lib'), { recursive: true })
    await writeFile(join(root, 'lib', 'dep.js'), 'export function f () { return "slow" }\n')
    const patch = { name: 'p', why: 'test', file: /[\\/]lib[\\/]dep\.js$/, find: 'return "slow"', replace: 'return "fast"' }
    const ok = await bundle(root, [patch])
    expect(ok.text).toContain('"fast"')
    expect(ok.text).not.toContain('"slow"')
    expect(() => { ok.check() }).not.toThrow()

    const stale = bundle(root, [{ ...patch, find: 'return "gone"' }])
    await expect(stale).rejects.toThrow(/bundle patch p matches 0 times/)
    const unmatched = await bundle(root, [{ ...patch, file: /[\\/]nowhere\.js$/ }])
    expect(() => { unmatched.check() }).toThrow(BundlePatchError)
  })

  it('the length-prefixed decoder patch still matches the installed @libp2p/utils exactly once', async () => {
    const patch = BUNDLE_PATCHES.find(p => p.name === 'length-prefixed-decoder-empty-buffer')
    if (patch === undefined) throw new Error('patch not shipped')
    const file = join(dirname(createRequire(import.meta.url).resolve('@libp2p/utils')), 'length-prefixed-decoder.js')
    expect(patch.file.test(file)).toBe(true)
    expect((await readFile(file, 'utf8')).split(patch.find).length - 1).toBe(1)
  })

  it('the yamux patch grants credit once half the window is used, and the sender never overruns it', async () => {
    const patch = BUNDLE_PATCHES.find(p => p.name === 'yamux-window-update-at-half')
    if (patch === undefined) throw new Error('patch not shipped')
    root = await mkdtemp(join(tmpdir(), 'dawn-patch-'))
    const windowUpdatesFor = async (patches: BundlePatch[]): Promise<number[]> => {
      const entry = join(root, `yamux-${patches.length}.mjs`)
      const { plugin, check } = patchPlugin(patches)
      // The package exports neither the file nor its package.json.
      const dir = (createRequire(import.meta.url).resolve.paths('@chainsafe/libp2p-yamux') ?? []).map(d => join(d, '@chainsafe', 'libp2p-yamux')).find(d => existsSync(d))
      if (dir === undefined) throw new Error('@chainsafe/libp2p-yamux is not installed: npm ci')
      const streamJs = join(dir, 'dist', 'src', 'stream.js')
      await esbuild.build({ stdin: { contents: `export { YamuxStream } from ${JSON.stringify(streamJs)}`, resolveDir: root }, bundle: true, platform: 'node', format: 'esm', outfile: entry, logLevel: 'silent', plugins: [plugin] })
      check()
      const { YamuxStream } = await import(entry) as { YamuxStream: new (init: Record<string, unknown>) => { handleData: (f: unknown) => void, abort: (e: Error) => void } }
      const updates: number[] = []
      const log = Object.assign(() => {}, { trace: () => {}, error: () => {}, enabled: false, newScope: () => log })
      // Type 1 is a window update (flag 0: no RST or FIN), 0 data; state 3 is Established;
      // no RTT, so the window stays 256 KiB.
      const stream = new YamuxStream({ id: '1', streamId: 1, state: 3, direction: 'inbound', log, getRTT: () => -1, sendFrame: (f: { type: number, flag: number, length: number }) => { if (f.type === 1 && f.flag === 0) updates.push(f.length); return true } })
      const frame = new Uint8ArrayList(new Uint8Array(1024))
      // 1 KiB frames up to 3 windows: a sender holds at most the credit it was granted.
      let sent = 0
      for (let i = 0; i < 768; i++) {
        const credit = 256 * 1024 + updates.reduce((a, b) => a + b, 0) - sent
        if (credit < 1024) throw new Error(`sender out of credit after ${i} frames`)
        stream.handleData({ header: { type: 0, flag: 0, streamID: 1, length: 1024 }, data: frame })
        sent += 1024
      }
      stream.abort(new Error('done'))
      return updates
    }
    const patched = await windowUpdatesFor([patch])
    expect(patched.length).toBe(6)
    for (const u of patched) expect(u).toBe(128 * 1024)
    // Unpatched, every frame is answered.
    expect((await windowUpdatesFor([])).length).toBe(768)
  })

  it('the libp2p patches merge a protocol into the peer store once per connection, in and out, and streams still reach their handlers', async () => {
    const patches = BUNDLE_PATCHES.filter(p => p.name.startsWith('libp2p-stream-protocol-merged-once-'))
    expect(patches.map(p => p.name).sort()).toEqual(['libp2p-stream-protocol-merged-once-inbound', 'libp2p-stream-protocol-merged-once-outbound'])
    root = await mkdtemp(join(tmpdir(), 'dawn-patch-'))
    const remotePeer = peerIdFromPrivateKey(await generateKeyPair('Ed25519'))
    const run = async (shipped: BundlePatch[]): Promise<{ merged: string[], handled: string[], opened: string[] }> => {
      const entry = join(root, `connection-${shipped.length}.mjs`)
      const { plugin, check } = patchPlugin(shipped)
      // libp2p exports neither the file nor its package.json.
      const dir = (createRequire(import.meta.url).resolve.paths('libp2p') ?? []).map(d => join(d, 'libp2p')).find(d => existsSync(join(d, 'dist', 'src', 'connection.js')))
      if (dir === undefined) throw new Error('libp2p is not installed: npm ci')
      await esbuild.build({ stdin: { contents: `export { Connection } from ${JSON.stringify(join(dir, 'dist', 'src', 'connection.js'))}`, resolveDir: root }, bundle: true, platform: 'node', format: 'esm', outfile: entry, logLevel: 'silent', plugins: [plugin] })
      check()
      const { Connection } = await import(entry) as { Connection: new (components: unknown, init: unknown) => { newStream: (p: string) => Promise<{ protocol: string }>, onIncomingStream: (evt: { detail: unknown }) => Promise<void> } }
      const merged: string[] = []
      const handled: string[] = []
      const log = defaultLogger().forComponent('patch-test')
      // A muxer whose streams come with their protocol already agreed (no multistream-select).
      const stream = (protocol: string, direction: string): unknown => ({ protocol, direction, status: 'open', log, abort: () => {} })
      const components = {
        peerStore: { merge: async (peer: unknown, data: { protocols: string[] }) => { expect(peer).toBe(remotePeer); merged.push(...data.protocols) } },
        registrar: { getMiddleware: () => [], getHandler: (protocol: string) => ({ handler: () => { handled.push(protocol) }, options: {} }), getProtocols: () => [] }
      }
      const connection = new Connection(components, {
        id: 'c1',
        remotePeer,
        direction: 'outbound',
        maConn: { remoteAddr: multiaddr(`/ip4/127.0.0.1/tcp/4001/p2p/${remotePeer.toString()}`), timeline: { open: Date.now() }, log, status: 'open', addEventListener: () => {} },
        muxer: { protocol: '/yamux/1.0.0', status: 'open', streams: [], addEventListener: () => {}, createStream: async (o: { protocol: string }) => stream(o.protocol, 'outbound') }
      })
      const opened: string[] = []
      for (const p of ['/a/1', '/a/1', '/b/1', '/a/1']) opened.push((await connection.newStream(p)).protocol)
      for (const p of ['/c/1', '/c/1', '/a/1']) await connection.onIncomingStream({ detail: stream(p, 'inbound') })
      return { merged, handled, opened }
    }
    const patched = await run(patches)
    expect(patched.merged).toEqual(['/a/1', '/b/1', '/c/1'])
    expect(patched.opened).toEqual(['/a/1', '/a/1', '/b/1', '/a/1'])
    expect(patched.handled).toEqual(['/c/1', '/c/1', '/a/1'])
    // Unpatched, every stream merges.
    const unpatched = await run([])
    expect(unpatched.merged).toEqual(['/a/1', '/a/1', '/b/1', '/a/1', '/c/1', '/c/1', '/a/1'])
    expect(unpatched.handled).toEqual(patched.handled)
  })
})
