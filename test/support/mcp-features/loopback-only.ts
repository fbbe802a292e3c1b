// Preloaded (`node --import`) into server-everything, which calls `app.listen(PORT)` and so would
// listen on every interface: a listen given only a port is pinned to 127.0.0.1 instead.
import { Server } from 'node:net'

const listen = Object.getOwnPropertyDescriptor(Server.prototype, 'listen')?.value as (this: Server, ...a: unknown[]) => Server
Server.prototype.listen = function (this: Server, ...args: unknown[]): Server {
  const portOnly = typeof args[0] === 'number' || (typeof args[0] === 'string' && /^\d+$/.test(args[0]))
  if (portOnly && typeof args[1] !== 'string') args.splice(1, 0, '127.0.0.1')
  return listen.apply(this, args)
} as Server['listen']
