import type { TSchema } from 'typebox'
import { Compile } from 'typebox/compile'

/** A value failed its schema; `issues` name each offending path. */
export class SchemaValidationError extends Error {
  readonly issues: string[]
  constructor (what: string, issues: string[]) {
    super(`${what} is invalid: ${issues.join('; ')}`)
    this.name = 'SchemaValidationError'
    this.issues = issues
  }
}

interface ValidationIssue { instancePath: string, message: string, params?: unknown }

/** Turns typebox/ajv-style errors into `path: message` lines a person can act on. */
export function describeIssues (errors: readonly ValidationIssue[], root = ''): string[] {
  const out = new Set<string>()
  for (const e of errors) {
    let path = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
    let message = e.message
    const params = e.params as { additionalProperties?: string[], requiredProperties?: string[] } | undefined
    if (params?.additionalProperties != null) message = `unknown field(s) ${params.additionalProperties.map(p => `"${p}"`).join(', ')}`
    if (params?.requiredProperties != null) message = `missing required field(s) ${params.requiredProperties.map(p => `"${p}"`).join(', ')}`
    if (message === 'schema is false') continue // duplicate of the additionalProperties message
    path = [root, path].filter(Boolean).join('.')
    out.add(`${path === '' ? '(root)' : path}: ${message}`)
  }
  return [...out]
}

/** A compiled schema that either returns the typed value (with defaults) or throws. */
export function compileParser<T extends TSchema> (schema: T, what: string): (value: unknown) => import('typebox').Static<T> {
  const validator = Compile(schema)
  return (value: unknown) => {
    const withDefaults = validator.Default(structuredClone(value))
    if (validator.Check(withDefaults)) return withDefaults
    throw new SchemaValidationError(what, describeIssues(validator.Errors(withDefaults)))
  }
}

/** JSON text checked against a schema; `fail` turns the first problem into the caller's own error. */
export function jsonParser<T extends TSchema> (schema: T, fail: (problem: string) => Error): (text: string) => import('typebox').Static<T> {
  const validator = Compile(schema)
  return (text: string) => {
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch (err) {
      throw fail(`not JSON (${(err as Error).message})`)
    }
    if (!validator.Check(value)) throw fail(`invalid: ${describeIssues(validator.Errors(value)).join('; ')}`)
    return value
  }
}
