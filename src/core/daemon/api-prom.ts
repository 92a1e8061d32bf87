import {availableParallelism} from 'node:os'
import type {Clock} from '../clock.js'
import {tryParseDuration} from '../config/duration.js'
import {InputError, UserError, errorMessage} from '../errors.js'
import {metricName, selectorName} from '../query/ast.js'
import {PromEvalError, type RangeSeries, type Value} from '../query/eval/engine.js'
import {labelsKey, METRIC_NAME, type Labels} from '../query/eval/series.js'
import {DEFAULT_QUERY_TIMEOUT_MS, QueryDeadline, QueryTimeoutError} from '../query/deadline.js'
import {loadSeries, readsFor, runInstant, runRange} from '../query/executor.js'
import {ParseCache} from '../query/parse-cache.js'
import {parseTime} from '../query/time.js'
import {queryServed} from '../runtime.js'
import {groupHelper, useGroupHelper} from '../store/sqlite/accumulate.js'
import type {FullStore} from '../store/types.js'
import type {ApiReply, ApiRequest, ApiServer} from './http-api.js'
import {MatrixJsonThread, type JsonThreadOptions} from './json-thread.js'
import {formatValue, JsonBytes, matrixJsonBytes, matrixJsonParts, matrixSize} from './prom-json.js'

export {formatValue} from './prom-json.js'

/**
 * Prometheus' HTTP query API over mon's own query engine (query/executor.ts), so anything that
 * speaks to Prometheus — Grafana's Prometheus data source, promtool, curl scripts — can query the
 * daemon's store with mon's names (`cpu.usage_user{host="a"}`):
 *
 *   GET|POST /api/v1/query         query, time, timeout, lookback_delta
 *   GET|POST /api/v1/query_range   query, start, end, step, timeout, lookback_delta
 *   GET|POST /api/v1/labels        match[], (start, end accepted)
 *   GET      /api/v1/label/{name}/values   match[]; `__name__` lists the metric names
 *   GET|POST /api/v1/series        match[] (required), start, end
 *   GET      /api/v1/metadata      always empty (mon keeps no metric metadata)
 *
 * Answers are Prometheus' JSON: `{"status":"success","data":{"resultType","result"}}`, times as
 * Unix seconds, values as strings; errors `{"status":"error","errorType","error"}` with 400
 * (bad_data: the query or a parameter), 422 (execution: the evaluator refused), 503 (timeout).
 * Parameters come from the URL and, for POST, from a form body (api.ts merges the two as
 * Prometheus does). Every route is under /api/, so it needs the API token like the rest.
 */
export interface PromApiOptions {
  /** the daemon's store (undefined until it has opened it) */
  store: () => FullStore | undefined
  clock: Clock
  /** the query budget when the request gives no `timeout`, a duration (config query.timeout; default 10s) */
  timeout?: () => string | undefined
  /**
   * the thread that shares a large range query's work (json-thread.ts); false: none. Default: one
   * on a machine of more than {@link QUERY_THREAD_MIN_CPUS} − 1 CPUs, none on fewer.
   */
  jsonThread?: JsonThreadOptions | false
}

/**
 * The fewest CPUs (os.availableParallelism) on which the daemon shares a large range query with a
 * second thread by default. On this project's 2-CPU machine it did not pay: the daemon with the
 * thread answered the day-long 1 min range query in 9.85 and 10.45 ms against 9.49 and 9.88 ms
 * without it (two runs, both builds taking turns with VictoriaMetrics, medians of 400) — the
 * second CPU is the one the client and the peer server use too, and waking the idle thread
 * stalled the request now and then by 1.5–2.5 ms (the p90 of a message to it after 5 ms idle,
 * against ~50 µs while it is awake), more than its half of the work saved.
 */
export const QUERY_THREAD_MIN_CPUS = 4

/** What mountPromRoutes leaves running: the JSON thread, stopped with the API. */
export interface PromRoutes {
  readonly json?: MatrixJsonThread
  close(): Promise<void>
}

