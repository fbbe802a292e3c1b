// `npm run e2e -- --kind` on a machine without Docker or kind fails at once and names
// what is missing (this machine has neither a Docker engine nor kind: a real absence;
// helm is made absent by pointing DAWN_HELM_BIN nowhere).
import { spawnSync } from 'node:child_process'
import { dirname } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const ROOT = fileURLToPath(new URL('../../../', import.meta.url))

describe('npm run e2e -- --kind', () => {
  it('without Docker and kind: exits 1 at once, naming both and how to get them', () => {
    // Only Node's own directory and the system's on PATH: no kind; docker's client may exist, its engine does not.
    const PATH = `${dirname(process.execPath)}:/usr/bin:/bin`
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'test/e2e/run.ts', '--kind'], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH, DOCKER_HOST: 'unix:///nonexistent/docker.sock' } })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('npm run e2e -- --kind needs:')
    expect(r.stderr).toMatch(/Docker with a running engine/)
    expect(r.stderr).toMatch(/kind \(not found on PATH; install it with: go install sigs\.k8s\.io\/kind@v\d/)
    // "At once": it never got to creating a cluster or building an image.
    expect(r.stderr).not.toMatch(/kind create cluster|docker build/)
  })

  it('without helm either: names it too, with the command that builds the pinned one', () => {
    const PATH = `${dirname(process.execPath)}:/usr/bin:/bin`
    const r = spawnSync(process.execPath, ['--disable-warning=ExperimentalWarning', 'test/e2e/run.ts', '--kind'], {
      cwd: ROOT, encoding: 'utf8', env: { ...process.env, PATH, DOCKER_HOST: 'unix:///nonexistent/docker.sock', DAWN_HELM_BIN: '/nonexistent/helm' }
    })
    expect(r.status).toBe(1)
    expect(r.stderr).toContain('npm run e2e -- --kind needs:')
    expect(r.stderr).toContain('helm (build the pinned one with: sh scripts/fetch-helm.sh, or put helm on PATH)')
    expect(r.stderr).not.toMatch(/kind create cluster|docker build|helm upgrade/)
  })
})
