import {hostname} from 'node:os'
import {z} from 'zod'
import {tryParseDuration} from './duration.js'
import {describeValue} from './problems.js'
import {bool, dropEmptyKnownKeys, duration, httpUrl, int, interval, isPlainObject, listenAddress, requireTlsPair, requireTokenOffLoopback, section, serverSocketFields, size, stringList, tagsSchema, text} from './common.js'
import {COLLECTORS, withInheritedDefaults, type CollectorKind} from '../collectors/registry.js'
import {notifyConfigSchema} from '../notify/config.js'
import {clusterSchema} from '../cluster/config.js'

// The building blocks moved to common.ts; re-exported so code that imported them from here still builds.
export {bool, DEFAULT_MAX_CONNECTIONS, dialAddress, duration, httpUrl, int, interval, isCronExpression, isLoopbackHost, listenAddress, parseHostPort, regex, scalarString, section, size, stringList, tagsSchema} from './common.js'
// Each input's schema lives in its collector file; re-exported so code that imported them from here still builds.
export {execInputSchema} from '../collectors/exec.js'
export {hostInputSchema} from '../collectors/host.js'
export {httpInputSchema} from '../collectors/http.js'
export {listenerInputSchema} from '../collectors/listener.js'
export {prometheusInputSchema} from '../collectors/prometheus.js'
export {tcpInputSchema} from '../collectors/tcp.js'

/**
 * The config schema, one exported constant per section so later modules can add their fields in
 * one place. Everything is optional in the file and every default is applied here, so consumers
 * never see `undefined` for a defaulted value. Durations and sizes stay strings as written (use
 * parseDuration / parseSize at the point of use); they are validated here. The building blocks
 * (duration(), size(), httpUrl() …) are in common.ts.
 */

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

/** How a server that takes line protocol over HTTP is written to (InfluxDB, VictoriaMetrics). */
const lineProtocolWriteFields = {
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
}

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
  ...lineProtocolWriteFields,
})

/**
 * VictoriaMetrics (read-write): line protocol in (`/write`), the Prometheus query API out. `tenant`
 * makes it a cluster: writes to vminsert `/insert/<tenant>/influx/write`, reads from vmselect
 * `/select/<tenant>/prometheus/api/v1/…`, both under `url` (vmauth or a proxy in front), or reads
 * under `read_url` when vmselect has its own address.
 */
export const victoriaMetricsStoreSchema = z.strictObject({
  type: z.literal('victoriametrics'),
  url: httpUrl(),
  /** cluster: the tenant (`accountID` or `accountID:projectID`); omitted: a single-node server */
  tenant: z
    .preprocess((v) => (typeof v === 'number' ? String(v) : v), z.string().regex(/^\d+(:\d+)?$/, {error: 'expected an account id such as 0 or 12:3 (accountID[:projectID])'}))
    .optional(),
  /** cluster: vmselect's base URL when it is not `url` */
  read_url: httpUrl().optional(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** sent as `Authorization: Bearer <token>` (vmauth) */
  token: z.string().optional(),
  ...lineProtocolWriteFields,
})

/** A Prometheus server, read-only: mon queries it and evaluates rules over it, but never writes. */
export const prometheusStoreSchema = z.strictObject({
  type: z.literal('prometheus'),
  url: httpUrl(),
  username: z.string().optional(),
  password: z.string().optional(),
  /** sent as `Authorization: Bearer <token>` */
  token: z.string().optional(),
  timeout: duration({positive: true}).default('10s'),
  tls_verify: bool().default(true),
})

const storeVariants = z.discriminatedUnion('type', [sqliteStoreSchema, influxStoreSchema, victoriaMetricsStoreSchema, prometheusStoreSchema])
const storeKeys = [
  ...new Set([...Object.keys(sqliteStoreSchema.shape), ...Object.keys(influxStoreSchema.shape), ...Object.keys(victoriaMetricsStoreSchema.shape), ...Object.keys(prometheusStoreSchema.shape)]),
]

/** `type` defaults to sqlite. */
export const storeSchema = z
  .preprocess((v) => (isPlainObject(v) ? {type: 'sqlite', ...(dropEmptyKnownKeys(v, storeKeys) as object)} : v), storeVariants)
  .prefault({})

/**
 * One key per input in collectors/registry.ts: a list of checks/jobs defaults to empty, a section
 * to its defaults.
 */
function inputsShape(): {[K in CollectorKind]: z.ZodType<InputEntryOutput<K>>} {
  const shape: Record<string, z.ZodType> = {}
  for (const [kind, def] of Object.entries(COLLECTORS)) {
    const schema: z.ZodType = def.schema
    shape[kind] = def.multiple ? z.array(schema).default([]) : schema.prefault({})
  }
  return shape as {[K in CollectorKind]: z.ZodType<InputEntryOutput<K>>}
}

type InputEntryOutput<K extends CollectorKind> = (typeof COLLECTORS)[K]['multiple'] extends true ? Array<z.output<(typeof COLLECTORS)[K]['schema']>> : z.output<(typeof COLLECTORS)[K]['schema']>

export const inputsSchema = section(inputsShape())

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
export const notifySchema = notifyConfigSchema().prefault({})

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
  /** InfluxDB 1.x's /ping and /query (Grafana, the influx CLI): the database name they use (docs/grafana.md) */
  influxdb: section({database: z.string().min(1).default('mon')}).prefault({}),
})
  .superRefine(requireTokenOffLoopback('api.token'))
  .superRefine(requireTlsPair('api'))

/** Limits for every query path: `mon query`, rule evaluation, `mon top` (docs/query.md). */
export const querySchema = section({
  /** a query still running after this fails with "query timed out after …" */
  timeout: duration({positive: true}).default('10s'),
  /** the daemon keeps this many bytes of recently read chunks inflated while its query APIs are asked (0: none) */
  chunk_cache: size().default('16MiB'),
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
  cluster: clusterSchema.prefault({}),
}

type ParsedShape = z.output<ReturnType<typeof section<typeof configShape>>>

/** Defaults that come from elsewhere in the config: per-input jitter from agent.jitter, host.interval from agent.interval. */
function applyInheritedDefaults(cfg: ParsedShape) {
  return {...cfg, inputs: withInheritedDefaults(cfg.inputs, cfg.agent)}
}

export const monConfigSchema = section(configShape).transform(applyInheritedDefaults)

/** What the schema produces; {@link MonConfig} is this after the loader resolves paths. */
export type ParsedConfig = z.output<typeof monConfigSchema>
export type MonConfigInput = z.input<typeof monConfigSchema>

export type SqliteStoreConfig = z.output<typeof sqliteStoreSchema> & {path: string}
export type InfluxStoreConfig = z.output<typeof influxStoreSchema>
export type VictoriaMetricsStoreConfig = z.output<typeof victoriaMetricsStoreSchema>
export type PrometheusStoreConfig = z.output<typeof prometheusStoreSchema>
/** The stores that speak the Prometheus query API. */
export type PromApiStoreConfig = VictoriaMetricsStoreConfig | PrometheusStoreConfig
export type StoreConfig = SqliteStoreConfig | InfluxStoreConfig | VictoriaMetricsStoreConfig | PrometheusStoreConfig

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
export type {ClusterConfig} from '../cluster/config.js'
