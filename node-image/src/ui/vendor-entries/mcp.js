// Bundler input for /ui/vendor/mcp.js (scripts/ui-vendor.ts): the official MCP client and
// the MCP Apps host bridge, loaded on the page's first agent.
import './zod-jitless.js'

export { Client, StreamableHTTPClientTransport, ProtocolError } from '@modelcontextprotocol/client'
export { CfWorkerJsonSchemaValidator } from '@modelcontextprotocol/client/validators/cf-worker'
export { AppBridge, PostMessageTransport, getToolUiResourceUri, buildAllowAttribute, RESOURCE_MIME_TYPE } from '@modelcontextprotocol/ext-apps/app-bridge'
