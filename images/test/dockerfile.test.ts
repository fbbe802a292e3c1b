// The committed Dockerfiles are the spec's rendering, so Docker's images and ours cannot drift.
import { readFile } from 'node:fs/promises'
import { join } from 'node:path'
import { describe, expect, it } from 'vitest'
import { GEN_DOCKERFILES_COMMAND, renderDockerfiles } from '../dockerfile.ts'
import { readPins, REPO_ROOT } from '../inputs.ts'
import { OPERATOR_NODE_OPTIONS, imageSpecs } from '../spec.ts'

describe('Dockerfiles', () => {
  const pins = readPins()
  const rendered = renderDockerfiles(imageSpecs(pins), pins)

  it('are rendered for the node and operator images', () => {
    expect([...rendered.keys()].sort()).toEqual(['Dockerfile', 'node-image/Dockerfile'])
  })

  for (const [path, text] of rendered) {
    it(`${path} is up to date with images/spec.ts`, async () => {
      const committed = await readFile(join(REPO_ROOT, path), 'utf8')
      expect(committed, `${path} differs from images/spec.ts; regenerate it with: ${GEN_DOCKERFILES_COMMAND}`).toBe(text)
    })
  }

  it('carry the spec\'s runtime config', () => {
    const node = rendered.get('node-image/Dockerfile') ?? ''
    expect(node).toContain('USER 65532:65532\n')
    expect(node).toContain('EXPOSE 4001 8080\n')
    expect(node).toContain('ENTRYPOINT ["node", "--max-semi-space-size=2", "--heap-growing-percent=50", "--external-memory-accounted-in-global-limit", "--flush-baseline-code", "--bytecode-old-age=2", "node-image/dist/dawn-node.mjs"]\n')
    expect(node).toContain('COPY node-image/dist/dawn-node.mjs node-image/dist/\n')
    expect(node).toContain('CMD ["run", "--config", "/etc/dawn/config/config.json"]\n')
    expect(node).toMatch(/^FROM node:\d+-bookworm-slim AS deps$/m)
    expect(rendered.get('Dockerfile')).toContain(`ENV NODE_OPTIONS="${OPERATOR_NODE_OPTIONS}"\n`)
  })
})
