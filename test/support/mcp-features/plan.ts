// What the feature probes do against server-everything, in one place: the TypeScript probe reads
// it directly and the Python probe receives it as JSON, so the two cannot drift apart.
import type { NameMap } from './names.ts'

export type Era = '2025-11-25' | '2026-07-28'

/** The tools of server-everything the probe needs; the conditional ones appear only for a client with the capability. */
export const TOOLS = [
  'echo', 'get-annotated-message', 'get-resource-links', 'get-resource-reference', 'get-structured-content',
  'get-tiny-image', 'gzip-file-as-resource', 'toggle-simulated-logging', 'toggle-subscriber-updates',
  'trigger-long-running-operation', 'get-roots-list', 'trigger-elicitation-request', 'trigger-url-elicitation',
  'trigger-sampling-request'
] as const

export const PROMPTS = ['simple-prompt', 'args-prompt', 'completable-prompt', 'resource-prompt'] as const

export const TEXT_TEMPLATE = 'demo://resource/dynamic/text/{resourceId}'
export const BLOB_TEMPLATE = 'demo://resource/dynamic/blob/{resourceId}'
export const STATIC_DOC = 'demo://resource/static/document/features.md'
export const TEMPLATE_TEXT_URI = 'demo://resource/dynamic/text/3'
export const TEMPLATE_BLOB_URI = 'demo://resource/dynamic/blob/4'
export const SUBSCRIBED_URI = 'demo://resource/dynamic/text/1'
/** Listed resources whose original URI starts with this belong to server-everything. */
export const RESOURCE_PREFIX = 'demo://resource/'

/** The inputs and the client's fixed answers. Everything in here crosses to Python as JSON. */
export const INPUTS = {
  echo: { message: 'dawn-probe' },
  annotated: { messageType: 'error', includeImage: true },
  links: { count: 2 },
  reference: { resourceType: 'Text', resourceId: 5 },
  structured: { location: 'Chicago' },
  progress: { duration: 1.5, steps: 3 },
  /** Long enough to be cancelled after its first progress; the server ignores the cancellation and simply finishes later. */
  cancel: { duration: 20, steps: 20 },
  gzip: { name: 'dawn-probe.txt.gz', data: 'data:text/plain;base64,ZGF3bi1wcm9iZQ==', outputType: 'resourceLink' },
  sampling: { prompt: 'dawn-probe question', maxTokens: 16 },
  samplingAnswer: { role: 'assistant', content: { type: 'text', text: 'dawn-probe sampled answer' }, model: 'dawn-probe-model', stopReason: 'endTurn' },
  elicitationAnswer: { name: 'Dawn Probe', check: true, email: 'probe@example.com', integer: 7 },
  urlElicitation: { url: 'https://example.com/dawn-probe', message: 'Open the dawn probe page.', elicitationId: 'dawn-probe-url-1' },
  root: { uri: 'file:///dawn-probe/root', name: 'dawn-probe-root' },
  argsPrompt: { city: 'Berlin', state: 'BE' },
  resourcePrompt: { resourceType: 'Text', resourceId: '2' },
  completePrompt: { argument: { name: 'department', value: 'Eng' } },
  completePromptWithContext: { argument: { name: 'name', value: 'A' }, context: { department: 'Engineering' } },
  completeTemplate: { argument: { name: 'resourceId', value: '42' } },
  logLevel: 'debug',
  /** How long to wait for a notification (log, update, list_changed); server-everything repeats its simulated ones every 5 s. */
  waitMs: 15_000
} as const

/** The names the probe uses, resolved through a NameMap: what the probe sends (and what the Python probe receives). */
export interface NameTable {
  tools: Record<string, string>
  prompts: Record<string, string>
  resources: Record<string, string>
  templates: Record<string, string>
}

export function nameTable (names: NameMap): NameTable {
  const table = <K extends string>(keys: readonly K[], map: (k: K) => string): Record<string, string> =>
    Object.fromEntries(keys.map(k => [k, map(k)]))
  return {
    tools: table(TOOLS, n => names.tool(n)),
    prompts: table(PROMPTS, n => names.prompt(n)),
    resources: table([STATIC_DOC, TEMPLATE_TEXT_URI, TEMPLATE_BLOB_URI, SUBSCRIBED_URI], u => names.resourceUri(u)),
    templates: table([TEXT_TEMPLATE, BLOB_TEMPLATE], u => names.templateUri?.(u) ?? u)
  }
}
