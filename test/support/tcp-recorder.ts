import { createConnection, createServer, type Socket } from 'node:net'
import { once } from 'node:events'

/** A TCP forwarder that keeps every byte it carries, so a test can say what a wire saw. */
export interface TcpRecorder {
  port: number
  /** Bytes carried so far, both directions. */
  total: () => number
  /** Whether `needle` appears anywhere in either direction. */
  saw: (needle: Uint8Array) => boolean
  close: () => Promise<void>
}

export async function startTcpRecorder (listen: { host: string }, target: { host: string, port: number }): Promise<TcpRecorder> {
  const chunks: { up: Buffer[], down: Buffer[] } = { up: [], down: [] }
  const sockets = new Set<Socket>()
  const server = createServer(client => {
    const upstream = createConnection(target)
    for (const s of [client, upstream]) {
      sockets.add(s)
      s.on('close', () => sockets.delete(s))
      s.on('error', () => { client.destroy(); upstream.destroy() })
    }
    client.on('data', (b: Buffer) => { chunks.up.push(b); upstream.write(b) })
    upstream.on('data', (b: Buffer) => { chunks.down.push(b); client.write(b) })
    client.on('end', () => upstream.end())
    upstream.on('end', () => client.end())
  })
  server.listen(0, listen.host)
  await once(server, 'listening')
  const address = server.address()
  if (address === null || typeof address === 'string') throw new Error('recorder has no port')
  return {
    port: address.port,
    total: () => [...chunks.up, ...chunks.down].reduce((n, b) => n + b.byteLength, 0),
    saw: needle => Buffer.concat(chunks.up).includes(Buffer.from(needle)) || Buffer.concat(chunks.down).includes(Buffer.from(needle)),
    close: async () => {
      for (const s of sockets) s.destroy()
      server.close()
      await once(server, 'close').catch(() => {})
    }
  }
}
