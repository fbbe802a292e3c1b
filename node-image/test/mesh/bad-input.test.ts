import { describe, it, expect, beforeAll, afterAll } from 'vitest'
import { spawn } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { readFile, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { startMesh, tempDir, type Mesh } from './harness.ts'

const CLI = fileURLToPath(new URL('../../src/cli/main.ts', import.meta.url))

/** Runs `dawn-node ARGS` to completion (these runs must fail fast, never hang). */
async function dawnNode (args: string[]): Promise<{ code: number | null, stdout: string, stderr: string }> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', CLI, ...args], { stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (d: Buffer) => { stdout += d.toString() })
  child.stderr.on('data', (d: Buffer) => { stderr += d.toString() })
  const timer = setTimeout(() => { child.kill('SIGKILL') }, 20_000)
  const code = await new Promise<number | null>(resolve => child.on('exit', c => { resolve(c) }))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

describe('bad input gets a clear error', () => {
  let mesh: Mesh
  beforeAll(async () => { mesh = await startMesh({ nodes: 1 }) })
  afterAll(async () => { await mesh.stop() })

  it('a config with a bad field names the field and exits non-zero', async () => {
    const dir = await tempDir()
    const file = join(dir, 'config.json')
    const good = JSON.parse(await readFile(mesh.net.nodes[0]?.configFile ?? '', 'utf8')) as Record<string, Record<string, unknown>>
    await writeFile(file, JSON.stringify({ ...good, http: { port: 'eighty' }, network: { ...good.network, name: 'Not A Label' }, colour: 'blue' }))
    const r = await dawnNode(['run', '--config', file])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain(`config file ${file} is invalid`)
    expect(r.stderr).toMatch(/http\.port: .*integer/)
    expect(r.stderr).toMatch(/network\.name: must match pattern/)
    expect(r.stderr).toContain('unknown field(s) "colour"')
  })

  it('a config that is not JSON, or is missing, says so', async () => {
    const dir = await tempDir()
    await writeFile(join(dir, 'broken.json'), '{ "network": ')
    const broken = await dawnNode(['run', '--config', join(dir, 'broken.json')])
    expect(broken.code).toBe(1)
    expect(broken.stderr).toContain('is not valid JSON')
    const missing = await dawnNode(['run', '--config', join(dir, 'nope.json')])
    expect(missing.code).toBe(1)
    expect(missing.stderr).toContain('cannot be read: ENOENT')
  })

  it('an override with a bad value names the flag or variable', async () => {
    const r = await dawnNode(['config', 'check', '--config', mesh.net.nodes[0]?.configFile ?? '', '--http-port', 'abc'])
    expect(r.code).toBe(1)
    expect(r.stderr).toContain('--http-port: expected an integer, got "abc"')
  })

  it('an unreadable or garbled key file is refused with its path', async () => {
    const dir = await tempDir()
    const key = join(dir, 'node.key')
    await writeFile(key, '-----BEGIN PRIVATE KEY-----\nbm90IGEga2V5\n-----END PRIVATE KEY-----\n')
    const garbled = await dawnNode(['run', '--config', mesh.net.nodes[0]?.configFile ?? '', '--key', key])
    expect(garbled.code).toBe(1)
    expect(garbled.stderr).toContain(key)
    const id = await dawnNode(['identity', '--key', join(dir, 'missing.key')])
    expect(id.code).toBe(1)
    expect(id.stderr).toContain('missing.key')
    // And the garbled file is left as it was: bad input loses nothing.
    expect(await readFile(key, 'utf8')).toContain('bm90IGEga2V5')
  })

  it('an HTTP body of the wrong shape gets a 400 that says what is wrong', async () => {
    const url = `${mesh.net.nodes[0]?.httpUrl ?? ''}/api/v1/peers`
    const post = async (body: string, type = 'application/json'): Promise<{ status: number, json: { message: string } }> => {
      const res = await fetch(url, { method: 'POST', headers: { 'content-type': type }, body })
      return { status: res.status, json: await res.json() as { message: string } }
    }
    const wrongField = await post(JSON.stringify({ address: '/ip4/127.0.0.1/tcp/1' }))
    expect(wrongField.status).toBe(400)
    expect(wrongField.json.message).toMatch(/addr/)
    const notMultiaddr = await post(JSON.stringify({ addr: 'localhost:4001' }))
    expect(notMultiaddr.status).toBe(400)
    expect(notMultiaddr.json.message).toMatch(/pattern/)
    const notJson = await post('{ nope')
    expect(notJson.status).toBe(400)
    const tooBig = await post(JSON.stringify({ addr: '/' + 'a'.repeat(100_000) }))
    expect(tooBig.status).toBe(413)
    const badQuery = await fetch(`${mesh.net.nodes[0]?.httpUrl ?? ''}/api/v1/registry?nodeId=not-a-peer-id`)
    expect(badQuery.status).toBe(400)
    // The node is unharmed.
    expect((await fetch(`${mesh.net.nodes[0]?.httpUrl ?? ''}/healthz`)).status).toBe(200)
  })
})
