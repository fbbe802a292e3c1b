// The value every feature must have when server-everything 2026.8.31 is probed, directly or
// through a Dawn node. Large values (listings, a whole document) are compared by a projection.
import { INPUTS } from './plan.ts'
import type { FeatureName, FeatureOutcomes } from './outcomes.ts'

const RO = { readOnlyHint: true, destructiveHint: false, idempotentHint: true, openWorldHint: false }
const RW = { readOnlyHint: false, destructiveHint: false, idempotentHint: false, openWorldHint: false }
const RW_OPEN = { ...RW, openWorldHint: true }
const tool = (name: string, title: string, annotations: object, outputSchema = false): object => ({ name, title, annotations, outputSchema })
const text = (t: string): object => ({ type: 'text', text: t })
const TINY_PNG_SHA256 = 'a0636f3a4db84acf2dc2a7dd8b208d3dc9498cea1e4a335f3f47f97abd751dd3'
const DOCS = ['architecture', 'extension', 'features', 'how-it-works', 'instructions', 'startup', 'structure']
const completion = (values: string[]): object => ({ completion: { values, total: values.length, hasMore: false } })

type Obj = Record<string, unknown>
const list = (v: unknown): Obj[] => (Array.isArray(v) ? v : []) as Obj[]

/** The parts of the large features that are checked against EXPECTED; the rest are compared whole. */
export function projectForExpectation (o: FeatureOutcomes): Record<FeatureName, unknown> {
  const f = { ...o.features }
  if (!isError(f['tools/list'])) f['tools/list'] = list(f['tools/list']).map(t => ({ name: t.name, title: t.title, annotations: t.annotations, outputSchema: t.outputSchema !== undefined }))
  if (!isError(f['resources/list'])) f['resources/list'] = list(f['resources/list']).map(r => r.uri)
  const read = f['resources/read'] as { contents?: Obj[] } | undefined
  if (!isError(read)) {
    f['resources/read'] = (read?.contents ?? []).map(c => ({ uri: c.uri, mimeType: c.mimeType, heading: String(c.text).split('\n')[0] }))
  }
  return f
}

const isError = (v: unknown): boolean => typeof v === 'object' && v !== null && 'error' in v

