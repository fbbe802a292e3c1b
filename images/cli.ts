// Dawn's container images without Docker:
//
//   npm run images -- build [NAME...]      build OCI archives (default: all); prints name, digest, archive, size
//   npm run images -- list                 the images the spec defines
//   npm run images -- gen-dockerfiles      rewrite the Dockerfiles from images/spec.ts (npm run gen:dockerfiles)
//
// Import an archive into a cluster's containerd with: ctr -n k8s.io images import ARCHIVE
import { stat, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { parseArgs } from 'node:util'
import { buildImages, UnknownImageError } from './build.ts'
import { renderDockerfiles } from './dockerfile.ts'
import { MissingInputError, readPins, REPO_ROOT } from './inputs.ts'
import { imageSpecs } from './spec.ts'

const usage = 'usage: images/cli.ts build [NAME...] | list | gen-dockerfiles'

async function main (): Promise<number> {
  const { positionals, values } = parseArgs({ allowPositionals: true, options: { help: { type: 'boolean', short: 'h' } } })
  const [cmd, ...names] = positionals
  if (values.help === true || cmd === undefined) {
    console.error(usage)
    return values.help === true ? 0 : 2
  }
  const err = (m: string): void => { console.error(`images: ${m}`) }

  switch (cmd) {
    case 'build': {
      // Ctrl-C stops the build; temporary files are removed and the cache stays consistent.
      const ac = new AbortController()
      const onSignal = (): void => { ac.abort(new Error('interrupted')) }
      process.once('SIGINT', onSignal)
      process.once('SIGTERM', onSignal)
      const t0 = Date.now()
      try {
        const built = await buildImages({ names, signal: ac.signal, log: err })
        for (const b of built) {
          const { size } = await stat(b.archive)
          console.log(`${b.name}\n  digest:  ${b.digest}\n  archive: ${b.archive}\n  size:    ${(size / 2 ** 20).toFixed(1)} MiB`)
        }
        err(`${built.length} image(s) in ${((Date.now() - t0) / 1000).toFixed(1)} s; import with: ctr -n k8s.io images import ARCHIVE`)
        return 0
      } finally {
        process.removeListener('SIGINT', onSignal)
        process.removeListener('SIGTERM', onSignal)
      }
    }
    case 'list': {
      if (names.length > 0) { console.error(usage); return 2 }
      for (const s of imageSpecs(readPins())) console.log(`${s.name.padEnd(36)} ${s.summary}${s.dockerfile === undefined ? '' : ` (${s.dockerfile.path})`}`)
      return 0
    }
    case 'gen-dockerfiles': {
      if (names.length > 0) { console.error(usage); return 2 }
      for (const [path, text] of renderDockerfiles(imageSpecs(readPins()), readPins())) {
        await writeFile(join(REPO_ROOT, path), text)
        err(`wrote ${path}`)
      }
      return 0
    }
    default:
      console.error(usage)
      return 2
  }
}

main().then(code => { process.exitCode = code }, (e: unknown) => {
  const known = e instanceof MissingInputError || e instanceof UnknownImageError
  console.error(`images: ${known || !(e instanceof Error) ? String(e instanceof Error ? e.message : e) : e.stack ?? e.message}`)
  process.exitCode = 1
})
