// Compiled validators for the three resources. They check what the CRD's OpenAPI
// schema checks (types, patterns, ranges, defaults); CEL rules run only in the API server.
import { Compile } from 'typebox/compile'
import type { TSchema, Static } from 'typebox'
import { DawnNetworkSchema, type DawnNetwork } from './dawn-network.ts'
import { DawnNodeSchema, type DawnNode } from './dawn-node.ts'
import { DawnAgentSchema, type DawnAgent } from './dawn-agent.ts'
import { ResourceValidationError } from './errors.ts'

export { ResourceValidationError }

export interface ResourceValidator<T> {
  /** True when the value (already defaulted) matches the schema. */
  check: (value: unknown) => value is T
  /** `path: message` for every problem of the value (already defaulted). */
  issues: (value: unknown) => string[]
  /** A copy with schema defaults filled in, as the API server does on write. */
  withDefaults: (value: unknown) => unknown
  /** Defaults, then checks; returns the typed value or throws ResourceValidationError. */
  parse: (value: unknown) => T
}

function validator<S extends TSchema> (kind: string, schema: S): ResourceValidator<Static<S>> {
  const compiled = Compile(schema)
  const issues = (value: unknown): string[] => {
    const out = new Set<string>()
    for (const e of compiled.Errors(value)) {
      // The additionalProperties keyword reports each unknown field twice; keep the readable one.
      if (e.message === 'schema is false') continue
      const path = e.instancePath.replace(/^\//, '').replaceAll('/', '.')
      const params = e.params as { additionalProperties?: string[], requiredProperties?: string[] }
      let message = e.message
      if (params.additionalProperties !== undefined) message = `unknown field(s) ${params.additionalProperties.map(p => `"${p}"`).join(', ')}`
      if (params.requiredProperties !== undefined) message = `missing required field(s) ${params.requiredProperties.map(p => `"${p}"`).join(', ')}`
      out.add(`${path === '' ? '(root)' : path}: ${message}`)
    }
    return [...out]
  }
  const withDefaults = (value: unknown): unknown => compiled.Default(structuredClone(value))
  return {
    check: (value: unknown): value is Static<S> => compiled.Check(value),
    issues,
    withDefaults,
    parse: (value: unknown): Static<S> => {
      const defaulted = withDefaults(value)
      if (compiled.Check(defaulted)) return defaulted
      const name = (defaulted as { metadata?: { name?: unknown } } | null)?.metadata?.name
      throw new ResourceValidationError(typeof name === 'string' ? `${kind} ${name}` : kind, issues(defaulted))
    }
  }
}

export const dawnNetworkValidator: ResourceValidator<DawnNetwork> = validator('DawnNetwork', DawnNetworkSchema)
export const dawnNodeValidator: ResourceValidator<DawnNode> = validator('DawnNode', DawnNodeSchema)
export const dawnAgentValidator: ResourceValidator<DawnAgent> = validator('DawnAgent', DawnAgentSchema)