export const EXPECTED: Record<FeatureName, unknown> = {
  'tools/list': [
    tool('echo', 'Echo Tool', RO),
    tool('get-annotated-message', 'Get Annotated Message Tool', RO),
    tool('get-resource-links', 'Get Resource Links Tool', RO),
    tool('get-resource-reference', 'Get Resource Reference Tool', RO),
    tool('get-roots-list', 'Get Roots List Tool', RO),
    tool('get-structured-content', 'Get Structured Content Tool', RO, true),
    tool('get-tiny-image', 'Get Tiny Image Tool', RO),
    tool('gzip-file-as-resource', 'GZip File as Resource Tool', { ...RW_OPEN, idempotentHint: true }),
    tool('toggle-simulated-logging', 'Toggle Simulated Logging', RW),
    tool('toggle-subscriber-updates', 'Toggle Subscriber Updates', RW),
    tool('trigger-elicitation-request', 'Trigger Elicitation Request Tool', RW),
    tool('trigger-long-running-operation', 'Trigger Long Running Operation Tool', RO),
    tool('trigger-sampling-request', 'Trigger Sampling Request Tool', RW_OPEN),
    tool('trigger-url-elicitation', 'Trigger URL Elicitation Tool', RW_OPEN)
  ],
  'tool/text': { content: [text('Echo: dawn-probe')] },
  'tool/image': { content: [text("Here's the image you requested:"), { type: 'image', dataSha256: TINY_PNG_SHA256, mimeType: 'image/png' }, text('The image above is the MCP logo.')] },
  'tool/annotations': {
    content: [
      { ...text('Error: Operation failed'), annotations: { audience: ['user', 'assistant'], priority: 1 } },
      { type: 'image', dataSha256: TINY_PNG_SHA256, mimeType: 'image/png', annotations: { audience: ['user'], priority: 0.5 } }
    ]
  },
  'tool/resource-links': {
    content: [
      text('Here are 2 resource links to resources available in this server:'),
      { type: 'resource_link', name: 'Blob Resource 1', uri: 'demo://resource/dynamic/blob/1', description: 'Resource 1: plaintext resource', mimeType: 'text/plain' },
      { type: 'resource_link', name: 'Text Resource 2', uri: 'demo://resource/dynamic/text/2', description: 'Resource 2: plaintext resource', mimeType: 'text/plain' }
    ]
  },
  'tool/embedded-resource': {
    content: [
      text('Returning resource reference for Resource 5:'),
      { type: 'resource', resource: { uri: 'demo://resource/dynamic/text/5', mimeType: 'text/plain', text: 'Resource 5: This is a plaintext resource created at <time>' } },
      text('You can access this resource using the URI: demo://resource/dynamic/text/5')
    ]
  },
  'tool/structured-output': {
    content: [text('{"temperature":36,"conditions":"Light rain / drizzle","humidity":82}')],
    structuredContent: { temperature: 36, conditions: 'Light rain / drizzle', humidity: 82 }
  },
  progress: { received: true, monotonic: true, totals: [3], result: ['Long running operation completed. Duration: 1.5 seconds, Steps: 3.'] },
  cancellation: { rejectedAfterProgress: true, afterwards: ['Echo: dawn-probe'] },
  logging: { received: true, wellFormed: true, started: true },
  sampling: {
    request: {
      messages: [{ role: 'user', content: text(`Resource trigger-sampling-request context: ${INPUTS.sampling.prompt}`) }],
      systemPrompt: 'You are a helpful test server.',
      maxTokens: INPUTS.sampling.maxTokens
    },
    result: INPUTS.samplingAnswer
  },
  'elicitation/form': {
    request: {
      mode: 'form',
      message: 'Please provide inputs for the following fields:',
      fields: ['birthdate', 'check', 'email', 'firstLine', 'homepage', 'integer', 'legacyTitledEnum', 'name', 'number',
        'titledMultipleSelectEnum', 'titledSingleSelectEnum', 'untitledMultipleSelectEnum', 'untitledSingleSelectEnum'],
      required: ['name']
    },
    // Written out, not derived from INPUTS, so a changed answer shows here.
    result: ['✅ User provided the requested information!', 'User inputs:\n- Name: Dawn Probe\n- Agreed to terms: true\n- Email: probe@example.com\n- Favorite Integer: 7']
  },
  'elicitation/url': {
    request: { mode: 'url', ...INPUTS.urlElicitation },
    result: [`✅ User completed the URL elicitation flow.\nElicitation ID: ${INPUTS.urlElicitation.elicitationId}\nURL: ${INPUTS.urlElicitation.url}`]
  },
  roots: {
    content: [text(`Current MCP Roots (1 total):\n\n1. ${INPUTS.root.name}\n   URI: ${INPUTS.root.uri}\n\nNote: This server demonstrates the roots protocol capability but doesn't actually access files. The roots are provided by the MCP client and can be used by servers that need file system access.`)]
  },
  'resources/list': DOCS.map(d => `demo://resource/static/document/${d}.md`),
  'resources/read': [{ uri: 'demo://resource/static/document/features.md', mimeType: 'text/markdown', heading: '# Everything Server - Features' }],
  'resources/templates/list': [
    { name: 'Dynamic Blob Resource', uriTemplate: 'demo://resource/dynamic/blob/{resourceId}', description: 'Binary (base64) dynamic resource fabricated from the {resourceId} variable, which must be an integer.', mimeType: 'application/octet-stream' },
    { name: 'Dynamic Text Resource', uriTemplate: 'demo://resource/dynamic/text/{resourceId}', description: 'Plaintext dynamic resource fabricated from the {resourceId} variable, which must be an integer.', mimeType: 'text/plain' }
  ],
  'resources/read-template': [
    { contents: [{ uri: 'demo://resource/dynamic/text/3', mimeType: 'text/plain', text: 'Resource 3: This is a plaintext resource created at <time>' }] },
    { contents: [{ uri: 'demo://resource/dynamic/blob/4', mimeType: 'text/plain', blobText: 'Resource 4: This is a base64 blob created at <time>' }] }
  ],
  'resources/subscribe': { updated: ['demo://resource/dynamic/text/1'] },
  'resources/list-changed': {
    notified: true,
    result: { content: [{ type: 'resource_link', name: INPUTS.gzip.name, uri: `demo://resource/session/${INPUTS.gzip.name}`, mimeType: 'application/gzip' }] }
  },
  'prompts/list': [
    { name: 'args-prompt', title: 'Arguments Prompt', description: 'A prompt with two arguments, one required and one optional', arguments: [{ name: 'city', description: 'Name of the city', required: true }, { name: 'state', required: false }] },
    { name: 'completable-prompt', title: 'Team Management', description: 'First argument choice narrows values for second argument.', arguments: [{ name: 'department', description: 'Choose the department.', required: true }, { name: 'name', description: 'Choose a team member to lead the selected department.', required: true }] },
    { name: 'resource-prompt', title: 'Resource Prompt', description: 'A prompt that includes an embedded resource reference', arguments: [{ name: 'resourceType', description: 'Type of resource to fetch', required: true }, { name: 'resourceId', description: 'ID of the text resource to fetch', required: true }] },
    { name: 'simple-prompt', title: 'Simple Prompt', description: 'A prompt with no arguments' }
  ],
  'prompts/get': { messages: [{ role: 'user', content: text("What's weather in Berlin, BE?") }] },
  'prompts/get-embedded': {
    messages: [
      { role: 'user', content: text('This prompt includes the Text resource with id: 2. Please analyze the following resource:') },
      { role: 'user', content: { type: 'resource', resource: { uri: 'demo://resource/dynamic/text/2', mimeType: 'text/plain', text: 'Resource 2: This is a plaintext resource created at <time>' } } }
    ]
  },
  'completion/prompt': [completion(['Engineering']), completion(['Alice'])],
  'completion/template': completion(['42'])
}
