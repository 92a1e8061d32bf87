import {re2} from '../re2.js'
import {z} from 'zod'
import {cronParser} from '../scheduler/cron.js'
import {regexErrorReason} from '../errors.js'
import {DURATION_EXAMPLES, SIZE_EXAMPLES, isSpelledDuration, tryParseDuration, tryParseSize} from './duration.js'
import {describeValue} from './problems.js'

/**
 * The building blocks of config schemas (sections, numbers, booleans, durations, sizes, intervals,
 * URLs, regexes, host:port), shared by config/schema.ts, the channel files, alert rules and rule
 * tests — as Alertmanager's `config/common`. It stays a leaf: it imports only leaf helpers, never a
 * schema or anything that builds one, so any module may use it without an import cycle
 * (test/unit/import-cycles.test.ts checks).
 */

export const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `key:` with nothing after it means the same as leaving the key out (for the keys the schema knows). */
export function dropEmptyKnownKeys(value: unknown, known: readonly string[]): unknown {
  if (!isPlainObject(value)) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) if (!(v === null && known.includes(k))) out[k] = v
  return out
}

/** A strict object (unknown keys are errors) where an empty known key counts as absent. */
export function section<T extends z.core.$ZodLooseShape>(shape: T) {
  const keys = Object.keys(shape)
  return z.preprocess((v) => dropEmptyKnownKeys(v, keys), z.strictObject(shape))
}

// Values interpolated from the environment arrive as strings; numbers and booleans accept them.
export const coerceInt = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v)
const coerceBool = (v: unknown) => {
  if (typeof v !== 'string') return v
  const s = v.trim().toLowerCase()
  return ['true', 'yes', 'on'].includes(s) ? true : ['false', 'no', 'off'].includes(s) ? false : v
}

export function int(opts: {min?: number; max?: number} = {}) {
  let schema = z.number({error: typeError('an integer (e.g. 5000)')}).int({error: (iss) => `expected an integer (e.g. 5000), got ${describeValue(iss.input)}`})
  if (opts.min !== undefined) schema = schema.min(opts.min)
  if (opts.max !== undefined) schema = schema.max(opts.max)
  return z.preprocess(coerceInt, schema)
}

export function bool() {
  return z.preprocess(coerceBool, z.boolean({error: typeError('true or false')}))
}

/**
 * A schema-level error message for a value of the wrong type only: a missing value and failed
 * checks (min, max, regex) keep their own wording.
 */
export function typeError(expected: string | ((input: unknown) => string)) {
  return (iss: z.core.$ZodRawIssue) => {
    if (iss.input === undefined || (iss.code !== 'invalid_type' && iss.code !== 'invalid_union')) return undefined
    return typeof expected === 'function' ? expected(iss.input) : `expected ${expected}, got ${describeValue(iss.input)}`
  }
}

export function text(what: string, example: string) {
  return z.string({error: typeError(`${what} (e.g. ${example})`)})
}

export const stringList = z.array(z.string())

/** A string where an unquoted number or boolean (`rack: 12`, `[sleep, 5]`) is taken as its text. */
export const scalarString = z.preprocess((v) => (typeof v === 'number' || typeof v === 'boolean' ? String(v) : v), z.string())

export const tagsSchema = z.record(z.string(), scalarString)

/** A duration string: `250ms`, `10s`, `1h30m`, `7d`, `1y`. */
export function duration(opts: {positive?: boolean} = {}) {
  const expected = (input: unknown) =>
    typeof input === 'number'
      ? `expected a duration with a unit (e.g. ${input}s or ${input}ms), got number ${input}`
      : `expected a duration (e.g. 10s, 5m, 1h30m), got ${describeValue(input)}`
  return z.string({error: typeError(expected)}).superRefine((s, ctx) => {
    const ms = tryParseDuration(s)
    if (ms === undefined) {
      ctx.addIssue({code: 'custom', message: invalidDurationMessage(s)})
    } else if (opts.positive && ms <= 0) {
      ctx.addIssue({code: 'custom', message: `must be longer than 0, got ${JSON.stringify(s)}`})
    }
  })
}

function invalidDurationMessage(s: string): string {
  return `invalid duration ${JSON.stringify(s)}: expected a number and a unit (ms, s, m, h, d, w, y), e.g. ${DURATION_EXAMPLES}`
}

