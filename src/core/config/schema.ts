import {hostname} from 'node:os'
import {cronParser} from '../scheduler/cron.js'
import {z} from 'zod'
import {DURATION_EXAMPLES, SIZE_EXAMPLES, isSpelledDuration, tryParseDuration, tryParseSize} from './duration.js'
import {describeValue} from './problems.js'
import {regexErrorReason} from '../errors.js'
// notify/config.ts builds on the blocks below; its schema is built lazily, so this cycle is harmless.
import {notifyConfigSchema} from '../notify/config.js'

/**
 * The config schema, one exported constant per section so later modules can add their fields in
 * one place. Everything is optional in the file and every default is applied here, so consumers
 * never see `undefined` for a defaulted value. Durations and sizes stay strings as written (use
 * parseDuration / parseSize at the point of use); they are validated here.
 */

// ---------------------------------------------------------------------------------------------
// Building blocks

const isPlainObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v)

/** `key:` with nothing after it means the same as leaving the key out (for the keys the schema knows). */
function dropEmptyKnownKeys(value: unknown, known: readonly string[]): unknown {
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
const coerceInt = (v: unknown) => (typeof v === 'string' && /^\s*-?\d+\s*$/.test(v) ? Number(v) : v)
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
function typeError(expected: string | ((input: unknown) => string)) {
  return (iss: z.core.$ZodRawIssue) => {
    if (iss.input === undefined || (iss.code !== 'invalid_type' && iss.code !== 'invalid_union')) return undefined
    return typeof expected === 'function' ? expected(iss.input) : `expected ${expected}, got ${describeValue(iss.input)}`
  }
}

function text(what: string, example: string) {
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
export function regex() {
  return text('a regular expression', '"status.*ok"').superRefine((s, ctx) => {
    try {
      new RegExp(s)
    } catch (err) {
      ctx.addIssue({code: 'custom', message: `invalid regular expression ${JSON.stringify(s)}: ${regexErrorReason(err)}`})
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

/** The api/listener rule: listening beyond loopback needs a token. */
function requireTokenOffLoopback(tokenPath: string) {
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
function serverSocketFields(defaults: {requestTimeout: string; idleTimeout: string}) {
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
function requireTlsPair(sectionPath: string) {
  return (v: {tls_cert?: string | undefined; tls_key?: string | undefined; tls_client_ca?: string | undefined}, ctx: z.RefinementCtx) => {
    if (Boolean(v.tls_cert) !== Boolean(v.tls_key)) {
      const missing = v.tls_cert ? 'tls_key' : 'tls_cert'
      ctx.addIssue({code: 'custom', path: [v.tls_cert ? 'tls_cert' : 'tls_key'], message: `${sectionPath}.tls_cert and tls_key go together: set ${sectionPath}.${missing} too`})
    }
    if (v.tls_client_ca && !v.tls_cert) ctx.addIssue({code: 'custom', path: ['tls_client_ca'], message: `${sectionPath}.tls_client_ca needs tls_cert and tls_key (client certificates are checked during the TLS handshake)`})
  }
}

// ---------------------------------------------------------------------------------------------
// Sections

export const agentSchema = section({
  interval: interval().default('10s'),
  jitter: duration().default('0s'),
  flush_interval: duration({positive: true}).default('1s'),
  batch_size: int({min: 1}).default(5000),
  /** Store writes in flight at once while the store keeps up. */
  write_concurrency: int({min: 1, max: 64}).default(4),
  /** IANA time zone for cron intervals (default: the system's). */
  timezone: text('an IANA time zone', 'Europe/Berlin')
    .refine((tz) => isKnownTimeZone(tz), {error: (iss) => `unknown time zone ${JSON.stringify(iss.input)}: expected an IANA name such as UTC, Europe/Berlin or America/New_York`})
    .optional(),
  /** Write mon's own metrics (measurement mon_internal) every agent.interval. */
  self_metrics: bool().default(true),
})

function isKnownTimeZone(tz: string): boolean {
  try {
    new Intl.DateTimeFormat('en-US', {timeZone: tz})
    return true
  } catch {
    return false
  }
}

export const sqliteStoreSchema = z.strictObject({
  type: z.literal('sqlite'),
  /** Default `<data_dir>/mon.db`, filled in when the config is loaded. */
  path: z.string().optional(),
})

export const influxStoreSchema = z.strictObject({
  type: z.literal('influxdb'),
  url: httpUrl(),
  version: z.preprocess((v) => (typeof v === 'number' ? String(v) : v), z.enum(['auto', '1', '2'])).default('auto'),
  database: z.string().default('mon'),
  retention_policy: z.string().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  org: z.string().optional(),
  bucket: z.string().optional(),
  token: z.string().optional(),
  precision: z.enum(['ns', 'us', 'ms', 's']).default('ms'),
  /** `auto`: compress unless the server is on loopback (where gzip only costs CPU). */
  gzip: z.union([z.literal('auto'), bool()], {error: (iss) => `expected auto, true or false, got ${describeValue(iss.input)}`}).default('auto'),
  batch_size: int({min: 1}).default(5000),
  /** A write request also ends at this many bytes of line protocol (before gzip). */
  batch_bytes: size().default('4MiB'),
  /** Write requests in flight at once. */
  concurrency: int({min: 1, max: 64}).default(2),
  /** Retries of a failed write (5xx, 429, network); 400s are never retried. */
  max_retries: int({min: 0}).default(5),
  /** A write gives up when its retries would go past this. */
  max_retry_time: duration().default('1m'),
  timeout: duration({positive: true}).default('10s'),
  tls_verify: bool().default(true),
})

const storeVariants = z.discriminatedUnion('type', [sqliteStoreSchema, influxStoreSchema])
const storeKeys = [...new Set([...Object.keys(sqliteStoreSchema.shape), ...Object.keys(influxStoreSchema.shape)])]

/** `type` defaults to sqlite. */
export const storeSchema = z
  .preprocess((v) => (isPlainObject(v) ? {type: 'sqlite', ...(dropEmptyKnownKeys(v, storeKeys) as object)} : v), storeVariants)
  .prefault({})

/** Fields every pull input has. */
const pullInputFields = {
  name: z.string().optional(),
  /** Default: agent.jitter (filled in after parsing). */
  jitter: duration().optional(),
  tags: tagsSchema.optional(),
}

export const hostInputSchema = section({
  enabled: bool().default(true),
  /** Default: agent.interval (filled in after parsing). */
  interval: interval().optional(),
  jitter: duration().optional(),
  tags: tagsSchema.optional(),
  cpu: section({percpu: bool().default(true), totalcpu: bool().default(true)}).prefault({}),
  disk: section({ignore_fs: stringList.optional(), mount_points: stringList.optional()}).prefault({}),
  net: section({interfaces: stringList.optional(), ignore_protocol_stats: bool().default(false)}).prefault({}),
  diskio: section({devices: stringList.optional()}).prefault({}),
})

const statusCode = int({min: 100, max: 599})

export const httpInputSchema = section({
  ...pullInputFields,
  url: httpUrl(),
  method: text('an HTTP method', 'GET')
    .regex(/^[A-Za-z]+$/, {error: 'expected an HTTP method such as GET, HEAD or POST'})
    .transform((m) => m.toUpperCase())
    .default('GET'),
  headers: z.record(z.string(), scalarString).optional(),
  body: z.string().optional(),
  /** Undefined means any 2xx or 3xx. */
  expect_status: z
    .union([statusCode, z.array(statusCode).min(1)], {error: typeError('a status code or a list of them (e.g. 200 or [200, 204])')})
    .optional(),
  body_regex: regex().optional(),
  timeout: duration({positive: true}).default('5s'),
  follow_redirects: bool().default(true),
  tls_verify: bool().default(true),
  interval: interval().default('30s'),
})

export const tcpInputSchema = section({
  ...pullInputFields,
  address: dialAddress(),
  send: z.string().optional(),
  expect: z.string().optional(),
  timeout: duration({positive: true}).default('5s'),
  interval: interval().default('30s'),
})

export const prometheusInputSchema = section({
  ...pullInputFields,
  urls: z.array(httpUrl()).optional(),
  /** Paths or globs of Prometheus file_sd target files (JSON or YAML). */
  file_sd: stringList.optional(),
  interval: interval().default('30s'),
  timeout: duration({positive: true}).default('10s'),
  metric_version: z.preprocess(coerceInt, z.literal([1, 2])).default(1),
  bearer_token: z.string().optional(),
}).superRefine((v, ctx) => {
  if (!v.urls?.length && !v.file_sd?.length) ctx.addIssue({code: 'custom', message: `needs 'urls' or 'file_sd' (where to scrape)`})
})

export const execInputSchema = section({
  ...pullInputFields,
  command: z.union([z.string().min(1), z.array(scalarString).min(1)], {error: typeError('a command line or a list of arguments (e.g. "df -k" or [df, -k])')}),
  data_format: z.enum(['influx', 'json', 'prometheus']).default('influx'),
  timeout: duration({positive: true}).default('10s'),
  interval: interval().default('60s'),
  /** Measurement name for `json` output. */
  name_override: z.string().optional(),
  /** `json` output: keys whose values become tags. */
  tag_keys: stringList.optional(),
})

export const listenerInputSchema = section({
  enabled: bool().default(false),
  listen: listenAddress({allowPortZero: true}).default('127.0.0.1:8186'),
  token: z.string().optional(),
  max_body: size().default('32MiB'),
  max_buffered: size().default('256MiB'),
  tags: tagsSchema.optional(),
  // Telegraf keeps connections open between flushes (its default interval is 10s)
  ...serverSocketFields({requestTimeout: '2m', idleTimeout: '65s'}),
})
  .superRefine(requireTokenOffLoopback('inputs.listener.token'))
  .superRefine(requireTlsPair('inputs.listener'))

export const inputsSchema = section({
  host: hostInputSchema.prefault({}),
  http: z.array(httpInputSchema).default([]),
  tcp: z.array(tcpInputSchema).default([]),
  prometheus: z.array(prometheusInputSchema).default([]),
  exec: z.array(execInputSchema).default([]),
  listener: listenerInputSchema.prefault({}),
})

export const spoolSchema = section({
  max_bytes: size().default('1GiB'),
  fsync: z.enum(['always', 'batch', 'never']).default('batch'),
  segment_bytes: size().default('16MiB'),
  /** full at max_bytes: drop the oldest points (counted), or refuse new ones (503 to pushers; scheduled inputs wait) */
  when_full: z.enum(['drop_oldest', 'reject']).default('drop_oldest'),
  /** set aside while there is room, released when the disk fills (docs/pipeline.md) */
  reserve_bytes: size().default('1MiB'),
})

/** What a rule does when its query returns no data / fails (also per rule in rule files). */
export const noDataState = z.enum(['ok', 'alerting', 'keep'])

export const rulesSchema = section({
  /** Paths or globs, relative to the config file. */
  files: stringList.default([]),
  default_interval: interval().default('1m'),
  /** Each group's run starts up to this long after its time (a group's own `jitter` wins). */
  jitter: duration().default('0s'),
  no_data: noDataState.default('ok'),
  on_error: noDataState.default('keep'),
  /** How far back a selector without `[range]` looks for its latest value (Prometheus' staleness window). */
  lookback: duration({positive: true}).default('5m'),
  /** Share query results between rules evaluated in the same step (docs/alerting.md). */
  cache: bool().default(true),
  /** Query windows end on a multiple of this, so rules evaluated within one step share results. */
  cache_step: duration({positive: true}).default('10s'),
  /** How long transitions and resolved alerts are kept in the state database. */
  history_retention: duration({positive: true}).default('30d'),
  /** How long ended incidents and the audit trail are kept (an incident still firing keeps its trail). */
  incident_retention: duration({positive: true}).default('1y'),
})

/** Receivers, the route tree, inhibit rules, mute time intervals, escalation policies and the outbox (src/core/notify/config.ts). */
export const notifySchema = z.lazy(() => notifyConfigSchema()).prefault({})

export const DEFAULT_RETENTION: Readonly<Record<string, string>> = {raw: '7d', '1m': '30d', '1h': '1y'}

/** Tier name (`raw` or a rollup resolution such as `1m`) → how long it is kept. Replaces the defaults as a whole. */
export const retentionSchema = z
  .record(
    z.string().refine((k) => k === 'raw' || (tryParseDuration(k) ?? 0) > 0, {error: 'tier names are "raw" or a rollup resolution such as 1m or 1h'}),
    duration({positive: true}),
  )
  .default({...DEFAULT_RETENTION})

export const apiSchema = section({
  listen: listenAddress({allowPortZero: true}).default('127.0.0.1:9464'),
  token: z.string().optional(),
  ...serverSocketFields({requestTimeout: '30s', idleTimeout: '5s'}),
})
  .superRefine(requireTokenOffLoopback('api.token'))
  .superRefine(requireTlsPair('api'))

/** Limits for every query path: `mon query`, rule evaluation, `mon top` (docs/query.md). */
export const querySchema = section({
  /** a query still running after this fails with "query timed out after …" */
  timeout: duration({positive: true}).default('10s'),
})

export const logSchema = section({
  level: z.enum(['debug', 'info', 'warn', 'error']).default('info'),
  format: z.enum(['auto', 'text', 'json']).default('auto'),
})

/** The top level. A module that needs a new section adds it here (and to the sample and docs). */
export const configShape = {
  host: z.string().min(1).default(() => hostname()),
  global_tags: tagsSchema.default({}),
  data_dir: z.string().optional(),
  agent: agentSchema.prefault({}),
  store: storeSchema,
  inputs: inputsSchema.prefault({}),
  spool: spoolSchema.prefault({}),
  rules: rulesSchema.prefault({}),
  query: querySchema.prefault({}),
  notify: notifySchema,
  retention: retentionSchema,
  api: apiSchema.prefault({}),
  log: logSchema.prefault({}),
}

type ParsedShape = z.output<ReturnType<typeof section<typeof configShape>>>

/** Defaults that come from elsewhere in the config: per-input jitter from agent.jitter, host.interval from agent.interval. */
function applyInheritedDefaults(cfg: ParsedShape) {
  const {agent, inputs} = cfg
  const withJitter = <I extends {jitter?: string | undefined}>(input: I): I & {jitter: string} => ({...input, jitter: input.jitter ?? agent.jitter})
  return {
    ...cfg,
    inputs: {
      ...inputs,
      host: {...withJitter(inputs.host), interval: inputs.host.interval ?? agent.interval},
      http: inputs.http.map(withJitter),
      tcp: inputs.tcp.map(withJitter),
      prometheus: inputs.prometheus.map(withJitter),
      exec: inputs.exec.map(withJitter),
    },
  }
}

export const monConfigSchema = section(configShape).transform(applyInheritedDefaults)

/** What the schema produces; {@link MonConfig} is this after the loader resolves paths. */
export type ParsedConfig = z.output<typeof monConfigSchema>
export type MonConfigInput = z.input<typeof monConfigSchema>

export type SqliteStoreConfig = z.output<typeof sqliteStoreSchema> & {path: string}
export type InfluxStoreConfig = z.output<typeof influxStoreSchema>
export type StoreConfig = SqliteStoreConfig | InfluxStoreConfig

/** The validated config with every default applied, `data_dir` resolved and `store.path` set for sqlite. */
export type MonConfig = Omit<ParsedConfig, 'store' | 'data_dir'> & {data_dir: string; store: StoreConfig}

export type AgentConfig = MonConfig['agent']
export type InputsConfig = MonConfig['inputs']
export type HostInputConfig = InputsConfig['host']
export type HttpInputConfig = InputsConfig['http'][number]
export type TcpInputConfig = InputsConfig['tcp'][number]
export type PrometheusInputConfig = InputsConfig['prometheus'][number]
export type ExecInputConfig = InputsConfig['exec'][number]
export type ListenerInputConfig = InputsConfig['listener']
export type SpoolConfig = MonConfig['spool']
export type RulesConfig = MonConfig['rules']
export type QueryConfig = MonConfig['query']
export type RetentionConfig = MonConfig['retention']
export type ApiConfig = MonConfig['api']
export type LogConfig = MonConfig['log']
