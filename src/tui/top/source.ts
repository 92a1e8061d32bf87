import type {Clock} from '../../core/clock.js'
import {HTTP_RESULT_CODES} from '../../core/collectors/http.js'
import {TCP_RESULT_CODES} from '../../core/collectors/tcp.js'
import {errorMessage, UserError} from '../../core/errors.js'
import {eventsUnsupportedReason, readEvents, type StoredEvent} from '../../core/model/events.js'
import type {ParsedQuery} from '../../core/query/ast.js'
import {DEFAULT_QUERY_TIMEOUT_MS, QueryDeadline} from '../../core/query/deadline.js'
import {evaluateInstant, runRange, type Sample} from '../../core/query/executor.js'
import {parseQuery} from '../../core/query/parser.js'
import {autoEvery} from '../../core/query/time.js'
import type {Store, StoreCatalog} from '../../core/store/types.js'
import {PANEL_SETS, type ChartQuery, type PanelQueries, type PanelSet} from './queries.js'
import {naturalCompare, SeriesWindow, type ChartData} from './series.js'

/**
 * Everything `mon top` shows, fetched through the query layer (parser → executor → the store's
 * plans), so it is the same on the embedded store and on InfluxDB. Charts keep a window of buckets
 * and after the first load only ask for the newest ones; gauges, disks and checks are instant
 * queries (the latest value within the window). No blessed here: this is plain data, tested alone.
 */
export interface DashboardSettings {
  host: string
  /** the time window shown (--since) */
  windowMs: number
  /** bucket width of the charts */
  every: number
  perCore: boolean
  /** Telegraf's names (default) or node_exporter's */
  panels?: PanelSet['name']
}

export interface MemoryData {
  memPercent?: number
  memTotal?: number
  swapPercent?: number
  swapTotal?: number
}

export interface DiskRow {
  path: string
  percent: number
  total?: number
}

export interface CheckRow {
  kind: 'http' | 'tcp'
  target: string
  ok: boolean
  /** `200`, `timeout`, `conn failed` … */
  status: string
  /** seconds */
  latency?: number
  certDaysLeft?: number
}

export interface MetricsSnapshot {
  at: number
  /** what the poll was for; a poll that outlived a host switch is not shown */
  host: string
  perCore: boolean
  cpu: ChartData
  net: ChartData
  diskio: ChartData
  load: ChartData
  memory: MemoryData
  disks: DiskRow[]
  checks: CheckRow[]
  /** the newest events of the window (oldest first, at most {@link TOP_EVENTS}) for this host or no host */
  events: StoredEvent[]
  /** what failed in this poll (one line each); the panels keep their last good data */
  problems: string[]
  /**
   * When the window holds nothing for the host: the time of its newest point before the window
   * (up to {@link STALE_LOOKBACK_MS} back), so the panels say the data stopped, not that it never came.
   */
  lastSeen?: number
}

/** How many of the newest events a poll keeps. */
export const TOP_EVENTS = 3

/** How far back `mon top` looks for a host's newest point when the window is empty. */
export const STALE_LOOKBACK_MS = 30 * 86_400_000

export type AnyStore = Store & Partial<Pick<StoreCatalog, 'tagValues'>>

/**
 * Failures of the backend or of state.db, as opposed to bugs: user errors (unreachable InfluxDB,
 * bad credentials, a query the backend refused), system errors with a code (ECONNREFUSED,
 * ETIMEDOUT) and SQLite errors (busy, corrupt). These become the outage banner and are retried;
 * anything else propagates.
 */
export function isOutage(error: unknown): boolean {
  if (error instanceof UserError) return true
  const e = error as {code?: unknown; name?: unknown} | undefined
  // errno codes (ECONNREFUSED), not Node's ERR_… codes, which are programming errors
  const systemCode = typeof e?.code === 'string' && /^(E[A-Z0-9]+|SQLITE_\w+)$/.test(e.code)
  return systemCode || e?.name === 'SqliteError' || e?.name === 'NetworkError' || e?.name === 'HttpStatusError'
}

interface Parsed {
  text: string
  expr: ParsedQuery
}

function parse(text: string): Parsed {
  return {text, expr: parseQuery(text)}
}

/**
 * One chart: its queries and its window. A rate chart ends at the last complete bucket: the rate
 * of a bucket is taken between its last value and the previous bucket's, so the current bucket,
 * holding only part of its samples, would show a fraction of the true rate.
 */
class ChartSource {
  private readonly window: SeriesWindow
  private queries: Array<ChartQuery & Parsed> = []
  private loaded = false
  /** bumped when the queries change, so an answer to the old ones is not merged in */
  private generation = 0

  constructor(
    windowMs: number,
    every: number,
    private readonly completeOnly = false,
  ) {
    this.window = new SeriesWindow(windowMs, every)
  }

