import { parseArgs } from 'node:util'
import { OVERRIDES } from '../config/overrides.ts'
import { CliError } from './cli-error.ts'

type Options = Record<string, { type: 'string' | 'boolean' }>

/** Parses `--config` plus every config override flag (and `--help`). */
export function parseOverrideFlags (args: string[], extra: Options = {}): { config?: string, help: boolean, flags: Record<string, string | boolean | undefined> } {
  const options: Options = { config: { type: 'string' }, help: { type: 'boolean' }, ...extra }
  for (const o of OVERRIDES) options[o.flag] = { type: 'string' }
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args, options, allowPositionals: false }).values
  } catch (err) {
    throw new CliError((err as Error).message)
  }
  const { config, help, ...flags } = values
  return { ...(typeof config === 'string' ? { config } : {}), help: help === true, flags }
}

export function overridesHelp (): string {
  return OVERRIDES.map(o => `  --${o.flag.padEnd(14)} ${o.env.padEnd(26)} ${o.help}`).join('\n')
}
