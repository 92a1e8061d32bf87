import {redactString} from '../core/config/redact.js'
import type {LogConfig} from '../core/config/schema.js'
import {loggerFrom, type Logger, type LogLevel} from '../core/log.js'
import {color, colorEnabled} from './render/color.js'

const RANK: Record<LogLevel, number> = {debug: 10, info: 20, warn: 30, error: 40}

/**
 * The edge's logger for long-running commands (`mon collect`, the daemon): one line per event on
 * stderr — `time level message key=value…` on a terminal, JSON lines otherwise (log.format) —
 * at or above log.level, with every configured secret redacted.
 */
export function createCliLogger(cfg: Pick<LogConfig, 'level' | 'format'>, opts: {secrets?: readonly string[]; stream?: NodeJS.WriteStream; debug?: boolean} = {}): Logger {
  const stream = opts.stream ?? process.stderr
  const min = RANK[opts.debug ? 'debug' : cfg.level]
  const json = cfg.format === 'json' || (cfg.format === 'auto' && !stream.isTTY)
  const secrets = opts.secrets ?? []
  const c = color(stream)
  const paint: Record<LogLevel, (s: string) => string> = {debug: c.dim, info: c.cyan, warn: c.yellow, error: c.red}
  return loggerFrom((level, msg, all) => {
    if (RANK[level] < min) return
    let line: string
    if (json) {
      line = JSON.stringify({time: new Date().toISOString(), level, msg, ...all})
    } else {
      const kv = Object.entries(all)
        .map(([k, v]) => `${k}=${formatValue(v)}`)
        .join(' ')
      const time = new Date().toISOString().replace(/\.\d+Z$/, 'Z')
      line = `${colorEnabled(stream) ? c.dim(time) : time} ${paint[level](level.padEnd(5))} ${msg}${kv ? ' ' + kv : ''}`
    }
    stream.write(redactString(line, secrets) + '\n')
  })
}

function formatValue(v: unknown): string {
  const s = typeof v === 'string' ? v : JSON.stringify(v)
  return typeof v === 'string' && /^[\w.:/@+-]+$/.test(s) ? s : JSON.stringify(s)
}