  setQueries(queries: ChartQuery[]): void {
    this.queries = queries.map((q) => ({...q, ...parse(q.text)}))
    this.reset()
  }

  reset(): void {
    this.generation++
    this.loaded = false
    this.window.clear()
  }

  /** The time the window ends at: now, or the end of the last complete bucket. */
  private shownAt(now: number): number {
    return this.completeOnly ? now - this.window.every : now
  }

  async refresh(store: Store, now: number): Promise<void> {
    const at = this.shownAt(now)
    const generation = this.generation
    // one bucket before the window, so that a rate has a value in the first slot too
    const start = this.loaded ? this.window.tailStart(at) : this.window.fullStart(at) - this.window.every
    // the previous (even failed) state is kept until every query of the chart has answered
    const queries = this.queries
    // bucket b is the range query's step at b + every − 1 ms, whose window (b − 1 ms, b + every − 1 ms]
    // is the bucket [b, b + every) at the store's millisecond precision
    const every = this.window.every
    // … up to the bucket holding now, which is still filling (rate charts stop a bucket earlier)
    const first = Math.ceil(start / every) * every
    const last = Math.floor(now / every) * every
    const results = await Promise.all(
      queries.map((q) => (first > last ? Promise.resolve([]) : runRange(q.expr, store, first + every - 1, last + every - 1, every, {lookbackMs: every, deadline: new QueryDeadline(DEFAULT_QUERY_TIMEOUT_MS)}))),
    )
    // the host or the per-core view changed while these were running
    if (generation !== this.generation) return
    queries.forEach((q, i) => {
      for (const series of results[i]) {
        const rows = series.samples.map((p) => [p.t - every + 1, p.v])
        this.window.merge(q.splitBy ? (series.labels[q.splitBy] ?? q.name) : q.name, rows)
      }
    })
    this.loaded = true
    this.window.trim(at)
  }

  /** After a failure the next refresh loads the whole window again (the gap may be long). */
  failed(): void {
    this.loaded = false
  }

  data(now: number): ChartData {
    const names = this.queries.some((q) => q.splitBy) ? this.window.names() : this.queries.map((q) => q.name)
    return this.window.data(this.shownAt(now), names)
  }
}

/** What a failed check's result code is called in the table (short: the column is narrow). */
const SHORT_RESULTS: Record<string, string> = {
  response_string_mismatch: 'body mismatch',
  body_read_error: 'body error',
  connection_failed: 'conn failed',
  dns_error: 'dns error',
  response_status_code_mismatch: 'bad status',
  read_failed: 'read failed',
  string_mismatch: 'reply mismatch',
}
const HTTP_RESULTS = invert(HTTP_RESULT_CODES)
const TCP_RESULTS = invert(TCP_RESULT_CODES)

function invert(codes: Record<string, number>): Map<number, string> {
  return new Map(Object.entries(codes).map(([name, code]) => [code, SHORT_RESULTS[name] ?? name.replaceAll('_', ' ')]))
}

export class MetricsSource {
  private settings: DashboardSettings
  private queries!: PanelQueries
  private instant!: Record<Exclude<keyof PanelQueries, 'cpu' | 'net' | 'diskio' | 'load'>, Parsed>
  private readonly charts: Record<'cpu' | 'net' | 'diskio' | 'load', ChartSource>
  /** the last good answer of each instant panel, shown while the backend fails */
  private last: {memory: MemoryData; disks: DiskRow[]; checks: CheckRow[]; events: StoredEvent[]} = {memory: {}, disks: [], checks: [], events: []}

  constructor(
    private readonly store: AnyStore,
    settings: DashboardSettings,
    private readonly clock: Clock,
  ) {
    this.settings = {...settings}
    const {windowMs, every} = settings
    this.charts = {cpu: new ChartSource(windowMs, every), net: new ChartSource(windowMs, every, true), diskio: new ChartSource(windowMs, every, true), load: new ChartSource(windowMs, every)}
    this.configure()
  }

  get current(): Readonly<DashboardSettings> {
    return this.settings
  }

  /** Switch host or the per-core view; the charts load their whole window again. */
  update(change: Partial<Pick<DashboardSettings, 'host' | 'perCore'>>): void {
    this.settings = {...this.settings, ...change}
    this.configure()
  }

