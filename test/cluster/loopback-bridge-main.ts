// Runs inside the cluster's network namespace holding listening sockets that were opened in
// the host's namespace (inherited as fds 3, 4, …). A socket stays in the namespace it was
// made in, so this process accepts on host loopback and connects inside the cluster.
//   args: <fd>=<host>:<port> ...
import { connect, createServer, type Socket } from 'node:net'

function pipeBoth (a: Socket, b: Socket): void {
  a.pipe(b)
  b.pipe(a)
  const close = (): void => { a.destroy(); b.destroy() }
  a.once('error', close).once('close', close)
  b.once('error', close).once('close', close)
}

const servers = process.argv.slice(2).map(arg => {
  const m = /^(\d+)=(.+):(\d+)$/.exec(arg)
  if (m === null) throw new Error(`bad bridge argument ${arg}: want <fd>=<host>:<port>`)
  const [fd, host, port] = [Number(m[1]), m[2]!, Number(m[3])]
  const server = createServer({ noDelay: true }, client => {
    const upstream = connect({ host, port, noDelay: true })
    pipeBoth(client, upstream)
  })
  server.on('error', e => { console.error(`bridge fd ${fd} -> ${host}:${port}: ${e.message}`) })
  server.listen({ fd })
  console.log(`bridging fd ${fd} -> ${host}:${port}`)
  return server
})

const stop = (): void => { for (const s of servers) s.close(); process.exit(0) }
process.once('SIGTERM', stop)
process.once('SIGINT', stop)
