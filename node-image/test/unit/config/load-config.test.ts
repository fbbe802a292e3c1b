import { describe, it, expect } from 'vitest'
import { mkdtemp, writeFile, rename } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { loadConfig, ConfigError, ConfigWatcher, type NodeConfig } from '../../../src/config/index.ts'

const minimal = { network: { name: 'demo', swarmKeyFile: 'swarm.key', caPublicKeyFile: '/etc/dawn/ca.pub' }, node: { dataDir: 'data', certificateFile: 'cert.json' } }

async function writeConfig (value: unknown): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'dawn-config-'))
  const file = join(dir, 'config.json')
  await writeFile(file, JSON.stringify(value))
  return file
}

describe('loadConfig', () => {
  it('fills defaults and resolves relative paths against the config file', async () => {
    const file = await writeConfig(minimal)
    const { config } = await loadConfig({ file, env: {} })
    const dir = file.replace(/\/config\.json$/, '')
    expect(config.network.swarmKeyFile).toBe(join(dir, 'swarm.key'))
    expect(config.network.caPublicKeyFile).toBe('/etc/dawn/ca.pub')
    expect(config.node.keyFile).toBe(join(dir, 'data', 'node.key'))
    // Loopback by default: only the operator (in pods) opens the API to the network.
    expect(config.http).toEqual({ host: '127.0.0.1', port: 8080 })
    expect(config.p2p).toMatchObject({ listen: ['/ip4/0.0.0.0/tcp/4001'], bootstrap: [], mdns: false })
    expect(config.network.replayWindowSeconds).toBe(120)
    expect(config.agents).toEqual([])
  })

  it('lets environment variables override the file, and flags override both', async () => {
    const file = await writeConfig({ ...minimal, http: { port: 1000 } })
    const env = { DAWN_HTTP_PORT: '2000', DAWN_BOOTSTRAP: '/ip4/10.0.0.1/tcp/1/p2p/a, /ip4/10.0.0.2/tcp/1/p2p/b', DAWN_MDNS: 'true' }
    expect((await loadConfig({ file, env })).config.http.port).toBe(2000)
    const { config } = await loadConfig({ file, env, flags: { 'http-port': '3000', 'log-level': 'debug' } })
    expect(config.http.port).toBe(3000)
    expect(config.log.level).toBe('debug')
    expect(config.p2p.bootstrap).toEqual(['/ip4/10.0.0.1/tcp/1/p2p/a', '/ip4/10.0.0.2/tcp/1/p2p/b'])
    expect(config.p2p.mdns).toBe(true)
    // Serving other hosts takes an explicit choice.
    expect((await loadConfig({ file, env: { DAWN_HTTP_HOST: '0.0.0.0' } })).config.http.host).toBe('0.0.0.0')
    expect((await loadConfig({ file, env: {}, flags: { 'http-host': '::' } })).config.http.host).toBe('::')
  })

  it('works from the environment alone', async () => {
    const { config } = await loadConfig({ env: { DAWN_NETWORK: 'envnet', DAWN_SWARM_KEY_FILE: '/k', DAWN_CA_PUBLIC_KEY_FILE: '/c', DAWN_DATA_DIR: '/d', DAWN_CERT_FILE: '/cert' } })
    expect(config.network.name).toBe('envnet')
    expect(config.node.keyFile).toBe('/d/node.key')
  })

  it('names every bad field', async () => {
    const file = await writeConfig({ ...minimal, http: { port: -1 }, p2p: { listen: [] }, extra: true })
    const err = await loadConfig({ file, env: {} }).catch((e: unknown) => e)
    expect(err).toBeInstanceOf(ConfigError)
    const message = (err as Error).message
    expect(message).toContain('http.port: must be >= 0')
    expect(message).toContain('p2p.listen: must not have fewer than 1 items')
    expect(message).toContain('unknown field(s) "extra"')
  })

  it('validates each agent against the schema its kind selects', async () => {
    const file = await writeConfig({
      ...minimal,
      agents: [
        { id: 'plain', tools: [{ name: 't' }] },
        { id: 'echo', kind: 'builtin', builtin: 'echo' },
        { id: 'far', kind: 'remote', url: 'https://mcp.example.test/mcp', headersFile: 'headers.json' }
      ]
    })
    const { config } = await loadConfig({ file, env: {} })
    expect(config.agents.map(a => a.kind)).toEqual(['static', 'builtin', 'remote'])
    expect(config.agents[1]).toMatchObject({ description: '' })
    expect(config.agents[2]).toMatchObject({ headersFile: join(file, '..', 'headers.json') })

    const bad = await writeConfig({ ...minimal, agents: [{ id: 'far', kind: 'remote', url: 'ftp://x' }, { id: 'q', kind: 'quantum' }] })
    const message = await loadConfig({ file: bad, env: {} }).then(() => '', (e: unknown) => (e as Error).message)
    expect(message).toContain('agents.0.url: must match pattern')
    expect(message).toContain('agents.1.kind: must be one of static, builtin, remote, stdio')
    expect(message).not.toContain('must be equal to constant')
  })

  it('rejects bad override values with the variable name', async () => {
    const file = await writeConfig(minimal)
    await expect(loadConfig({ file, env: { DAWN_MDNS: 'maybe' } })).rejects.toThrow('DAWN_MDNS: expected true or false, got "maybe"')
  })
})

