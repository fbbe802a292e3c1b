// The spec agrees with its other consumers: the names the operator renders (as CRI
// normalises them), the versions the fetch scripts pin, and the commands the init
// containers' shell scripts run.
import { describe, expect, it } from 'vitest'
import { DawnNodeSpecSchema } from '../../operator/src/api/dawn-node.ts'
import { DEFAULT_INSTALL } from '../../operator/src/install/install-manifest.ts'
import { IDENTITY_INIT_SCRIPT } from '../../operator/src/render/identity-init.ts'
import { KUBO_INIT_SCRIPT } from '../../operator/src/render/kubo.ts'
import { normaliseName, selectSpecs } from '../build.ts'
import { readPins } from '../inputs.ts'
import { imageSpecs, type ImageSpec } from '../spec.ts'

const pins = readPins()
const specs = imageSpecs(pins)
const byName = (name: string): ImageSpec => {
  const s = specs.find(x => x.name === name)
  if (s === undefined) throw new Error(`no image ${name} in the spec`)
  return s
}

/** Shell words that are not programs: keywords and busybox ash builtins. */
const SHELL_BUILTINS = new Set(['set', 'case', 'esac', 'for', 'in', 'do', 'done', 'if', 'then', 'else', 'elif', 'fi', 'echo', 'exit',
  'umask', '[', 'test', 'printf', 'trap', 'wait', 'exec', 'return', 'local', 'export', 'true', 'false', ':', '}', '{', ';;'])

/** The first word of every simple command in a script, minus builtins and the script's own functions. */
function programs (script: string): string[] {
  const functions = new Set([...script.matchAll(/^\s*([a-z_]+)\s*\(\)/gm)].map(m => m[1]))
  const out = new Set<string>()
  for (const line of script.split('\n')) {
    const body = line.replace(/^\s*[a-z_]+\s*\(\)\s*\{/, '').replace(/\s#.*$/, '').replace(/"[^"]*"|'[^']*'/g, 'S')
    for (const segment of body.split(/;|&&|\|\||\||\bthen\b|\bdo\b|\belse\b|\)/)) {
      const words = segment.trim().split(/\s+/).filter(w => w !== '' && !/^[A-Za-z_]+=/.test(w))
      const first = words[0]
      // Case patterns (`*[!0-9]*)`), quoted words, expansions and redirections are not commands.
      if (first === undefined || first === 'S' || !/^[\w./-]+$/.test(first) || SHELL_BUILTINS.has(first) || functions.has(first)) continue
      out.add(first)
    }
  }
  return [...out].sort()
}

/** A schema's `default` keyword (TypeBox keeps it on the object but not in the type). */
const defaultOf = (schema: object): string => String((schema as { default?: unknown }).default)

const applets = (s: ImageSpec): string[] =>
  s.layers.flatMap(l => l.contents).flatMap(c => c.kind === 'busybox' ? c.applets : c.kind === 'kubo' ? [c.path.replace(/^.*\//, '')] : [])

describe('image spec', () => {
  it('names the images the operator renders by default, as CRI looks them up', () => {
    const names = specs.map(s => s.name)
    expect(names).toContain(normaliseName(defaultOf(DawnNodeSpecSchema.properties.image)))
    expect(names).toContain(normaliseName(defaultOf(DawnNodeSpecSchema.properties.kubo.properties.image)))
    expect(names).toContain(normaliseName(DEFAULT_INSTALL.image))
    expect(names).toEqual(['docker.io/dawn/node:0.1.0', 'docker.io/dawn/operator:0.1.0', 'docker.io/ipfs/kubo:v0.38.1',
      'docker.io/dawn/kubo:v0.38.1-late', 'dawn.local/pause:3.10'])
  })

  it('normalises Docker Hub short names like CRI', () => {
    expect(normaliseName('dawn/node:0.1.0')).toBe('docker.io/dawn/node:0.1.0')
    expect(normaliseName('busybox:1')).toBe('docker.io/library/busybox:1')
    expect(normaliseName('dawn.local/pause:3.10')).toBe('dawn.local/pause:3.10')
    expect(selectSpecs(specs, ['ipfs/kubo:' + pins.kubo]).map(s => s.name)).toEqual([`docker.io/ipfs/kubo:${pins.kubo}`])
    expect(() => selectSpecs(specs, ['dawn/nope:1'])).toThrow(/unknown image "dawn\/nope:1"/)
  })

  it('reads the pinned versions from the fetch scripts', () => {
    expect(pins.node).toMatch(/^\d+\.\d+\.\d+$/)
    expect(pins.kubo).toMatch(/^v\d+\.\d+\.\d+$/)
  })

  it('gives the node image every program the identity init container runs', () => {
    const used = programs(IDENTITY_INIT_SCRIPT)
    expect(used).toEqual(expect.arrayContaining(['cat', 'chmod', 'mv', 'rm']))
    expect(applets(byName('docker.io/dawn/node:0.1.0'))).toEqual(expect.arrayContaining(['sh', ...used]))
  })

  it('gives the Kubo images every program the Kubo init container runs', () => {
    const used = programs(KUBO_INIT_SCRIPT)
    expect(used).toEqual(expect.arrayContaining(['ipfs', 'cp', 'chmod', 'rm']))
    for (const name of [`docker.io/ipfs/kubo:${pins.kubo}`, `docker.io/dawn/kubo:${pins.kubo}-late`]) {
      expect(applets(byName(name))).toEqual(expect.arrayContaining(['sh', ...used]))
    }
  })

  it('gives every image a numeric uid:gid, so no passwd lookup decides who runs it', () => {
    for (const s of specs) expect(s.config.user).toMatch(/^\d+:\d+$/)
  })
})
