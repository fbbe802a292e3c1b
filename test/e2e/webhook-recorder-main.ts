// An Alertmanager webhook receiver for the live alert test: runs inside the cluster's
// network namespace and appends every notification it receives, one JSON line each, to a
// file the test reads.   args: <host> <port> <file>
import { appendFileSync } from 'node:fs'
import { createServer } from 'node:http'

const [host, port, file] = process.argv.slice(2)
if (host === undefined || port === undefined || file === undefined) {
  console.error('usage: webhook-recorder-main.ts <host> <port> <file>')
  process.exit(2)
}
const server = createServer((req, res) => {
  let body = ''
  req.setEncoding('utf8')
  req.on('data', (c: string) => { if (body.length < 1_000_000) body += c })
  req.on('end', () => {
    try { appendFileSync(file, JSON.stringify(JSON.parse(body)) + '\n') } catch { /* not JSON: not a notification */ }
    res.writeHead(200).end()
  })
})
server.listen(Number(port), host, () => { console.log(`recording notifications to ${file}`) })
process.once('SIGTERM', () => { server.close(); process.exit(0) })
