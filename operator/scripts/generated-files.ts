// The one "write generated files, or with --check report the stale ones" of the gen:*
// scripts. Returns the exit code.
import { mkdir, readFile, writeFile } from 'node:fs/promises'
import { dirname, join } from 'node:path'

export async function syncGeneratedFiles (files: Map<string, string>, o: { dir: string, what: string, command: string, check: boolean }): Promise<number> {
  const stale: string[] = []
  for (const [name, text] of files) {
    const file = join(o.dir, name)
    const current = await readFile(file, 'utf8').catch(() => undefined)
    if (current === text) continue
    if (o.check) {
      stale.push(file)
    } else {
      await mkdir(dirname(file), { recursive: true })
      await writeFile(file, text)
      console.log(`wrote ${file}`)
    }
  }
  if (stale.length === 0) return 0
  console.error(`stale ${o.what} file(s):\n  ${stale.join('\n  ')}\nregenerate with: ${o.command}`)
  return 1
}

/** Runs a gen script's main and sets the exit code. */
export function runGenerator (main: () => Promise<number>): void {
  main().then(code => { process.exitCode = code }, (err: unknown) => {
    console.error(err instanceof Error ? err.message : err)
    process.exitCode = 1
  })
}
