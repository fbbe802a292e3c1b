// The packet delayer behind flaky links (link-delay.c): built once with gcc, cached by the
// hash of its source, and run inside a node's namespace where it serves NFQUEUE 0.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process'
import { createHash } from 'node:crypto'
import { existsSync, mkdirSync, readFileSync, renameSync } from 'node:fs'
import { homedir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const SOURCE = fileURLToPath(new URL('./link-delay.c', import.meta.url))
const GCC_COMMAND = 'apt-get install -y --no-install-recommends gcc libc6-dev'

export class LinkDelayError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'LinkDelayError'
  }
}

let built: string | undefined

/** The compiled delayer, built on first use into ~/.cache/dawn/chaos. */
export function linkDelayBinary (): string {
  if (built !== undefined) return built
  const source = readFileSync(SOURCE)
  const dir = join(process.env.DAWN_CACHE_DIR ?? join(homedir(), '.cache', 'dawn'), 'chaos')
  const bin = join(dir, `link-delay-${createHash('sha256').update(source).digest('hex').slice(0, 12)}`)
  if (!existsSync(bin)) {
    mkdirSync(dir, { recursive: true })
    const tmp = `${bin}.${process.pid}.tmp`
    try {
      execFileSync('gcc', ['-O2', '-Wall', '-o', tmp, SOURCE], { stdio: ['ignore', 'ignore', 'pipe'] })
    } catch (err) {
      const e = err as NodeJS.ErrnoException & { stderr?: Buffer }
      if (e.code === 'ENOENT') throw new LinkDelayError(`gcc is missing (it builds the packet delayer of flaky links): run sh scripts/install-debian-packages.sh (or ${GCC_COMMAND})`)
      throw new LinkDelayError(`building ${SOURCE} failed: ${e.stderr?.toString() ?? e.message}`)
    }
    renameSync(tmp, bin)
  }
  built = bin
  return bin
}

/** Starts the delayer in `netns` and resolves once it has bound the queue. */
export async function startLinkDelay (netns: string, delayMs: number, jitterMs: number): Promise<ChildProcess> {
  const child = spawn('ip', ['netns', 'exec', netns, linkDelayBinary(), String(Math.round(delayMs)), String(Math.round(jitterMs))], { stdio: ['ignore', 'pipe', 'pipe'] })
  let err = ''
  child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => { child.kill('SIGKILL'); reject(new LinkDelayError(`link-delay in ${netns} did not start: ${err}`)) }, 10_000)
    child.stdout.setEncoding('utf8').once('data', () => { clearTimeout(timer); resolve() })
    child.once('exit', code => { clearTimeout(timer); reject(new LinkDelayError(`link-delay in ${netns} exited with ${code}: ${err}`)) })
  })
  return child
}
