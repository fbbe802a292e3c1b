/**
 * The `echo` built-in: a predictable agent for tests and benchmarks. `generate`
 * makes large deterministic payloads, `sleep` holds a call open (deadlines,
 * removal mid-call).
 */
import { hash } from 'node:crypto'
import { setTimeout as sleep } from 'node:timers/promises'
import Type from 'typebox'
import { VERSION } from '../../version.ts'
import { defineTool, textResult } from '../define-server.ts'
import type { ServerSpec } from '../define-server.ts'

export const MAX_GENERATE_BYTES = 16 * 1024 * 1024
export const MAX_SLEEP_MS = 60_000
export const DEFAULT_GENERATE_SEED = 'dawn'

/**
 * `bytes` characters of lowercase hex: block 0 is SHA-256(UTF-8 seed), block
 * i+1 is SHA-256(block i) (raw 32 bytes); the text is the blocks' hex, in order,
 * cut to `bytes`.
 */
export function generateText (bytes: number, seed: string = DEFAULT_GENERATE_SEED): string {
  const blocks = Math.ceil(bytes / 64)
  const parts: string[] = new Array<string>(blocks)
  let block = hash('sha256', Buffer.from(seed, 'utf8'), 'buffer')
  for (let i = 0; i < blocks; i++) {
    if (i > 0) block = hash('sha256', block, 'buffer')
    parts[i] = block.toString('hex')
  }
  return parts.join('').slice(0, bytes)
}

export function echoServerSpec (opts: { agentId: string }): ServerSpec {
  return {
    name: 'dawn-echo',
    version: VERSION,
    instructions: 'Echoes text, generates deterministic payloads and sleeps on request; for testing the mesh.',
    tools: [
      defineTool({
        name: 'echo',
        description: 'Return the input text unchanged.',
        input: Type.Object({ text: Type.String({ maxLength: MAX_GENERATE_BYTES, description: 'text to return' }) }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        handler: ({ text }) => textResult(text)
      }),
      defineTool({
        name: 'generate',
        description: 'Return exactly `bytes` characters of hex: SHA-256 chain from `seed` (block 0 = sha256(seed), block n+1 = sha256(block n)).',
        input: Type.Object({
          bytes: Type.Integer({ minimum: 0, maximum: MAX_GENERATE_BYTES, description: 'length of the text, 0..16 MiB' }),
          seed: Type.Optional(Type.String({ maxLength: 1024, description: `seed of the chain (default "${DEFAULT_GENERATE_SEED}")` }))
        }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        handler: ({ bytes, seed }) => textResult(generateText(bytes, seed))
      }),
      defineTool({
        name: 'sleep',
        description: 'Wait `ms` milliseconds, then answer; a cancelled call stops waiting.',
        input: Type.Object({ ms: Type.Integer({ minimum: 0, maximum: MAX_SLEEP_MS, description: 'how long to wait' }) }, { additionalProperties: false }),
        annotations: { readOnlyHint: true, idempotentHint: true, openWorldHint: false },
        handler: async ({ ms }, { signal }) => {
          await sleep(ms, undefined, { signal })
          return textResult(`slept ${ms} ms`)
        }
      })
    ],
    resources: [{
      uri: 'echo://about',
      name: 'about',
      description: 'What this agent is',
      mimeType: 'text/plain',
      read: () => `echo agent "${opts.agentId}" (dawn-node ${VERSION}): tools echo, generate, sleep; prompt echo.`
    }],
    prompts: [{
      name: 'echo',
      description: 'A user message with the given text',
      arguments: [{ name: 'text', description: 'text of the message', required: true }],
      get: (args) => ({ messages: [{ role: 'user', content: { type: 'text', text: args.text ?? '' } }] })
    }]
  }
}
