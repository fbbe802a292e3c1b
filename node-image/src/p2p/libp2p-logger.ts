/**
 * libp2p makes loggers per connection, per stream and per protocol negotiation, several
 * for every stream. Each is a set of `debug` instances, and each instance asks whether
 * stderr is a TTY (four syscalls) and matches its name against DEBUG. With DEBUG unset
 * none of them ever prints, so one silent logger serves them all: at idle in a 20-node
 * mesh that was ~30 loggers a second per node, for liveness pings alone.
 */
import type { ComponentLogger, Logger } from '@libp2p/interface'

const silent: Logger = Object.assign((): void => {}, {
  error: (): void => {},
  trace: (): void => {},
  enabled: false,
  newScope: (): Logger => silent
})

const SILENT: ComponentLogger = { forComponent: () => silent }

/** The `logger` option for createLibp2p: silent unless DEBUG asks for libp2p's logs (then libp2p's own). */
export function libp2pLoggerOption (debug: string | undefined = process.env.DEBUG): { logger?: ComponentLogger } {
  return debug === undefined || debug.trim() === '' ? { logger: SILENT } : {}
}