const CRON_MACROS = new Set(['@yearly', '@annually', '@monthly', '@weekly', '@daily', '@midnight', '@hourly'])

/** Does this interval string mean a cron schedule (rather than a duration)? */
export function isCronExpression(s: string): boolean {
  const t = s.trim()
  return /\s/.test(t) || t.startsWith('@')
}

/**
 * How often something runs: a duration (`30s`) or a cron expression with 5 or 6 fields
 * (`*\/5 * * * *`, seconds first when there are 6) or a macro (`@hourly`).
 */
export function interval() {
  return text('a duration or a cron expression', '30s or "*/5 * * * *"').superRefine((s, ctx) => {
    const t = s.trim()
    // `10 seconds` has a space, like a cron expression, but it is a duration written in words
    if (isSpelledDuration(t)) {
      ctx.addIssue({code: 'custom', message: invalidDurationMessage(s)})
      return
    }
    if (!isCronExpression(t)) {
      const ms = tryParseDuration(t)
      if (ms === undefined) {
        ctx.addIssue({code: 'custom', message: `invalid interval ${JSON.stringify(s)}: expected a duration (e.g. ${DURATION_EXAMPLES}) or a cron expression (e.g. "*/5 * * * *")`})
      } else if (ms <= 0) ctx.addIssue({code: 'custom', message: `must be longer than 0, got ${JSON.stringify(s)}`})
      return
    }
    const fields = t.split(/\s+/)
    if (t.startsWith('@') ? !CRON_MACROS.has(t) : fields.length !== 5 && fields.length !== 6) {
      ctx.addIssue({
        code: 'custom',
        message: `invalid cron expression ${JSON.stringify(s)}: expected 5 fields (minute hour day month weekday), 6 with seconds first, or one of ${[...CRON_MACROS].join(', ')}`,
      })
      return
    }
    try {
      cronParser().parse(t)
    } catch (err) {
      ctx.addIssue({code: 'custom', message: `invalid cron expression ${JSON.stringify(s)}: ${err instanceof Error ? err.message : String(err)}`})
    }
  })
}

/** A size: a number of bytes or `512MB`, `32MiB`, `1GiB`. Kept as a string (`parseSize` reads it). */
export function size() {
  return z
    .union([z.string(), z.number()], {error: typeError(`a size (e.g. ${SIZE_EXAMPLES})`)})
    .superRefine((v, ctx) => {
      if (tryParseSize(v) === undefined) {
        ctx.addIssue({code: 'custom', message: `invalid size ${JSON.stringify(v)}: expected a number and a unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. ${SIZE_EXAMPLES}`})
      }
    })
    .transform((v) => String(v))
}

/** An http(s) URL. */
export function httpUrl() {
  return text('an http(s) URL', 'https://example.com/health').superRefine((s, ctx) => {
    let url: URL
    try {
      url = new URL(s)
    } catch {
      ctx.addIssue({code: 'custom', message: `invalid URL ${JSON.stringify(s)}: expected e.g. https://example.com/health`})
      return
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({code: 'custom', message: `expected an http:// or https:// URL, got ${JSON.stringify(s)}`})
    }
  })
}

/** A regular expression (JavaScript syntax), checked to compile. */
/**
 * A regular expression in RE2 syntax (Go's regexp, as Prometheus and InfluxDB use): it runs in time
 * linear in its input (model/matcher.ts compileLinearRegex), so text from a remote server (an HTTP
 * check's body) cannot stall mon with a pattern such as `(a|a)*b`. RE2 has no backreferences or
 * lookarounds; a pattern that uses them is refused at load.
 */
export function regex() {
  return text('a regular expression (RE2 syntax)', '"status.*ok"').superRefine((s, ctx) => {
    try {
      re2().compile(s)
    } catch (err) {
      ctx.addIssue({code: 'custom', message: `invalid regular expression ${JSON.stringify(s)}: ${regexErrorReason(err)} (RE2 syntax, as in Go and Prometheus: no backreferences or lookarounds)`})
    }
  })
}

