/** A resource does not match its schema; `issues` are `path: message` lines. */
export class ResourceValidationError extends Error {
  readonly issues: string[]
  constructor (what: string, issues: string[]) {
    super(`${what} is invalid:\n  - ${issues.join('\n  - ')}`)
    this.name = 'ResourceValidationError'
    this.issues = issues
  }
}
