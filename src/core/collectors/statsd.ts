/**
 * inputs.statsd: a StatsD server (UDP, or TCP with newline-separated lines) that aggregates what
 * clients send and writes it every `interval` as points named as Telegraf's statsd input names them:
 *
 *   <bucket>:<value>|c[|@rate]     counter   measurement <name>, field value (integer) = sum of value/rate
 *                                            (each sample truncated to an integer, as Telegraf), tag metric_type=counter
 *   <bucket>:<value>|g             gauge     field value (float); `+N` / `-N` add to the value held, tag metric_type=gauge
 *   <bucket>:<value>|ms|h|d[|@rate] timing   fields mean, median, stddev (population), sum, upper, lower (floats),
 *                                            count (integer), <p>_percentile per percentile (default [90]);
 *                                            a value sampled at @r counts int(1/r) times (Telegraf);
 *                                            tag metric_type=timing|histogram|distribution
 *   <bucket>:<value>|s             set       field value (integer) = distinct values, tag metric_type=set
 *
 * DogStatsD tags (`|#k:v,k2:v2`, a tag without value gets "true" as Telegraf's datadog parser does) and
 * InfluxDB-style tags in the bucket (`name,k=v:1|c`) become tags. Several values may share a line
 * (`name:1|c:2|c`) and several lines a datagram. The bucket name becomes measurement (and field)
 * through Telegraf's graphite `templates` (see {@link compileTemplates}); without a matching template
 * the measurement is the whole name with `.` replaced by `metric_separator` (`_`).
 *
 * `delete_counters`, `delete_gauges`, `delete_sets`, `delete_timings` (all true by default, as
 * Telegraf): forget the value at each flush; false keeps sending the last state every interval.
 * A malformed line is counted by reason (`parse_errors_<reason>`) and skipped; the other lines of
 * its datagram are kept.
 */
import {z} from 'zod'
import {bool, int, listenAddress, parseHostPort, section, size, tagsSchema, interval as intervalSchema} from '../config/common.js'
import {parseSize} from '../config/duration.js'
import type {FieldValue, Point, Tags} from '../model/point.js'
import {PacketSocket, type PacketSocketStats} from './packet-socket.js'
import {decorate, defineCollector, pullInputFields, type Collector, type CollectorContext} from './types.js'

export type StatsdType = 'c' | 'g' | 'ms' | 'h' | 'd' | 's'

const METRIC_TYPE: Record<StatsdType, string> = {c: 'counter', g: 'gauge', ms: 'timing', h: 'histogram', d: 'distribution', s: 'set'}

export const STATSD_ERROR_REASONS = ['no_value', 'no_type', 'bad_type', 'bad_value', 'bad_sample_rate', 'sign_not_allowed', 'empty_name', 'too_long'] as const
export type StatsdErrorReason = (typeof STATSD_ERROR_REASONS)[number]

// ---------------------------------------------------------------------------------------------
// templates (Telegraf's graphite templates, the subset described in docs/collectors.md)

export interface Template {
  /** dotted filter, `*` matching within one part; undefined: the default template */
  filter?: string[]
  parts: string[]
  tags: Tags
}

/** `[filter] template [k=v,…]` as Telegraf writes them; throws with the reason for a bad one. */
export function compileTemplates(specs: readonly string[]): Template[] {
  return specs.map((spec) => {
    const words = spec.trim().split(/\s+/).filter(Boolean)
    if (words.length === 0 || words.length > 3) throw new Error(`invalid template ${JSON.stringify(spec)}: expected "[filter] template [tag=value,…]"`)
    let filter: string | undefined
    let template: string
    let tagText: string | undefined
    if (words.length === 1) template = words[0]!
    else if (words.length === 2 && words[1]!.includes('=')) [template, tagText] = words as [string, string]
    else if (words.length === 2) [filter, template] = words as [string, string]
    else [filter, template, tagText] = words as [string, string, string]
    const parts = template.split('.')
    const greedy = parts.filter((p) => p.endsWith('*'))
    if (greedy.length > 1 || greedy.some((p) => p !== 'measurement*' && p !== 'field*')) throw new Error(`invalid template ${JSON.stringify(spec)}: only one of measurement* or field* may end in "*"`)
    if (parts.filter((p) => p === 'field' || p === 'field*').length > 0 && parts.includes('field*') && parts.filter((p) => p === 'field').length > 0) throw new Error(`invalid template ${JSON.stringify(spec)}: field and field* together`)
    const tags: Tags = {}
    if (tagText) {
      for (const kv of tagText.split(',')) {
        const eq = kv.indexOf('=')
        if (eq <= 0) throw new Error(`invalid template ${JSON.stringify(spec)}: tag ${JSON.stringify(kv)} is not key=value`)
        tags[kv.slice(0, eq)] = kv.slice(eq + 1)
      }
    }
    const t: Template = {parts, tags}
    if (filter !== undefined) t.filter = filter.split('.')
    return t
  })
}

