// Imported first by mcp.js, so it runs before the SDK builds any schema: zod probes
// `new Function` unless told not to, and the page's CSP forbids eval.
import { config } from 'zod/v4/core'
config({ jitless: true })
