// Structured logs: one JSON object per line on stderr, so `kubectl logs` output can be fed to
// any log pipeline without parsing free text. stdout stays free for command output.

export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFields = Record<string, unknown>

export interface Logger {
  debug: (msg: string, fields?: LogFields) => void
  info: (msg: string, fields?: LogFields) => void
  warn: (msg: string, fields?: LogFields) => void
  error: (msg: string, fields?: LogFields) => void
  /** A logger that adds `fields` to every line (e.g. `{ component: 'informer', resource: 'pods' }`). */
  child: (fields: LogFields) => Logger
  isLevelEnabled: (level: LogLevel) => boolean
}

export interface LoggerInit {
  /** Minimum level written; default from `LOG_LEVEL` or `info`. */
  level?: LogLevel
  /** Fields on every line. */
  fields?: LogFields
  /** Where lines go; default process.stderr. */
  write?: (line: string) => void
  /** Clock; default Date.now (tests pin it). */
  now?: () => number
}

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

export function isLogLevel (s: unknown): s is LogLevel {
  return s === 'debug' || s === 'info' || s === 'warn' || s === 'error'
}

/** Errors do not survive JSON.stringify (their fields are non-enumerable); keep what helps. */
function plain (v: unknown, depth = 0): unknown {
  if (v instanceof Error) {
    const o: Record<string, unknown> = { name: v.name, message: v.message }
    const status = (v as { status?: unknown }).status
    if (typeof status === 'number') o.status = status
    const reason = (v as { reason?: unknown }).reason
    if (typeof reason === 'string') o.reason = reason
    if (v.cause !== undefined && depth < 3) o.cause = plain(v.cause, depth + 1)
    return o
  }
  if (typeof v === 'bigint') return v.toString()
  return v
}

export function createLogger (init: LoggerInit = {}): Logger {
  const envLevel = process.env.LOG_LEVEL
  const level: LogLevel = init.level ?? (isLogLevel(envLevel) ? envLevel : 'info')
  const write = init.write ?? ((line: string): void => { process.stderr.write(line) })
  const now = init.now ?? Date.now
  return build(RANK[level], init.fields ?? {}, write, now)
}

function build (min: number, base: LogFields, write: (line: string) => void, now: () => number): Logger {
  const emit = (level: LogLevel, msg: string, fields?: LogFields): void => {
    if (RANK[level] < min) return
    const rec: Record<string, unknown> = { level, time: new Date(now()).toISOString(), msg }
    for (const [k, v] of Object.entries(base)) rec[k] = plain(v)
    if (fields !== undefined) for (const [k, v] of Object.entries(fields)) rec[k] = plain(v)
    let line: string
    try {
      line = JSON.stringify(rec)
    } catch {
      // Cyclic or otherwise unserialisable field: never lose the message itself.
      line = JSON.stringify({ level, time: rec.time, msg, fieldsError: 'unserialisable fields' })
    }
    write(line + '\n')
  }
  return {
    debug: (m, f) => { emit('debug', m, f) },
    info: (m, f) => { emit('info', m, f) },
    warn: (m, f) => { emit('warn', m, f) },
    error: (m, f) => { emit('error', m, f) },
    child: fields => build(min, { ...base, ...fields }, write, now),
    isLevelEnabled: l => RANK[l] >= min
  }
}

/** Discards everything (default for components constructed without a logger). */
export const silentLogger: Logger = {
  debug: () => {},
  info: () => {},
  warn: () => {},
  error: () => {},
  child: () => silentLogger,
  isLevelEnabled: () => false
}