function globPart(pattern: string, part: string): boolean {
  if (pattern === '*') return true
  if (!pattern.includes('*')) return pattern === part
  const re = new RegExp('^' + pattern.split('*').map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&')).join('.*') + '$')
  return re.test(part)
}

/** How specific a matching filter is: per part 2 exact, 1 a glob with text, 0 `*`; longer wins ties. */
function specificity(filter: string[]): number[] {
  return filter.map((p) => (p === '*' ? 0 : p.includes('*') ? 1 : 2))
}

function moreSpecific(a: number[], b: number[]): boolean {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! > b[i]!
  return a.length > b.length
}

/** The template for a name: the most specific filter matching its first parts, else the unfiltered one. */
export function pickTemplate(templates: readonly Template[], parts: readonly string[]): Template | undefined {
  let best: Template | undefined
  let bestScore: number[] | undefined
  let fallback: Template | undefined
  for (const t of templates) {
    if (!t.filter) {
      fallback ??= t
      continue
    }
    if (t.filter.length > parts.length) continue
    if (!t.filter.every((p, i) => globPart(p, parts[i]!))) continue
    const score = specificity(t.filter)
    if (!bestScore || moreSpecific(score, bestScore)) {
      best = t
      bestScore = score
    }
  }
  return best ?? fallback
}

/** measurement, field (undefined: `value`) and tags of a dotted name under a template. */
export function applyTemplate(template: Template | undefined, name: string, separator: string): {measurement: string; field?: string; tags: Tags} {
  const parts = name.split('.')
  if (!template) return {measurement: parts.join(separator), tags: {}}
  const measurement: string[] = []
  const field: string[] = []
  const tagParts: Record<string, string[]> = {}
  const tp = template.parts
  for (let i = 0; i < parts.length; i++) {
    const greedyAt = tp.length - 1
    const t = i < tp.length ? tp[i]! : tp[greedyAt]!.endsWith('*') ? tp[greedyAt]! : undefined
    if (t === undefined || t === '') continue
    if (t === 'measurement' || t === 'measurement*') measurement.push(parts[i]!)
    else if (t === 'field' || t === 'field*') field.push(parts[i]!)
    else (tagParts[t] ??= []).push(parts[i]!)
  }
  const tags: Tags = {...template.tags}
  for (const [k, v] of Object.entries(tagParts)) tags[k] = v.join(separator)
  const out: {measurement: string; field?: string; tags: Tags} = {measurement: measurement.length > 0 ? measurement.join(separator) : parts.join(separator), tags}
  if (field.length > 0) out.field = field.join(separator)
  return out
}

// ---------------------------------------------------------------------------------------------
// the aggregator

export interface StatsdOptions {
  percentiles: number[]
  /** values kept per timing for the percentiles; beyond it they replace random ones (Telegraf) */
  percentileLimit: number
  templates: Template[]
  separator: string
  deleteCounters: boolean
  deleteGauges: boolean
  deleteSets: boolean
  deleteTimings: boolean
  /** parse `|#k:v` DogStatsD tags */
  datadogTags: boolean
  random?: () => number
}

class RunningStats {
  private k = 0
  n = 0
  private ex = 0
  private ex2 = 0
  sum = 0
  lower = 0
  upper = 0
  private perc: number[] = []
  private sorted = false

  constructor(
    private readonly limit: number,
    private readonly random: () => number,
  ) {}

  add(v: number): void {
    this.sorted = false
    if (this.n === 0) {
      this.k = v
      this.upper = v
      this.lower = v
    }
    this.n++
    this.ex += v - this.k
    this.ex2 += (v - this.k) * (v - this.k)
    this.sum += v
    if (v > this.upper) this.upper = v
    else if (v < this.lower) this.lower = v
    if (this.perc.length < this.limit) this.perc.push(v)
    else this.perc[Math.floor(this.random() * this.perc.length)] = v
  }

  mean(): number {
    return this.k + this.ex / this.n
  }

  stddev(): number {
    return Math.sqrt((this.ex2 - (this.ex * this.ex) / this.n) / this.n)
  }

  private values(): number[] {
    if (!this.sorted) {
      this.perc.sort((a, b) => a - b)
      this.sorted = true
    }
    return this.perc
  }

  /** Telegraf's: the value at index floor(len × p / 100), clamped */
  percentile(p: number): number {
    const v = this.values()
    const i = Math.floor((v.length * Math.min(p, 100)) / 100)
    return v[Math.max(0, Math.min(v.length - 1, i))]!
  }

  median(): number {
    const v = this.values()
    const n = v.length
    if (n === 0) return 0
    return n % 2 === 0 ? (v[n / 2 - 1]! + v[n / 2]!) / 2 : v[(n - 1) / 2]!
  }
}

interface Cached<V> {
  measurement: string
  tags: Tags
  fields: Map<string, V>
}

export interface StatsdCounts {
  lines: number
  /** values aggregated (a line may carry several) */
  metrics: number
  parse_errors: number
  parse_errors_by_reason: Partial<Record<StatsdErrorReason, number>>
}

class LineError extends Error {
  constructor(readonly reason: StatsdErrorReason) {
    super(reason)
  }
}

interface Parsed {
  type: StatsdType
  value: number
  str: string
  additive: boolean
  rate: number
}

export class StatsdAggregator {
  private counters = new Map<string, Cached<number>>()
  private gauges = new Map<string, Cached<number>>()
  private sets = new Map<string, Cached<Set<string>>>()
  private timings = new Map<string, Cached<RunningStats>>()
  readonly counts: StatsdCounts = {lines: 0, metrics: 0, parse_errors: 0, parse_errors_by_reason: {}}

  constructor(private readonly opts: StatsdOptions) {}

  /** A datagram (or TCP lines): every non-empty line, each good one aggregated, each bad one counted. */
  addText(text: string): void {
    let start = 0
    while (start <= text.length) {
      let end = text.indexOf('\n', start)
      if (end < 0) end = text.length
      const line = text.slice(start, end).trim()
      start = end + 1
      if (line === '') continue
      this.counts.lines++
      try {
        this.addLine(line)
      } catch (err) {
        if (!(err instanceof LineError)) throw err
        this.countError(err.reason)
      }
    }
  }

  countError(reason: StatsdErrorReason, n = 1): void {
    this.counts.parse_errors += n
    this.counts.parse_errors_by_reason[reason] = (this.counts.parse_errors_by_reason[reason] ?? 0) + n
  }

  private addLine(raw: string): void {
    const lineTags: Tags = {}
    let line = raw
    if (this.opts.datadogTags && line.includes('|#')) {
      const kept: string[] = []
      for (const seg of line.split('|')) {
        if (seg.startsWith('#')) {
          for (const tag of seg.slice(1).split(',')) {
            if (tag === '') continue
            const colon = tag.indexOf(':')
            if (colon < 0) lineTags[tag] = 'true'
            else if (colon > 0) lineTags[tag.slice(0, colon)] = tag.slice(colon + 1)
          }
        } else kept.push(seg)
      }
      line = kept.join('|')
    }
    const bits = line.split(':')
    if (bits.length < 2) throw new LineError('no_value')
    const bucket = bits[0]!
    // every value checked before any is aggregated: a bad line changes nothing
    const parsed = bits.slice(1).map(parseBit)
    const {measurement, field, tags} = this.name(bucket)
    if (measurement === '') throw new LineError('empty_name')
    for (const m of parsed) {
      const t: Tags = {...tags, metric_type: METRIC_TYPE[m.type], ...lineTags}
      this.aggregate(m, measurement, field, t)
      this.counts.metrics++
    }
  }

  private name(bucket: string): {measurement: string; field: string; tags: Tags} {
    const comma = bucket.split(',')
    const tags: Tags = {}
    for (const kv of comma.slice(1)) {
      const eq = kv.indexOf('=')
      if (eq > 0) tags[kv.slice(0, eq)] = kv.slice(eq + 1)
    }
    const name = comma[0]!
    const applied = applyTemplate(pickTemplate(this.opts.templates, name.split('.')), name, this.opts.separator)
    return {measurement: applied.measurement, field: applied.field ?? 'value', tags: {...applied.tags, ...tags}}
  }

  private aggregate(m: Parsed, measurement: string, field: string, tags: Tags): void {
    const key = seriesKey(measurement, tags)
    switch (m.type) {
      case 'c': {
        const c = cached(this.counters, key, measurement, tags)
        // Telegraf: each sample as an integer, divided by its rate and truncated
        const v = m.rate > 0 ? Math.trunc(Math.trunc(m.value) / m.rate) : Math.trunc(m.value)
        c.fields.set(field, (c.fields.get(field) ?? 0) + v)
        return
      }
      case 'g': {
        const g = cached(this.gauges, key, measurement, tags)
        g.fields.set(field, m.additive ? (g.fields.get(field) ?? 0) + m.value : m.value)
        return
      }
      case 's': {
        const s = cached(this.sets, key, measurement, tags)
        let set = s.fields.get(field)
        if (!set) s.fields.set(field, (set = new Set()))
        set.add(m.str)
        return
      }
      default: {
        const t = cached(this.timings, key, measurement, tags)
        let stats = t.fields.get(field)
        if (!stats) t.fields.set(field, (stats = new RunningStats(this.opts.percentileLimit, this.opts.random ?? Math.random)))
        const times = m.rate > 0 ? Math.trunc(1 / m.rate) : 1
        for (let i = 0; i < times; i++) stats.add(m.value)
      }
    }
  }

  /** Points of everything held, at `ts`; forgets what the delete_* options say. */
  flush(ts: number): Point[] {
    const points: Point[] = []
    for (const t of this.timings.values()) {
      const fields: Record<string, FieldValue> = {}
      for (const [name, s] of t.fields) {
        const prefix = name === 'value' ? '' : `${name}_`
        fields[`${prefix}mean`] = s.mean()
        fields[`${prefix}median`] = s.median()
        fields[`${prefix}stddev`] = s.stddev()
        fields[`${prefix}sum`] = s.sum
        fields[`${prefix}upper`] = s.upper
        fields[`${prefix}lower`] = s.lower
        fields[`${prefix}count`] = BigInt(s.n)
        for (const p of this.opts.percentiles) fields[`${prefix}${String(p)}_percentile`] = s.percentile(p)
      }
      points.push({measurement: t.measurement, tags: {...t.tags}, fields, ts})
    }
    if (this.opts.deleteTimings) this.timings.clear()
    for (const g of this.gauges.values()) points.push({measurement: g.measurement, tags: {...g.tags}, fields: Object.fromEntries(g.fields), ts})
    if (this.opts.deleteGauges) this.gauges.clear()
    for (const c of this.counters.values()) {
      const fields: Record<string, FieldValue> = {}
      for (const [k, v] of c.fields) fields[k] = BigInt(v)
      points.push({measurement: c.measurement, tags: {...c.tags}, fields, ts})
    }
    if (this.opts.deleteCounters) this.counters.clear()
    for (const s of this.sets.values()) {
      const fields: Record<string, FieldValue> = {}
      for (const [k, v] of s.fields) fields[k] = BigInt(v.size)
      points.push({measurement: s.measurement, tags: {...s.tags}, fields, ts})
    }
    if (this.opts.deleteSets) this.sets.clear()
    return points
  }
}

const NUMBER = /^[+-]?(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?$/

function parseBit(bit: string): Parsed {
  const pipes = bit.split('|')
  if (pipes.length < 2) throw new LineError('no_type')
  const type = pipes[1]!
  if (type !== 'c' && type !== 'g' && type !== 'ms' && type !== 'h' && type !== 'd' && type !== 's') throw new LineError('bad_type')
  let rate = 0
  for (const extra of pipes.slice(2)) {
    if (extra.startsWith('@')) {
      const r = Number(extra.slice(1))
      if (!NUMBER.test(extra.slice(1)) || !(r > 0) || r > 1) throw new LineError('bad_sample_rate')
      rate = r
    }
    // other extensions (DogStatsD `c:` container ids, `T` timestamps) are ignored, as Telegraf does
  }
  const raw = pipes[0]!
  const additive = raw.startsWith('+') || raw.startsWith('-')
  if (additive && type !== 'g' && type !== 'c') throw new LineError('sign_not_allowed')
  if (type === 's') {
    if (raw === '') throw new LineError('bad_value')
    return {type, value: 0, str: raw, additive: false, rate}
  }
  if (!NUMBER.test(raw)) throw new LineError('bad_value')
  const value = Number(raw)
  if (!Number.isFinite(value)) throw new LineError('bad_value')
  return {type, value, str: raw, additive, rate}
}

function seriesKey(measurement: string, tags: Tags): string {
  return (
    measurement +
    '\u0000' +
    Object.keys(tags)
      .sort()
      .map((k) => `${k}=${tags[k]}`)
      .join('\u0000')
  )
}

function cached<V>(map: Map<string, Cached<V>>, key: string, measurement: string, tags: Tags): Cached<V> {
  let c = map.get(key)
  if (!c) map.set(key, (c = {measurement, tags, fields: new Map()}))
  return c
}

// ---------------------------------------------------------------------------------------------
// the service and inputs.statsd

export type StatsdStats = PacketSocketStats & Omit<StatsdCounts, 'parse_errors_by_reason'> & Partial<Record<`parse_errors_${StatsdErrorReason}`, number>>

export interface StatsdServiceOptions extends StatsdOptions {
  protocol: 'udp' | 'tcp'
  listen: string
  readBuffer?: number
  maxTcpConnections: number
}

/** The socket and the aggregator: `start()` binds, `flush(ts)` gives the interval's points. */
export class StatsdService {
  readonly aggregator: StatsdAggregator
  private readonly socket: PacketSocket

  constructor(opts: StatsdServiceOptions, log: CollectorContext['log']) {
    this.aggregator = new StatsdAggregator(opts)
    const hp = parseHostPort(opts.listen)!
    this.socket = new PacketSocket({
      protocol: opts.protocol,
      host: hp.host,
      port: hp.port,
      readBuffer: opts.readBuffer,
      maxConnections: opts.maxTcpConnections,
      onText: (text) => this.aggregator.addText(text),
      log,
    })
  }

  get address(): {host: string; port: number} | undefined {
    return this.socket.address
  }

  start(): Promise<{host: string; port: number}> {
    return this.socket.start()
  }

  stop(): Promise<void> {
    return this.socket.stop()
  }

  flush(ts: number): Point[] {
    return this.aggregator.flush(ts)
  }

  stats(): StatsdStats {
    const s = this.socket.stats()
    const c = this.aggregator.counts
    const out: StatsdStats = {...s, lines: c.lines, metrics: c.metrics, parse_errors: c.parse_errors + (s.tcp_too_long ?? 0)}
    for (const [reason, n] of Object.entries(c.parse_errors_by_reason)) out[`parse_errors_${reason as StatsdErrorReason}`] = n
    if (s.tcp_too_long) out.parse_errors_too_long = s.tcp_too_long
    return out
  }
}

export const statsdInputSchema = section({
  enabled: bool().default(false),
  /** Default: agent.interval (filled in after parsing): how often the aggregates are flushed. */
  interval: intervalSchema().optional(),
  jitter: pullInputFields.jitter,
  protocol: z.enum(['udp', 'tcp'], {error: () => 'expected udp or tcp'}).default('udp'),
  listen: listenAddress({allowPortZero: true}).default('127.0.0.1:8125'),
  /** receive buffer (SO_RCVBUF); the kernel caps it at net.core.rmem_max */
  read_buffer: size().optional(),
  max_tcp_connections: int({min: 1}).default(250),
  percentiles: z.array(z.number().min(0).max(100)).default([90]),
  percentile_limit: int({min: 1}).default(1000),
  metric_separator: z.string().default('_'),
  templates: z
    .array(z.string())
    .default([])
    .superRefine((specs, ctx) => {
      specs.forEach((s, i) => {
        try {
          compileTemplates([s])
        } catch (err) {
          ctx.addIssue({code: 'custom', path: [i], message: (err as Error).message})
        }
      })
    }),
  datadog_tags: bool().default(true),
  delete_counters: bool().default(true),
  delete_gauges: bool().default(true),
  delete_sets: bool().default(true),
  delete_timings: bool().default(true),
  tags: tagsSchema.optional(),
})

export type StatsdInputConfig = z.output<typeof statsdInputSchema>

export function statsdServiceOptions(c: StatsdInputConfig): StatsdServiceOptions {
  const o: StatsdServiceOptions = {
    protocol: c.protocol,
    listen: c.listen,
    maxTcpConnections: c.max_tcp_connections,
    percentiles: c.percentiles,
    percentileLimit: c.percentile_limit,
    templates: compileTemplates(c.templates),
    separator: c.metric_separator,
    deleteCounters: c.delete_counters,
    deleteGauges: c.delete_gauges,
    deleteSets: c.delete_sets,
    deleteTimings: c.delete_timings,
    datadogTags: c.datadog_tags,
  }
  if (c.read_buffer !== undefined) o.readBuffer = parseSize(c.read_buffer)
  return o
}

/** The collector of inputs.statsd: binds on start, each run writes the interval's aggregates. */
export class StatsdCollector implements Collector {
  readonly service: StatsdService

  constructor(
    readonly name: string,
    config: StatsdInputConfig,
    private readonly ctx: CollectorContext,
  ) {
    this.service = new StatsdService(statsdServiceOptions(config), ctx.log)
    this.tags = config.tags ?? {}
  }

  private readonly tags: Tags

  async start(): Promise<void> {
    const a = await this.service.start()
    this.ctx.log.info('statsd listening', {address: `${a.host}:${a.port}`})
  }

  stop(): Promise<void> {
    return this.service.stop()
  }

  async collect(): Promise<Point[]> {
    return decorate(this.service.flush(this.ctx.clock.now()), this.ctx, this.tags)
  }

  serviceStats(): Record<string, number> {
    return {...this.service.stats()}
  }
}

export const statsdInput = defineCollector({
  kind: 'statsd',
  multiple: false,
  schema: statsdInputSchema,
  sample: `# A StatsD server (Telegraf's inputs.statsd naming): counters, gauges, timers, sets, DogStatsD tags.
statsd:
  # Start the StatsD server.
  enabled: false
  # udp, or tcp (newline-separated lines).
  protocol: udp
  # Address to listen on (loopback unless you need more).
  listen: 127.0.0.1:8125
  # How often the aggregates are written (default: agent.interval).
~  interval: 10s
  # Receive buffer of the socket; the kernel caps it at net.core.rmem_max.
~  read_buffer: 8MiB
  # TCP connections at once.
  max_tcp_connections: 250
  # Percentiles of timings and histograms (fields <p>_percentile).
  percentiles: [90]
  # Values kept per timing for the percentiles.
  percentile_limit: 1000
  # Joins the parts of a dotted name.
  metric_separator: _
  # Graphite templates for dotted names ("[filter] template [tag=value,…]").
=  templates: []
~  templates: ["measurement.field*", "servers.* .host.measurement*"]
  # Read DogStatsD tags (|#key:value,…).
  datadog_tags: true
  # Forget each kind of value after every flush (false: keep sending the last one).
  delete_counters: true
  delete_gauges: true
  delete_sets: true
  delete_timings: true
  # Tags added to every point.
~  tags: {source: statsd}`,
  create: (config, ctx, name) => new StatsdCollector(name, config as StatsdInputConfig, ctx),
})