/** `host:port`, `[v6]:port`, `:port` (all interfaces). Undefined if it is not one of those. */
export function parseHostPort(address: string): {host: string; port: number} | undefined {
  const m = /^(?:\[([^\]]+)\]|([^\s:[\]]*)):(\d{1,5})$/.exec(address.trim())
  if (!m) return undefined
  const port = Number(m[3])
  if (port > 65535) return undefined
  return {host: m[1] ?? m[2] ?? '', port}
}

/** 127.0.0.0/8, ::1 and localhost; an empty host (`:9464`) or 0.0.0.0 means every interface. */
export function isLoopbackHost(host: string): boolean {
  const h = host.toLowerCase().replace(/^\[|\]$/g, '')
  if (h === 'localhost' || h === '::1' || h === '0:0:0:0:0:0:0:1') return true
  if (/^::ffff:127\.\d+\.\d+\.\d+$/.test(h)) return true
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(h)
}

export function listenAddress(opts: {allowPortZero?: boolean} = {}) {
  return text('a listen address host:port', '127.0.0.1:9464').superRefine((s, ctx) => {
    const hp = parseHostPort(s)
    if (!hp || (!opts.allowPortZero && hp.port === 0)) ctx.addIssue({code: 'custom', message: `invalid listen address ${JSON.stringify(s)}: expected host:port, e.g. 127.0.0.1:9464, [::1]:9464 or 0.0.0.0:9464`})
  })
}

/** `host:port` to connect to. */
export function dialAddress() {
  return text('an address host:port', 'db.example.com:5432').superRefine((s, ctx) => {
    const hp = parseHostPort(s)
    if (!hp || hp.host === '' || hp.port === 0) ctx.addIssue({code: 'custom', message: `invalid address ${JSON.stringify(s)}: expected host:port, e.g. db.example.com:5432 or [2001:db8::1]:443`})
  })
}

// The server sections (inputs.listener, api) share these; here so an input file can use them.

/** The api/listener rule: listening beyond loopback needs a token. */
export function requireTokenOffLoopback(tokenPath: string) {
  return (v: {listen: string; token?: string | undefined; enabled?: boolean}, ctx: z.RefinementCtx) => {
    if (v.enabled === false) return
    const hp = parseHostPort(v.listen)
    if (hp && !isLoopbackHost(hp.host) && !v.token) {
      ctx.addIssue({code: 'custom', path: ['listen'], message: `a non-loopback listen address needs ${tokenPath}`})
    }
  }
}

/** Per server socket; the systemd unit's LimitNOFILE leaves room for both at this cap. */
export const DEFAULT_MAX_CONNECTIONS = 4096

/**
 * What every server section (inputs.listener, api) has: timeouts, connection caps and TLS
 * (src/core/server/socket.ts says why each exists).
 */
export function serverSocketFields(defaults: {requestTimeout: string; idleTimeout: string}) {
  return {
    header_timeout: duration({positive: true}).default('10s'),
    request_timeout: duration({positive: true}).default(defaults.requestTimeout),
    idle_timeout: duration({positive: true}).default(defaults.idleTimeout),
    max_connections: int({min: 1}).default(DEFAULT_MAX_CONNECTIONS),
    max_connections_per_source: int({min: 1}).default(256),
    tls_cert: z.string().optional(),
    tls_key: z.string().optional(),
    tls_client_ca: z.string().optional(),
  }
}

/** tls_cert and tls_key go together; a client CA is checked only over TLS. */
export function requireTlsPair(sectionPath: string) {
  return (v: {tls_cert?: string | undefined; tls_key?: string | undefined; tls_client_ca?: string | undefined}, ctx: z.RefinementCtx) => {
    if (Boolean(v.tls_cert) !== Boolean(v.tls_key)) {
      const missing = v.tls_cert ? 'tls_key' : 'tls_cert'
      ctx.addIssue({code: 'custom', path: [v.tls_cert ? 'tls_cert' : 'tls_key'], message: `${sectionPath}.tls_cert and tls_key go together: set ${sectionPath}.${missing} too`})
    }
    if (v.tls_client_ca && !v.tls_cert) ctx.addIssue({code: 'custom', path: ['tls_client_ca'], message: `${sectionPath}.tls_client_ca needs tls_cert and tls_key (client certificates are checked during the TLS handshake)`})
  }
}