describe('ConfigWatcher', () => {
  const agent = (id: string): NodeConfig['agents'][number] => ({ id, kind: 'static', description: '', tools: [] })
  /** A started watcher on `file` that polls every 100 ms and records what it reports. */
  const watch = async (file: string, on: { onAgents?: (agents: NodeConfig['agents']) => void, onMcpView?: (view: unknown) => void }): Promise<{ watcher: ConfigWatcher, problems: string[] }> => {
    const problems: string[] = []
    const watcher = new ConfigWatcher({
      file,
      reload: async () => (await loadConfig({ file, env: {} })).config,
      onAgents: on.onAgents ?? (() => {}),
      ...(on.onMcpView === undefined ? {} : { onMcpView: on.onMcpView }),
      onProblem: msg => { problems.push(msg) },
      pollIntervalMs: 100
    }, (await loadConfig({ file, env: {} })).config)
    await watcher.start()
    return { watcher, problems }
  }
  const until = async (cond: () => boolean): Promise<void> => {
    for (let i = 0; i < 100 && !cond(); i++) await new Promise(resolve => setTimeout(resolve, 50))
    expect(cond()).toBe(true)
  }

  it('reloads agents on change, keeps the old ones on a bad file, and flags restart-only changes', async () => {
    const file = await writeConfig({ ...minimal, agents: [agent('a')] })
    const seen: string[][] = []
    const { watcher, problems } = await watch(file, { onAgents: agents => { seen.push(agents.map(a => a.id)) } })
    try {
      // Replace by rename, as a ConfigMap volume update does.
      await writeFile(`${file}.new`, JSON.stringify({ ...minimal, agents: [agent('a'), agent('b')] }))
      await rename(`${file}.new`, file)
      await until(() => seen.length === 1)
      expect(seen[0]).toEqual(['a', 'b'])

      await writeFile(file, '{ broken')
      await until(() => problems.some(p => p.includes('keeping the running config')))
      expect(seen).toHaveLength(1)

      await writeFile(file, JSON.stringify({ ...minimal, http: { port: 9 }, agents: [agent('c')] }))
      await until(() => seen.length === 2)
      expect(seen[1]).toEqual(['c'])
      expect(problems.some(p => p.includes('config sections http changed; they apply on restart'))).toBe(true)
    } finally {
      await watcher.stop()
    }
  })

  it('applies mcp naming and tool filters live, and flags the rest of mcp as restart-only', async () => {
    const file = await writeConfig(minimal)
    const views: unknown[] = []
    const { watcher, problems } = await watch(file, { onMcpView: view => { views.push(view) } })
    try {
      const view = { naming: 'conditional', toolFilters: { echo: { deny: ['generate'] } } }
      await writeFile(file, JSON.stringify({ ...minimal, mcp: view }))
      await until(() => views.length === 1)
      expect(views[0]).toEqual({ ...view, catalog: 'full' })
      expect(problems).toEqual([])
      await writeFile(file, JSON.stringify({ ...minimal, mcp: { ...view, maxSessions: 7 } }))
      await until(() => problems.length === 1)
      expect(problems[0]).toContain('config sections mcp changed; they apply on restart')
      expect(views).toHaveLength(1)
    } finally {
      await watcher.stop()
    }
  })
})