/**
 * Matrix answers from this size (matrixSize's estimate) are sent in parts, chunked: the client
 * reads the first series while the daemon writes the rest. For 1-min means over a day of 10 series
 * (0.45 MB) the first byte reached the client ~1.4 ms sooner and the whole answer ~7 % sooner
 * (two builds taking turns on copies of one store, 2 CPUs); a small answer goes in one write with
 * its Content-Length.
 */
const STREAM_FROM = 65_536

/** Prometheus' limit on points per series in a range query. */
const MAX_POINTS = 11_000

class PromApiError extends Error {
  constructor(
    readonly status: number,
    readonly errorType: string,
    message: string,
  ) {
    super(message)
  }
}

const badData = (message: string) => new PromApiError(400, 'bad_data', message)

export function mountPromRoutes(api: ApiServer, opts: PromApiOptions): PromRoutes {
  const answerBuffer = new SpareBuffer()
  // a dashboard asks the same few texts at every refresh: each parsed once (parse-cache.ts)
  const parses = new ParseCache()
  const threaded = opts.jsonThread !== false && (opts.jsonThread !== undefined || availableParallelism() >= QUERY_THREAD_MIN_CPUS)
  const json = threaded ? new MatrixJsonThread(opts.jsonThread || {}) : undefined
  // the store's large aggregate reads share their decoding with the thread while it runs
  if (json) useGroupHelper(json)
  const route = (methods: string[], path: string, handler: (req: ApiRequest, store: FullStore) => Promise<unknown>) => {
    const wrapped = async (req: ApiRequest): Promise<ApiReply> => {
      // a daemon asked for queries is a query server (Grafana refreshing dashboards): the evaluator
      // and the store's decoding need V8's optimizing compiler, which lean.js turned off, and a heap
      // that is not collected whole every few large answers (runtime.ts)
      queryServed()
      try {
        const store = opts.store()
        if (!store) throw new PromApiError(503, 'unavailable', 'the store is not open yet')
        const data = await handler(req, store)
        if (!(data instanceof MatrixAnswer)) return {json: {status: 'success', data}}
        const w = answerBuffer.take()
        const head = '{"status":"success","data":'
        const sent = () => answerBuffer.give(w)
        if (json) return {jsonBytes: await json.matrix(data.series, head, '}\n', w), sent}
        // a large answer goes out series by series: the client reads the first while the rest are written
        const series = data.series
        if (series.length > 1 && matrixSize(series) >= STREAM_FROM) return {jsonParts: (write) => matrixJsonParts(series, head, '}\n', w, write), sent}
        return {jsonBytes: matrixJsonBytes(series, head, '}\n', w), sent}
      } catch (error) {
        const e = asPromError(error)
        return {status: e.status, json: {status: 'error', errorType: e.errorType, error: e.message}}
      }
    }
    for (const m of methods) api.route(m, path, wrapped)
  }

  const deadlineFor = (req: ApiRequest) => {
    const given = req.query.get('timeout')
    const configured = opts.timeout?.()
    const budget = (configured === undefined ? undefined : tryParseDuration(configured)) || DEFAULT_QUERY_TIMEOUT_MS
    const ms = given ? Math.min(duration(given, 'timeout'), budget) : budget
    return new QueryDeadline(ms, opts.clock)
  }

  const lookbackOf = (req: ApiRequest) => {
    const given = req.query.get('lookback_delta')
    return given ? duration(given, 'lookback_delta') : undefined
  }

  route(['GET', 'POST'], '/api/v1/query', async (req, store) => {
    const q = parsed(req, parses)
    const at = req.query.get('time') ? time(req.query.get('time')!, 'time', opts.clock.now()) : opts.clock.now()
    const {value} = await runInstant(q, store, at, {deadline: deadlineFor(req), lookbackMs: lookbackOf(req)})
    return instantData(value, at)
  })

  route(['GET', 'POST'], '/api/v1/query_range', async (req, store) => {
    const now = opts.clock.now()
    const start = time(required(req, 'start'), 'start', now)
    const end = time(required(req, 'end'), 'end', now)
    const stepText = required(req, 'step')
    const step = duration(stepText, 'step')
    if (end < start) throw badData('end timestamp must not be before start time')
    if (step <= 0) throw badData('zero or negative query resolution step widths are not accepted. Try a positive integer')
    if ((end - start) / step > MAX_POINTS) throw badData('exceeded maximum resolution of 11,000 points per timeseries. Try decreasing the query resolution (?step=XX)')
    const q = parsed(req, parses)
    if (q.expr.kind === 'matrix' || q.expr.kind === 'string') throw badData(`invalid expression type "${q.expr.kind === 'matrix' ? 'range vector' : 'string'}" for range query, must be Scalar or instant Vector`)
    const series = await runRange(q, store, start, end, step, {deadline: deadlineFor(req), lookbackMs: lookbackOf(req)})
    return new MatrixAnswer(sortByLabels(series))
  })

  route(['GET', 'POST'], '/api/v1/series', async (req, store) => {
    const matches = req.query.getAll('match[]')
    if (matches.length === 0) throw badData('no match[] parameter provided')
    return matchingSeries(store, matches, req, opts.clock.now(), parses)
  })

  route(['GET', 'POST'], '/api/v1/labels', async (req, store) => {
    const matches = req.query.getAll('match[]')
    if (matches.length > 0) {
      const names = new Set<string>()
      for (const s of await matchingSeries(store, matches, req, opts.clock.now(), parses)) for (const k of Object.keys(s)) names.add(k)
      return [...names].sort()
    }
    const names = new Set<string>([METRIC_NAME])
    for (const m of await store.measurements()) for (const k of await store.tagKeys(m)) names.add(k)
    return [...names].sort()
  })

  route(['GET'], '/api/v1/label/{name}/values', async (req, store) => {
    const name = req.params.name!
    const matches = req.query.getAll('match[]')
    const values = new Set<string>()
    if (matches.length > 0) {
      for (const s of await matchingSeries(store, matches, req, opts.clock.now(), parses)) if (s[name] !== undefined) values.add(s[name])
    } else if (name === METRIC_NAME) {
      for (const m of await store.measurements()) {
        for (const f of await store.fieldKeys(m)) if (f.type !== 'string') values.add(f.name === 'value' ? m : metricName(m, f.name))
      }
    } else {
      for (const m of await store.measurements()) {
        if ((await store.tagKeys(m)).includes(name)) for (const v of await store.tagValues(m, name)) values.add(v)
      }
    }
    return [...values].sort()
  })

  route(['GET'], '/api/v1/metadata', async () => ({}))
  return {
    json,
    close: async () => {
      if (json && groupHelper() === json) useGroupHelper(undefined)
      await json?.close()
    },
  }
}