  private configure(): void {
    const q = PANEL_SETS[this.settings.panels ?? 'telegraf'].queries(this.settings.host, {perCore: this.settings.perCore, every: this.settings.every})
    this.last = {memory: {}, disks: [], checks: [], events: []}
    this.queries = q
    this.charts.cpu.setQueries(q.cpu)
    this.charts.net.setQueries(q.net)
    this.charts.diskio.setQueries(q.diskio)
    this.charts.load.setQueries(q.load)
    this.instant = {
      memPercent: parse(q.memPercent),
      memTotal: parse(q.memTotal),
      swapPercent: parse(q.swapPercent),
      swapTotal: parse(q.swapTotal),
      diskPercent: parse(q.diskPercent),
      diskTotal: parse(q.diskTotal),
      httpResult: parse(q.httpResult),
      httpTime: parse(q.httpTime),
      httpStatus: parse(q.httpStatus),
      tcpResult: parse(q.tcpResult),
      tcpTime: parse(q.tcpTime),
      certDays: parse(q.certDays),
      lastSeen: parse(q.lastSeen),
    }
  }

  /** The expressions in use, for --debug and the help overlay. */
  expressions(): string[] {
    const q = this.queries
    return [...q.cpu, ...q.net, ...q.diskio, ...q.load].map((c) => c.text).concat(Object.values(this.instant).map((p) => p.text))
  }

  private sample(p: Parsed, now: number): Promise<Sample[]> {
    return evaluateInstant(p.expr, this.store, now, {lookback: this.settings.windowMs, deadline: new QueryDeadline(DEFAULT_QUERY_TIMEOUT_MS)})
  }

  /**
   * One poll. A failing part is reported in `problems` and keeps its previous data; the poll
   * itself does not throw for backend failures (the banner shows them and the next tick retries).
   */
  async poll(): Promise<MetricsSnapshot> {
    const now = this.clock.now()
    const settings = this.settings
    const {host, perCore} = settings
    const problems: string[] = []
    const guard = async <T>(what: string, fallback: T, run: () => Promise<T>): Promise<T> => {
      try {
        return await run()
      } catch (error) {
        if (!isOutage(error)) throw error
        problems.push(`${what}: ${errorMessage(error)}`)
        return fallback
      }
    }

    const chart = (name: keyof typeof this.charts) =>
      guard(name, undefined, async () => {
        try {
          await this.charts[name].refresh(this.store, now)
        } catch (error) {
          this.charts[name].failed()
          throw error
        }
      })

    const [, , , , memory, disks, checks, events] = await Promise.all([
      chart('cpu'),
      chart('net'),
      chart('diskio'),
      chart('load'),
      guard('memory', undefined, () => this.memory(now)),
      guard('disks', undefined, () => this.disks(now)),
      guard('checks', undefined, () => this.checks(now)),
      // events are an extra: a backend that fails here fails the panels too, which say so
      this.events(now, host).catch((error: unknown) => {
        if (!isOutage(error)) throw error
        return this.last.events
      }),
    ])
    // kept for the next failing poll, unless the host changed while this one ran
    if (this.settings === settings) {
      if (memory) this.last.memory = memory
      if (disks) this.last.disks = disks
      if (checks) this.last.checks = checks
      this.last.events = events
    }

    const cpu = this.charts.cpu.data(now)
    const load = this.charts.load.data(now)
    // asked only when the window is empty: is the data stale, or has it never come?
    const lastSeen = cpu.empty && load.empty && memory?.memPercent === undefined ? await guard('last seen', undefined, () => this.lastSeen(now)) : undefined
    return {
      at: now,
      host,
      perCore,
      lastSeen,
      cpu,
      net: this.charts.net.data(now),
      diskio: this.charts.diskio.data(now),
      load,
      memory: memory ?? this.last.memory,
      disks: disks ?? this.last.disks,
      checks: checks ?? this.last.checks,
      events,
      problems,
    }
  }

  /** The newest events of the window that are about this host (a host tag) or no host in particular. */
  private async events(now: number, host: string): Promise<StoredEvent[]> {
    if (eventsUnsupportedReason(this.store)) return []
    const found = await readEvents(this.store, {start: now - this.settings.windowMs, end: now + 1})
    return found.filter((e) => e.tags.host === undefined || e.tags.host === host).slice(-TOP_EVENTS)
  }

  private async lastSeen(now: number): Promise<number | undefined> {
    const found = await evaluateInstant(this.instant.lastSeen.expr, this.store, now, {lookback: STALE_LOOKBACK_MS})
    return found[0]?.ts
  }

  private async memory(now: number): Promise<MemoryData> {
    const i = this.instant
    const [mp, mt, sp, st] = await Promise.all([this.sample(i.memPercent, now), this.sample(i.memTotal, now), this.sample(i.swapPercent, now), this.sample(i.swapTotal, now)])
    return {memPercent: mp[0]?.value, memTotal: mt[0]?.value, swapPercent: sp[0]?.value, swapTotal: st[0]?.value}
  }

