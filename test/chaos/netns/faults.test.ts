// The fault harness itself: each fault is real (seen by TCP from inside the namespaces),
// cuts connections that were already open, spares host<->node traffic, and heals.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { eventually } from '../../support/eventually.ts'
import { fullMatrix, groupsMatrix, matrixDiff } from '../matrix.ts'
import { blockLinks, flaky, healAll, partition, probe } from './faults.ts'
import { startNsMesh, type NsMesh } from './ns-mesh.ts'
import { HTTP_PORT, NAME_PREFIX } from './topology.ts'

let mesh: NsMesh

beforeAll(async () => { mesh = await startNsMesh({ nodes: 5 }) })
// Undefined when beforeAll failed.
afterAll(async () => { await (mesh as NsMesh | undefined)?.stop() })

/** A process in node i's namespace holding one idle TCP connection to node j's HTTP port. */
async function holdConnection (i: number, j: number): Promise<{ child: ChildProcess, closed: () => boolean }> {
  const script = `const s = require('node:net').connect(${HTTP_PORT}, '${mesh.topo.addr(j)}', () => console.log('open'));
s.on('close', () => { console.log('closed'); process.exit(0) }); s.on('error', () => {})`
  const child = spawn('ip', ['netns', 'exec', mesh.topo.nodes[i]?.netns ?? '', process.execPath, '-e', script], { stdio: ['ignore', 'pipe', 'inherit'] })
  let out = ''
  child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
  await eventually(async () => out.includes('open'), { what: `node ${i} holding a connection to node ${j}`, timeoutMs: 10_000 })
  return { child, closed: () => out.includes('closed') }
}

async function hostReachesAll (): Promise<void> {
  for (let i = 0; i < mesh.topo.size; i++) {
    const res = await fetch(`${mesh.net.nodes[i]?.httpUrl ?? ''}/healthz`, { signal: AbortSignal.timeout(5000) })
    expect(res.status).toBe(200)
  }
}

describe('namespace faults', () => {
  it('the topology is real: one namespace per node, every link open', async () => {
    const names = execFileSync('ip', ['netns', 'list'], { encoding: 'utf8' })
    for (const n of mesh.topo.nodes) expect(names).toContain(n.netns)
    expect(n(names)).toBeGreaterThanOrEqual(6)
    expect(matrixDiff(fullMatrix(5), await probe(mesh.topo))).toEqual([])
    function n (text: string): number { return text.split('\n').filter(l => l.startsWith(`${NAME_PREFIX}${mesh.topo.id}-`)).length }
  })

  it('a partition cuts both directions and the connections already open, but never the host', async () => {
    const held = await holdConnection(0, 3)
    const same = await holdConnection(2, 3)
    try {
      await partition(mesh.topo, [[0, 1], [2, 3, 4]])
      expect(matrixDiff(groupsMatrix(5, [[0, 1], [2, 3, 4]]), await probe(mesh.topo))).toEqual([])
      // An idle socket under DROP alone would stay open for minutes.
      await eventually(async () => held.closed(), { what: 'the open 0->3 connection to be cut', timeoutMs: 5000 })
      expect(same.closed()).toBe(false)
      await hostReachesAll()
    } finally {
      held.child.kill()
      same.child.kill()
    }
    await healAll(mesh.topo)
    expect(matrixDiff(fullMatrix(5), await probe(mesh.topo))).toEqual([])
  })

  it('probe catches a fault that was not applied, and a killed node', async () => {
    // Healed: the probe must disagree with what a partition would look like.
    expect(matrixDiff(groupsMatrix(5, [[0, 1], [2, 3, 4]]), await probe(mesh.topo)).length).toBeGreaterThan(0)
    await blockLinks(mesh.topo, [[0, 4]])
    const m = await probe(mesh.topo)
    expect(matrixDiff(groupsMatrix(5, [[0, 1, 2, 3], [1, 2, 3, 4]]), m)).toEqual([])
    expect(matrixDiff(fullMatrix(5), m).length).toBe(2)
    await healAll(mesh.topo)
    mesh.procs[2]?.kill()
    await eventually(async () => mesh.procs[2]?.running === false, { what: 'node 2 to exit' })
    // Nothing listens on node 2 any more; its namespace still reaches the others.
    const expected = fullMatrix(5).map((row, i) => row.map((v, j) => j !== 2 || i === 2))
    expect(matrixDiff(expected, await probe(mesh.topo))).toEqual([])
    mesh.procs[2]?.start()
    await mesh.procs[2]?.waitReady(60_000)
  })

  it('flaky links delay node<->node packets but not host<->node ones', async () => {
    await flaky(mesh.topo, { delayMs: 300, jitterMs: 0, lossPercent: 0 }, [1])
    try {
      const nodeToNode = await connectMs(1, 2)
      const started = performance.now()
      await hostReachesAll()
      const hostToNodes = performance.now() - started
      // Delay both ways: the SYN leaves node 1 late and the SYN-ACK reaches it late.
      expect(nodeToNode).toBeGreaterThanOrEqual(600)
      expect(hostToNodes).toBeLessThan(1000)
      expect(await connectMs(2, 3)).toBeLessThan(300)
    } finally {
      await healAll(mesh.topo)
    }
    expect(await connectMs(1, 2)).toBeLessThan(300)
  })
})

async function connectMs (i: number, j: number): Promise<number> {
  const out = await mesh.topo.exec(i, 'bash', ['-c', `s=$(date +%s%N); exec 3<>/dev/tcp/${mesh.topo.addr(j)}/${HTTP_PORT}; e=$(date +%s%N); echo $(( (e - s) / 1000000 ))`])
  return Number(out.trim())
}
