import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { cp, mkdir, readFile, rm } from 'node:fs/promises'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { eventually, getJson, tempDir } from './harness.ts'
import { createNetworkDir, type NetworkFiles } from '../../src/local-mesh/network-dir.ts'
import { demoAgents } from '../../src/local-mesh/demo-agents.ts'
import { NODE_V8_FLAGS, NodeProcess, nodeMallocEnv } from '../../src/local-mesh/node-process.ts'
import { bundleStaleReason, ensureNodeBundle, NODE_BUNDLE_PATH } from '../../src/local-mesh/node-bundle.ts'
import { generateText } from '../../src/agents/builtin/echo.ts'
import pkg from '../../package.json' with { type: 'json' }

const NODE_IMAGE = fileURLToPath(new URL('../../', import.meta.url))

/**
 * What ships: the node bundle, as ./dawn mesh and the node image run it. It runs from a copy
 * laid out like the image's /app (package.json, src/ui/, the bundle) with no node_modules
 * anywhere above it, so a dependency the bundle failed to include fails here.
 */
describe('the node bundle in a mesh', () => {
  let dir: string
  let net: NetworkFiles
  let bundle: string
  const procs: NodeProcess[] = []

  beforeAll(async () => {
    await ensureNodeBundle()
    expect(await bundleStaleReason()).toBeUndefined()
    dir = await tempDir('dawn-bundle-mesh-')
    const app = join(dir, 'app')
    bundle = join(app, NODE_BUNDLE_PATH)
    await mkdir(join(app, 'node-image', 'dist'), { recursive: true })
    await cp(join(NODE_IMAGE, 'package.json'), join(app, 'node-image', 'package.json'))
    await cp(join(NODE_IMAGE, 'src', 'ui'), join(app, 'node-image', 'src', 'ui'), { recursive: true })
    await cp(join(NODE_IMAGE, '..', NODE_BUNDLE_PATH), bundle)
    net = await createNetworkDir({ dir: join(dir, 'net'), nodes: 2, agents: demoAgents })
    for (const n of net.nodes) procs.push(new NodeProcess({ configFile: n.configFile, httpUrl: n.httpUrl, entry: bundle }))
    for (const p of procs) p.start()
    await Promise.all(procs.map(async p => { await p.waitReady(60_000) }))
  }, 120_000)

  afterAll(async () => {
    await Promise.all(procs.map(async p => { await p.stop() }))
    await rm(dir, { recursive: true, force: true })
  })

  it('runs the bundle with the node flags and allocator settings', async () => {
    const cmdline = (await readFile(`/proc/${procs[0]!.pid!}/cmdline`, 'utf8')).split('\0')
    expect(cmdline).toContain(bundle)
    for (const flag of NODE_V8_FLAGS) expect(cmdline).toContain(flag)
    const environ = (await readFile(`/proc/${procs[0]!.pid!}/environ`, 'utf8')).split('\0')
    for (const [k, v] of Object.entries(nodeMallocEnv())) expect(environ).toContain(`${k}=${v}`)
    // A preloaded allocator that failed to load would leave glibc's malloc silently in place.
    if (nodeMallocEnv().LD_PRELOAD !== undefined) expect(await readFile(`/proc/${procs[0]!.pid!}/maps`, 'utf8')).toContain('libjemalloc')
  })

  it('reports the package version and serves the chat page and the apps sandbox from src/ui/', async () => {
    expect((await getJson<{ version: string }>(`${net.nodes[0]!.httpUrl}/api/v1/node`)).version).toBe(pkg.version)
    const page = await fetch(`${net.nodes[0]!.httpUrl}/`)
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('<html')
    const sandbox = await fetch(`${net.nodes[0]!.httpUrl}/ui/apps/sandbox.html`)
    expect(sandbox.status).toBe(200)
  })

  it('calls a built-in agent on the other node across the mesh', async () => {
    const target = `${net.nodes[1]!.peerId}:echo`
    const answer = await eventually(async () => {
      const res = await fetch(`${net.nodes[0]!.httpUrl}/api/v1/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target, tool: 'echo', arguments: { text: 'from the bundle' } })
      })
      return res.status === 200 ? await res.text() : undefined
    }, { what: `a call to ${target}`, timeoutMs: 30_000 })
    expect(answer).toContain('from the bundle')
  })

  it('brings an 8 MiB result across the mesh intact, through the bundle\'s patched yamux flow control', async () => {
    const bytes = 8 * 1024 * 1024
    const res = await fetch(`${net.nodes[0]!.httpUrl}/api/v1/calls`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ target: `${net.nodes[1]!.peerId}:echo`, tool: 'generate', arguments: { bytes, seed: 'bundle' } }),
      signal: AbortSignal.timeout(60_000)
    })
    const text = await res.text()
    expect(res.status, text.slice(0, 500)).toBe(200)
    expect(text.length).toBeGreaterThan(bytes)
    expect(text).toContain(generateText(bytes, 'bundle'))
  })

  it('refuses to start, saying why, when OTEL_* asks for tracing and no node_modules has the SDK', async () => {
    // In node 0's place (its config, key and port), so nothing else answers its /readyz.
    await procs[0]!.stop()
    const lonely = new NodeProcess({ configFile: net.nodes[0]!.configFile, httpUrl: net.nodes[0]!.httpUrl, entry: bundle, env: { OTEL_TRACES_EXPORTER: 'console' } })
    lonely.start()
    await expect(lonely.waitReady(30_000)).rejects.toThrow(/node exited with code 1/)
    expect(lonely.logs()).toContain('@opentelemetry/sdk-node does not load')
  })

  // The OpenTelemetry SDK is left out of the bundle and loaded from node_modules, as the image has them.
  it('traces when OTEL_* asks for it, loading the SDK from node_modules next to the bundle', async () => {
    const traced = new NodeProcess({
      configFile: net.nodes[0]!.configFile,
      httpUrl: net.nodes[0]!.httpUrl,
      entry: join(NODE_IMAGE, '..', NODE_BUNDLE_PATH),
      env: { OTEL_TRACES_EXPORTER: 'console', OTEL_SERVICE_NAME: 'dawn-bundle-test' }
    })
    await procs[0]!.stop()
    procs[0] = traced
    traced.start()
    await traced.waitReady(60_000)
    const target = `${net.nodes[1]!.peerId}:echo`
    await eventually(async () => {
      const res = await fetch(`${net.nodes[0]!.httpUrl}/api/v1/calls`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ target, tool: 'echo', arguments: { text: 'traced' } })
      })
      return res.status === 200 ? true : undefined
    }, { what: `a traced call to ${target}`, timeoutMs: 30_000 })
    // The console exporter prints each ended span; the call's client span is 'dawn tools/call'.
    await eventually(async () => /name: 'dawn tools\/call'/.test(traced.logs()) ? true : undefined, { what: 'the call\'s span on stdout', timeoutMs: 15_000, detail: async () => traced.logs().slice(-3000) })
    expect(traced.logs()).toMatch(/traceId: '[0-9a-f]{32}'/)
  })
})