  private async disks(now: number): Promise<DiskRow[]> {
    const [percent, total] = await Promise.all([this.sample(this.instant.diskPercent, now), this.sample(this.instant.diskTotal, now)])
    const totals = new Map(total.map((s) => [s.labels.path ?? '', s.value]))
    return percent.map((s) => ({path: s.labels.path ?? '', percent: s.value, total: totals.get(s.labels.path ?? '')})).sort((a, b) => naturalCompare(a.path, b.path))
  }

  private async checks(now: number): Promise<CheckRow[]> {
    const i = this.instant
    const [httpResult, httpTime, httpStatus, tcpResult, tcpTime, cert] = await Promise.all(
      [i.httpResult, i.httpTime, i.httpStatus, i.tcpResult, i.tcpTime, i.certDays].map((p) => this.sample(p, now)),
    )
    const by = (samples: Sample[], key: (l: Record<string, string>) => string) => new Map(samples.map((s) => [key(s.labels), s.value]))
    const server = (l: Record<string, string>) => l.server ?? ''
    const hostPort = (l: Record<string, string>) => (l.port ? `${l.server ?? ''}:${l.port}` : (l.server ?? ''))
    const times = by(httpTime, server)
    const statuses = by(httpStatus, server)
    const certs = by(cert, (l) => l.source ?? '')
    const rows: CheckRow[] = []
    for (const s of httpResult) {
      const target = server(s.labels)
      const code = statuses.get(target)
      rows.push({
        kind: 'http',
        target,
        ok: s.value === 0,
        status: s.value === 0 && code !== undefined ? String(code) : s.value === 6 && code !== undefined ? `status ${code}` : (HTTP_RESULTS.get(s.value) ?? `result ${s.value}`),
        latency: times.get(target),
        certDaysLeft: certs.get(target),
      })
    }

    const tcpTimes = by(tcpTime, hostPort)
    for (const s of tcpResult) {
      const target = hostPort(s.labels)
      rows.push({kind: 'tcp', target, ok: s.value === 0, status: s.value === 0 ? 'ok' : (TCP_RESULTS.get(s.value) ?? `result ${s.value}`), latency: tcpTimes.get(target)})
    }

    // failing first, then by name
    return rows.sort((a, b) => Number(a.ok) - Number(b.ok) || naturalCompare(a.target, b.target))
  }

  /** Hosts that have metrics in the store (the `h` list). */
  hosts(): Promise<string[]> {
    return listHosts(this.store, PANEL_SETS[this.settings.panels ?? 'telegraf'])
  }
}

/** The `host` tag values of the host and check measurements (node_exporter: `instance` of node_load1), sorted. */
export async function listHosts(store: AnyStore, panels: PanelSet = PANEL_SETS.telegraf): Promise<string[]> {
  if (!store.tagValues) return []
  const settled = await Promise.allSettled(panels.hostMeasurements.map((m) => store.tagValues!(m, panels.hostTag)))
  const lists = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []))
  // one measurement the backend cannot list is not fatal; none at all means the backend is down
  if (lists.length === 0) throw (settled[0] as PromiseRejectedResult).reason
  return [...new Set(lists.flat())].sort(naturalCompare)
}

/**
 * Bucket width of the charts: about 60 buckets over the window, rounded up to a multiple of the
 * collection interval (narrower buckets would alternate between a value and a gap).
 */
export function chartEvery(windowMs: number, collectionMs: number | undefined): number {
  const auto = autoEvery(0, windowMs, 60)
  if (!collectionMs || collectionMs <= 0) return auto
  // a whole number of collections per bucket: rate() over the buckets' last values is then exact
  // (15 s buckets over 10 s samples would alternate between ⅔ and 4⁄3 of the true rate)
  return Math.ceil(auto / collectionMs) * collectionMs
}

/**
 * The host shown when --host is not given: this host if it has metrics, else the only (or first)
 * host that has, else this host (the panels then say to run `mon collect`).
 */
export async function defaultHost(hostsInStore: () => Promise<string[]>, preferred: string): Promise<string> {
  let hosts: string[]
  try {
    hosts = await hostsInStore()
  } catch (error) {
    if (!isOutage(error)) throw error
    // an unreachable backend is shown by the dashboard itself
    return preferred
  }

  return hosts.length === 0 || hosts.includes(preferred) ? preferred : hosts[0]!
}

/**
 * The panel set a store's names call for: node_exporter's when it has `node_load1` and no Telegraf
 * `system` measurement (a Prometheus scraping node_exporter), else Telegraf's.
 */
export async function detectPanels(store: Store & Partial<Pick<StoreCatalog, 'measurements'>>): Promise<PanelSet> {
  if (!store.measurements) return PANEL_SETS.telegraf
  try {
    const names = new Set(await store.measurements())
    return names.has('node_load1') && !names.has('system') ? PANEL_SETS.node_exporter : PANEL_SETS.telegraf
  } catch {
    return PANEL_SETS.telegraf
  }
}
