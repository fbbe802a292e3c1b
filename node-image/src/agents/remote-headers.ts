/**
 * The extra HTTP headers of a remote agent, from its headersFile and
 * headersFromEnv. Header values are secrets: no error quotes one.
 */
import { readFile } from 'node:fs/promises'
import Type from 'typebox'
import { Compile } from 'typebox/compile'
import type { AgentConfig } from '../config/schema.ts'
import { describeIssues } from '../validation/schema-error.ts'

/** headersFile / headersFromEnv cannot be turned into headers. Never carries a header value. */
export class AgentHeadersError extends Error {
  constructor (message: string) {
    super(message)
    this.name = 'AgentHeadersError'
  }
}

const HeaderName = Type.String({ pattern: '^[A-Za-z0-9!#$%&\'*+.^_`|~-]{1,128}$' })
/** No control characters: they would be refused by fetch with the value in the message. */
const HeaderValue = Type.String({ maxLength: 16 * 1024, pattern: '^[^\\u0000-\\u0008\\u000a-\\u001f\\u007f]*$' })
const HeadersFile = Type.Record(HeaderName, HeaderValue, { maxProperties: 64, additionalProperties: false })
const headersFileValidator = Compile(HeadersFile)
const headerValueValidator = Compile(HeaderValue)

/** Reads headersFile and headersFromEnv; errors name the file, header or variable, never a value. */
export async function loadRemoteHeaders (config: Extract<AgentConfig, { kind: 'remote' }>, env: NodeJS.ProcessEnv = process.env): Promise<Record<string, string>> {
  const headers: Record<string, string> = {}
  if (config.headersFile !== undefined) {
    let text: string
    try {
      text = await readFile(config.headersFile, 'utf8')
    } catch (err) {
      throw new AgentHeadersError(`headersFile ${config.headersFile} cannot be read: ${(err as NodeJS.ErrnoException).code ?? 'error'}`)
    }
    let value: unknown
    try {
      value = JSON.parse(text)
    } catch {
      // The parser's message quotes the input, which is secret.
      throw new AgentHeadersError(`headersFile ${config.headersFile} is not valid JSON`)
    }
    if (!headersFileValidator.Check(value)) {
      const issues = describeIssues(headersFileValidator.Errors(value)).map((issue) => issue.replace(/: .*$/, ''))
      throw new AgentHeadersError(`headersFile ${config.headersFile} must be a JSON object of header name → string value without control characters (bad: ${[...new Set(issues)].join(', ')})`)
    }
    Object.assign(headers, value)
  }
  for (const [header, variable] of Object.entries(config.headersFromEnv ?? {})) {
    const value = env[variable]
    if (value === undefined || value === '') throw new AgentHeadersError(`headersFromEnv: environment variable ${variable} (for header ${header}) is not set`)
    if (!headerValueValidator.Check(value)) throw new AgentHeadersError(`headersFromEnv: environment variable ${variable} (for header ${header}) holds control characters or is too long`)
    headers[header] = value
  }
  return headers
}
