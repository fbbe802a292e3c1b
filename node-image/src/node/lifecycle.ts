import type { LogFn } from '../logging/json-logger.ts'

/** A started part: how to stop it again. */
interface Started {
  name: string
  stop: () => Promise<void> | void
}

/**
 * Starts a node's parts in order and stops them in reverse. When a part fails to
 * start, every part started before it is stopped again, so a failed start leaves
 * nothing running (no listener, no timer, no child process).
 */
export class Lifecycle {
  private readonly started: Started[] = []
  private readonly log: LogFn

  constructor (log: LogFn) {
    this.log = log
  }

  /** Runs `start`; once it succeeded, `stop` is on the list. */
  async run<T> (name: string, start: () => Promise<T> | T, stop: (value: T) => Promise<void> | void): Promise<T> {
    const value = await start()
    this.started.push({ name, stop: () => stop(value) })
    return value
  }

  /** Stops what was started, last first. A part that fails to stop is logged, and the rest still stop. */
  async stopAll (): Promise<void> {
    for (const part of this.started.splice(0).reverse()) {
      try {
        await part.stop()
      } catch (err) {
        this.log('warn', 'part failed to stop', { part: part.name, error: (err as Error).message })
      }
    }
  }

  /** Names of the parts running now, in start order. */
  get running (): string[] {
    return this.started.map(p => p.name)
  }
}