/** The label sets of the series `match[]` selects with a point in [start, end] (default: everything up to now). */
async function matchingSeries(store: FullStore, matches: string[], req: ApiRequest, now: number, parses: ParseCache): Promise<Labels[]> {
  const end = req.query.get('end') ? time(req.query.get('end')!, 'end', now) : now
  const start = req.query.get('start') ? time(req.query.get('start')!, 'start', now) : 0
  if (end < start) throw badData('end timestamp must not be before start time')
  const out = new Map<string, Labels>()
  for (const text of matches) {
    const q = parseOrBad(text, 'match[]', parses)
    if (q.expr.kind !== 'vector') throw badData(`invalid parameter "match[]": ${JSON.stringify(text)} is not a series selector`)
    if (selectorName(q.expr) === undefined) throw badData(`invalid parameter "match[]": ${JSON.stringify(text)} names no metric (mon reads one metric per selector)`)
    // a read of every point in [start, end]: the lookback reaches back to `start`
    const reads = readsFor(q.expr, end, end, {lookbackMs: Math.max(1, end - start)})
    const {source} = await loadSeries(store, reads)
    for (const s of source.select([], start, end)) if (s.samples.length > 0) out.set(labelsKey(s.labels), s.labels)
  }
  return [...out.values()].sort((a, b) => compareLabels(a, b))
}

function required(req: ApiRequest, name: string): string {
  const v = req.query.get(name)
  if (v === null || v === '') throw badData(`invalid parameter "${name}": cannot parse "" to a valid ${name === 'step' ? 'duration' : 'timestamp'}`)
  return v
}

function parsed(req: ApiRequest, parses: ParseCache) {
  return parseOrBad(req.query.get('query') ?? '', 'query', parses)
}

