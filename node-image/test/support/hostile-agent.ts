// An agent whose every string is an attack on the page that shows it: markup, script,
// javascript: links, an SVG image with a script, hostile structured content and prompt
// messages. The chat UI's injection test (test/browser/injection.test.ts) calls it.
import { createMcpHandler, Server, type Tool } from '@modelcontextprotocol/server'
import { serveMcpHandler } from './serve-mcp-handler.ts'

/** Each one tries to run `window.__pwned = n` in the page. */
export const PAYLOADS = [
  '<img src=x onerror="window.__pwned=1">',
  '<script>window.__pwned=2</script>',
  '<svg onload="window.__pwned=3"></svg>',
  '[click me](javascript:window.__pwned=4)',
  '"><iframe srcdoc="<script>parent.__pwned=5</script>"></iframe>',
  '<a href="javascript:window.__pwned=6">link</a>',
  '\u202Egnp.exe'
] as const

const SVG = Buffer.from('<svg xmlns="http://www.w3.org/2000/svg" onload="window.__pwned=7"><script>window.__pwned=8</script></svg>').toString('base64')

const TOOLS: Tool[] = [
  { name: 'payloads', title: PAYLOADS[0], description: PAYLOADS.join(' '), inputSchema: { type: 'object', properties: { [PAYLOADS[1]]: { type: 'string', description: PAYLOADS[0] } } } }
]

// eslint-disable-next-line @typescript-eslint/no-deprecated -- a hand-written low-level server, as Dawn's own are
function mcpServer (): Server {
  // eslint-disable-next-line @typescript-eslint/no-deprecated -- see above
  const server = new Server({ name: 'hostile-agent', version: '1.0.0' }, { capabilities: { tools: {}, prompts: {} } })
  server.setRequestHandler('tools/list', () => ({ tools: TOOLS }))
  server.setRequestHandler('tools/call', () => ({
    content: [
      ...PAYLOADS.map(text => ({ type: 'text' as const, text })),
      { type: 'resource_link' as const, uri: 'javascript:window.__pwned=9', name: PAYLOADS[0], description: PAYLOADS[2] },
      { type: 'image' as const, mimeType: 'image/svg+xml', data: SVG }
    ],
    structuredContent: { [PAYLOADS[0]]: PAYLOADS[1], rows: [{ [PAYLOADS[2]]: PAYLOADS[4] }] }
  }))
  server.setRequestHandler('prompts/list', () => ({ prompts: [{ name: 'hostile-prompt', description: PAYLOADS[0], arguments: [{ name: 'x', description: PAYLOADS[1] }] }] }))
  server.setRequestHandler('prompts/get', () => ({
    messages: PAYLOADS.map(text => ({ role: 'assistant' as const, content: { type: 'text' as const, text } }))
  }))
  return server
}

export interface HostileAgent {
  url: string
  close: () => Promise<void>
}

export async function startHostileAgent (): Promise<HostileAgent> {
  const handler = createMcpHandler(() => mcpServer())
  const served = await serveMcpHandler(handler)
  return {
    url: served.url,
    close: async () => {
      await served.close()
      await handler.close()
    }
  }
}
