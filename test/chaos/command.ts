import { spawn } from 'node:child_process'

export class CommandError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'CommandError'
  }
}

/** Runs `cmd` with `stdin` fed in; resolves stdout, rejects with the exit code and stderr. */
export async function runCommand (cmd: string, args: string[], stdin?: string): Promise<string> {
  return await new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['pipe', 'pipe', 'pipe'] })
    let out = ''
    let err = ''
    child.stdout.setEncoding('utf8').on('data', (c: string) => { out += c })
    child.stderr.setEncoding('utf8').on('data', (c: string) => { err += c })
    child.once('error', e => { reject(new CommandError(`${cmd}: ${e.message}`)) })
    child.once('close', code => {
      if (code === 0) resolve(out)
      else reject(new CommandError(`${cmd} ${args.slice(0, 8).join(' ')} exited with ${String(code)}: ${err.trim()}`))
    })
    // A command that exits without reading its input (most do) must not fail the run with EPIPE.
    child.stdin.on('error', () => {})
    child.stdin.end(stdin ?? '')
  })
}