function parseOrBad(text: string, param: string, parses: ParseCache) {
  try {
    return parses.get(text)
  } catch (error) {
    throw badData(`invalid parameter "${param}": ${errorMessage(error)}`)
  }
}

/** Prometheus' timestamps: Unix seconds with a fraction, or RFC 3339; mon's relative times (`now-1h`) too. */
function time(text: string, name: string, now: number): number {
  const s = text.trim()
  if (/^-?\d+(\.\d+)?$/.test(s)) {
    const ms = Math.round(Number(s) * 1000)
    if (Number.isFinite(ms)) return ms
  }
  try {
    return parseTime(s, now, name)
  } catch {
    throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid timestamp`)
  }
}

/** Prometheus' durations: seconds as a number (`15`, `0.5`) or a duration (`1m`, `1h30m`). */
function duration(text: string, name: string): number {
  const s = text.trim()
  if (/^-?\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000)
  const ms = tryParseDuration(s)
  if (ms === undefined) throw badData(`invalid parameter "${name}": cannot parse "${text}" to a valid duration`)
  return ms
}

function instantData(value: Value, at: number): {resultType: string; result: unknown} {
  switch (value.type) {
    case 'scalar':
      return {resultType: 'scalar', result: [seconds(at), formatValue(value.v)]}
    case 'string':
      return {resultType: 'string', result: [seconds(at), value.v]}
    case 'vector':
      return {resultType: 'vector', result: value.elements.map((e) => ({metric: e.labels, value: [seconds(e.t), formatValue(e.v)]}))}
    case 'matrix':
      return {resultType: 'matrix', result: sortByLabels(value.series).map((s) => ({metric: s.labels, values: s.samples.map((p) => [seconds(p.t), formatValue(p.v)])}))}
  }
}

/**
 * The buffer a range query's answer is written into, kept from one answer to the next once the
 * last one was sent: a fresh 0.5 MB Buffer for each (a day at 1 min × 10 series) cost ~0.3 ms of
 * mapping and page faults, and GC work to free it. One is kept (requests at the same time write
 * into buffers of their own), none above 8 MiB, and none after 30 s without a range query (an idle
 * daemon holds nothing for it).
 */
class SpareBuffer {
  private spare: JsonBytes | undefined
  private timer: NodeJS.Timeout | undefined

  take(): JsonBytes {
    const w = this.spare ?? new JsonBytes()
    this.spare = undefined
    return w
  }

  give(w: JsonBytes): void {
    if (w.buf.length > 8 * 1024 * 1024) return
    this.spare = w
    clearTimeout(this.timer)
    this.timer = setTimeout(() => (this.spare = undefined), 30_000).unref()
  }
}

/** A range query's series, for the route to write as JSON bytes itself (prom-json.ts). */
class MatrixAnswer {
  constructor(readonly series: readonly RangeSeries[]) {}
}

function sortByLabels<T extends {labels: Labels}>(series: T[]): T[] {
  return [...series].sort((a, b) => compareLabels(a.labels, b.labels))
}

/** Prometheus' label-set order: by sorted names, then values. */
function compareLabels(a: Labels, b: Labels): number {
  const ka = Object.keys(a).sort()
  const kb = Object.keys(b).sort()
  for (let i = 0; i < Math.min(ka.length, kb.length); i++) {
    if (ka[i] !== kb[i]) return ka[i]! < kb[i]! ? -1 : 1
    const va = a[ka[i]!]!
    const vb = b[kb[i]!]!
    if (va !== vb) return va < vb ? -1 : 1
  }
  return ka.length - kb.length
}

/** A time in Unix seconds (ms precision), as Prometheus writes it: a JSON number. */
function seconds(ms: number): number {
  return ms / 1000
}

function asPromError(error: unknown): PromApiError {
  if (error instanceof PromApiError) return error
  if (error instanceof QueryTimeoutError) return new PromApiError(503, 'timeout', `query timed out in expression evaluation: ${error.message}`)
  if (error instanceof PromEvalError) return new PromApiError(422, 'execution', error.message)
  if (error instanceof InputError) return new PromApiError(400, 'bad_data', error.message)
  if (error instanceof UserError) return new PromApiError(422, 'execution', error.message)
  throw error
}
