import type { Static, TSchema } from 'typebox'
import { Compile } from 'typebox/compile'
import { describeIssues } from './schema-error.ts'

const decoder = new TextDecoder('utf-8', { fatal: true })

/**
 * A parser for one JSON wire message: UTF-8, JSON, then the schema. Anything else
 * becomes the caller's own error (`malformed`), naming at most `issues` schema issues, so
 * each protocol keeps its one error class and metric label.
 */
export function jsonWireParser<T extends TSchema> (schema: T, what: string, malformed: (message: string) => Error, issues = 3): (bytes: Uint8Array) => Static<T> {
  const validator = Compile(schema)
  return (bytes) => {
    let value: unknown
    try {
      value = JSON.parse(decoder.decode(bytes))
    } catch {
      throw malformed(`${what} is not JSON`)
    }
    if (!validator.Check(value)) throw malformed(`${what} is invalid: ${describeIssues(validator.Errors(value)).slice(0, issues).join('; ').slice(0, 300)}`)
    return value
  }
}
