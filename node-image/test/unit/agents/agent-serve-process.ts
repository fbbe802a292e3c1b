// `dawn-node agent serve <builtin> --http 0` as a child process, for the tests that talk to it over HTTP.
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process'
import { fileURLToPath } from 'node:url'

export const MAIN = fileURLToPath(new URL('../../../src/cli/main.ts', import.meta.url))

export interface ServedAgent {
  child: ChildProcessWithoutNullStreams
  exited: Promise<number | null>
  /** The URL the process printed on its first line. */
  url: string
}

/** Starts it and reads the URL it prints; `onCleanup` gets how to stop it (SIGTERM, then wait for the exit). */
export async function serveBuiltinHttp (builtin: string, args: string[], onCleanup: (cleanup: () => Promise<void>) => void): Promise<ServedAgent> {
  const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'agent', 'serve', builtin, '--http', '0', ...args])
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => { resolve(code) }))
  onCleanup(async () => {
    if (child.exitCode === null) child.kill('SIGTERM')
    await exited
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    child.stdout.on('data', (chunk: Buffer) => {
      out += chunk.toString()
      if (out.includes('\n')) resolve(out.split('\n')[0] ?? '')
    })
    child.once('exit', (code) => { reject(new Error(`agent serve exited with ${code}`)) })
  })
  return { child, exited, url }
}
