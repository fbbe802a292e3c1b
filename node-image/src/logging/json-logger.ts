export type LogLevel = 'debug' | 'info' | 'warn' | 'error'
export type LogFn = (level: LogLevel, msg: string, fields?: Record<string, unknown>) => void

const ORDER: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40 }

/** Structured JSON lines on stderr; stdout stays free for command output. */
export function createJsonLogger (opts: { level: LogLevel, bindings?: Record<string, unknown>, write?: (line: string) => void }): LogFn {
  const write = opts.write ?? ((line: string) => { process.stderr.write(line + '\n') })
  return (level, msg, fields) => {
    if (ORDER[level] < ORDER[opts.level]) return
    write(JSON.stringify({ time: new Date().toISOString(), level, msg, ...opts.bindings, ...fields }))
  }
}

export const silentLogger: LogFn = () => {}
