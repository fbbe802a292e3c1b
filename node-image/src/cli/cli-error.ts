/** A usage or input error: printed without a stack trace, exit code 2 by default. */
export class CliError extends Error {
  readonly exitCode: number
  constructor (message: string, exitCode = 2) {
    super(message)
    this.name = 'CliError'
    this.exitCode = exitCode
  }
}
