/**
 * Range queries (issue 18, "Speed"): a 24 h range query at a 1 min step (1441 steps) over 100
 * series, mon beside the same query on a real Prometheus 2.42 in the same run, both answering from
 * the same samples.
 *
 * Fixture: 100 hosts (h000…h099), each with a counter `requests` and a gauge `cpu` every 15 s (up
 * to 2 s of deterministic jitter, so no sample sits on a window's edge by accident) over the 24 h
 * plus 1 h of look-back: 1.2 million samples. mon reads them from a fresh embedded store, Prometheus
 * from TSDB blocks backfilled with promtool (test/helpers/servers.ts startPrometheus()). Prometheus
 * names them `bench_requests_total` and `bench_cpu`, mon `bench.requests` and `bench.cpu`.
 *
 * Queries: rate(requests[5m]) per series, sum(rate(requests[5m])), avg_over_time(cpu[5m]); each
 * timed as the median of ctx.reps runs after a warm-up run. Prometheus: GET /api/v1/query_range,
 * until the JSON is parsed. mon: in-process (store read + evaluation) and `mon query … --json` end to
 * end (a fresh process each run). Every PromQL answer of mon is compared with Prometheus': the same
 * series, the same 1441 timestamps, values within 1e-9 relative, else the bench fails.
 *
 * TODO(issue 18, PromQL wiring): mon's PromQL-syntax `mon query EXPR --since S --until U --step 1m`
 * and its in-process API are being wired on another branch. When they land, swap the two functions
 * marked SWAP below — runMonRange (in-process: the parser and the announced API in
 * src/core/query/run.ts instead of the AST table and the hand-made store read) and runMonRangeCli
 * (the PromQL expression with --step instead of the legacy stand-in) — and set
 * CLI_SPEAKS_PROMQL = true so the CLI's answers are compared value by value too.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Point} from '../src/core/model/point.js'
import type {PromExpr, VectorSelector} from '../src/core/query/eval/ast.js'
import {rangeQuery} from '../src/core/query/eval/engine.js'
import {formatPromExpr} from '../src/core/query/eval/format.js'
import {MemorySeriesSource, monSeries, type RawSeries} from '../src/core/query/eval/series.js'
import type {QueryResult} from '../src/core/query/run.js'
import {SqliteStore} from '../src/core/store/sqlite/store.js'
import {agg, call, range, sel} from '../test/helpers/promql-ast.js'
import {compareSeries, lcg, openMetrics, promQueryRange, SAME_NUMBER_TOLERANCE, type SeriesValues} from '../test/helpers/prometheus.js'
import {startPrometheus} from '../test/helpers/servers.js'
import {repeat, stats, type Bench, type BenchResult} from './lib.js'

const root = join(fileURLToPath(import.meta.url), '..', '..', '..')
const bin = join(root, 'bin', 'run.js')

const SEC = 1000
const MIN = 60 * SEC
const HOUR = 60 * MIN
const HOSTS = 100
const INTERVAL = 15 * SEC
/** the range queried: the 24 h ending here, at a 1 min step */
const END = Date.UTC(2026, 10, 25, 0, 0, 0)
const START = END - 24 * HOUR
const STEP = MIN
const STEPS = (END - START) / STEP + 1
/** the first sample: 1 h before the range, for the 5 m windows and the look-back */
const FIRST = START - HOUR

interface Names {
  requests: string
  cpu: string
}

const PROMETHEUS: Names = {requests: 'bench_requests_total', cpu: 'bench_cpu'}
const MON: Names = {requests: 'bench.requests', cpu: 'bench.cpu'}

interface RangeCase {
  /** the expression over either side's metric names */
  expr(n: Names): PromExpr
  /** series expected in the answer */
  series: number
  /** interim stand-in in the language `mon query` speaks today (see runMonRangeCli) */
  legacy: string
  /** steps the stand-in must start early: its rate() compares each 1 m bucket with the one before */
  legacyLead?: number
  /** steps the stand-in leaves out: its rate() drops the step across h007's counter reset */
  legacyDrops?: number
}

const CASES: RangeCase[] = [
  {expr: (n) => call('rate', range(sel(n.requests), 5 * MIN)), series: HOSTS, legacy: 'rate(bench.requests)', legacyLead: 1, legacyDrops: 1},
  {expr: (n) => agg('sum', call('rate', range(sel(n.requests), 5 * MIN))), series: 1, legacy: 'sum(rate(bench.requests))', legacyLead: 1},
  {expr: (n) => call('avg_over_time', range(sel(n.cpu), 5 * MIN)), series: HOSTS, legacy: 'mean(bench.cpu) by host'},
]

/** What the PromQL parser will give for each mon expression; until it lands, the bench's own table. */
const PARSED = new Map(CASES.map((c) => [formatPromExpr(c.expr(MON)), c.expr(MON)]))
/** The legacy stand-in `mon query` runs for each mon expression until it speaks PromQL. */
const LEGACY = new Map(CASES.map((c) => [formatPromExpr(c.expr(MON)), c]))
/** TODO(issue 18): true once runMonRangeCli runs the PromQL expression itself. */
const CLI_SPEAKS_PROMQL = false

/**
 * The fixture, named as Prometheus names it: a counter per host (increments of 0 to 49, host h007
 * resetting once, midway) and a gauge (a 0.1-precision random walk in [0, 100]). Values are
 * integers or one-decimal numbers, so the OpenMetrics text carries them exactly.
 */
function fixture(): RawSeries[] {
  const random = lcg(18)
  const count = (END - FIRST) / INTERVAL + 1
  const times = Array.from({length: count}, (_, i) => FIRST + i * INTERVAL + Math.floor(random() * 2000))
  const series: RawSeries[] = []
  for (let h = 0; h < HOSTS; h++) {
    const host = `h${String(h).padStart(3, '0')}`
    let counter = 0
    let gauge = 50
    const requests = times.map((t, i) => {
      counter = h === 7 && i === count >> 1 ? 3 : counter + Math.floor(random() * 50)
      return {t, v: counter}
    })
    const cpu = times.map((t) => {
      gauge = Math.min(100, Math.max(0, gauge + (random() - 0.5) * 4))
      return {t, v: Math.round(gauge * 10) / 10}
    })
    series.push({labels: {__name__: PROMETHEUS.requests, host}, samples: requests}, {labels: {__name__: PROMETHEUS.cpu, host}, samples: cpu})
  }

  return series
}

/** The same samples as mon points: measurement `bench`, fields `requests` and `cpu`, tag `host`. */
function points(series: RawSeries[]): Point[] {
  const byHost = new Map<string, Point[]>()
  for (const s of series) {
    const field = s.labels.__name__ === PROMETHEUS.requests ? 'requests' : 'cpu'
    const host = s.labels.host
    const list = byHost.get(host) ?? []
    s.samples.forEach(({t, v}, i) => {
      list[i] ??= {measurement: 'bench', tags: {host}, fields: {}, ts: t}
      list[i].fields[field] = v
    })
    byHost.set(host, list)
  }

  return [...byHost.values()].flat()
}

function selectorsOf(expr: PromExpr): Array<{selector: VectorSelector; window: number}> {
  switch (expr.kind) {
    case 'vector':
      return [{selector: expr, window: 5 * MIN}]
    case 'matrix':
      return [{selector: expr.selector, window: expr.range}]
    case 'call':
      return expr.args.flatMap(selectorsOf)
    case 'aggregation':
      return selectorsOf(expr.expr)
    default:
      throw new Error(`the interim runMonRange does not read ${expr.kind} expressions`)
  }
}

/** Interim: how long each runMonRange spent reading the store (where the in-process time goes). */
const interimReadMs: number[] = []

/**
 * SWAP (issue 18): mon's in-process range query. Interim: the expression tree from PARSED, the raw
 * samples its selectors need read from the store in one query each, evaluated by the PromQL
 * evaluator with Prometheus 2.x windows ([t − d, t]). Replace with the parser and the announced
 * in-process API (probably src/core/query/run.ts) once it is on main.
 */
async function runMonRange(store: SqliteStore, expr: string, start: number, end: number, stepMs: number): Promise<SeriesValues[]> {
  const tree = PARSED.get(expr)
  if (!tree) throw new Error(`no parsed form of ${expr} in the bench's table`)
  const t = performance.now()
  const raw: RawSeries[] = []
  for (const {selector, window} of selectorsOf(tree)) {
    const dot = selector.name!.indexOf('.')
    const [measurement, field] = [selector.name!.slice(0, dot), selector.name!.slice(dot + 1)]
    const frames = await store.query({measurement, field, matchers: selector.matchers, start: start - window, end: end + 1})
    for (const f of frames) raw.push(monSeries(measurement, field, f.tags, f.rows.map((r) => ({t: r[0] as number, v: r[1] as number}))))
  }

  interimReadMs.push(performance.now() - t)

  return rangeQuery(new MemorySeriesSource(raw), tree, start, end, stepMs, {leftClosed: true}).map((s) => ({labels: s.labels, values: s.samples.map((x) => [x.t, x.v] as [number, number])}))
}

/**
 * SWAP (issue 18): `mon query` end to end, a fresh process. Interim: the legacy stand-in from LEGACY
 * with --every 1m over [start (less its lead), end + 1 step), which gives one row per step from start to end like
 * the range query, but computes 1 m buckets, not 5 m windows. Replace the arguments with
 * `[expr, '--since', …, '--until', …, '--step', `${stepMs / 1000}s`, '--json']` (and read its JSON
 * shape) once the PromQL wiring is on main, and set CLI_SPEAKS_PROMQL.
 */
function runMonRangeCli(env: NodeJS.ProcessEnv, cwd: string, expr: string, start: number, end: number, stepMs: number): SeriesValues[] {
  const {legacy, legacyLead = 0} = LEGACY.get(expr)!
  const args = [bin, 'query', legacy, '--since', new Date(start - legacyLead * stepMs).toISOString(), '--until', new Date(end + stepMs).toISOString(), '--every', `${stepMs / 1000}s`, '--timeout', '1m', '--json']
  const r = spawnSync(process.execPath, args, {cwd, env: {...process.env, NO_COLOR: '1', ...env}, encoding: 'utf8', maxBuffer: 256 * 2 ** 20})
  if (r.status !== 0) throw new Error(`mon query ${legacy} failed (exit ${r.status}): ${r.stderr}`)
  const result = JSON.parse(r.stdout) as QueryResult
  return result.series.map((s) => ({labels: s.tags, values: s.values.map((row) => [Date.parse(row[0] as string), Number(row[1])] as [number, number])}))
}

/**
 * The interim CLI's answer: the series Prometheus has (by labels), each with a value at every step
 * but the `drops` the stand-in is known to leave out.
 */
function checkShape(ours: SeriesValues[], theirs: SeriesValues[], drops: number, what: string): void {
  const keys = (xs: SeriesValues[]) => xs.map((x) => JSON.stringify(Object.entries(x.labels).filter(([k]) => k !== '__name__').sort())).sort()
  const [mine, prometheus] = [keys(ours), keys(theirs)]
  if (mine.length !== prometheus.length || mine.some((k, i) => k !== prometheus[i])) throw new Error(`${what}: mon gave ${mine.length} series, Prometheus ${prometheus.length}; first mon ${mine[0]}, Prometheus ${prometheus[0]}`)
  let missing = 0
  for (const s of ours) {
    if (s.values.some(([t, v], i) => (t - START) % STEP !== 0 || t < START || t > END || t <= (s.values[i - 1]?.[0] ?? -Infinity) || !Number.isFinite(v))) {
      throw new Error(`${what} ${JSON.stringify(s.labels)}: a value off the 1 m steps of the range, out of order, or not a number`)
    }

    missing += STEPS - s.values.length
  }

  if (missing !== drops) throw new Error(`${what}: ${missing} steps missing over all series, expected ${drops} (one value per step)`)
}

const bench: Bench = {
  name: 'query-range',
  issue: '#18',
  async run(ctx) {
    ctx.progress(`generating ${HOSTS} hosts × 2 series × ${(END - FIRST) / INTERVAL + 1} samples`)
    const data = fixture()
    const samples = data.reduce((n, s) => n + s.samples.length, 0)

    ctx.progress('writing the embedded store')
    const dataDir = join(ctx.tmp, 'data')
    const store = new SqliteStore({path: join(dataDir, 'mon.db')})
    const all = points(data)
    for (let i = 0; i < all.length; i += 5000) store.writeSync(all.slice(i, i + 5000))
    store.compact({full: true})

    ctx.progress('backfilling Prometheus with promtool and starting it')
    const prometheus = await startPrometheus(openMetrics(data))
    const configFile = join(ctx.tmp, 'mon.yaml')
    writeFileSync(configFile, `data_dir: ${JSON.stringify(dataDir)}\n`)
    const cwd = join(ctx.tmp, 'cwd')
    mkdirSync(cwd)
    const env = {MON_CONFIG: configFile, XDG_CONFIG_HOME: ctx.tmp}

    const results: BenchResult[] = []
    try {
      for (const c of CASES) {
        const promText = formatPromExpr(c.expr(PROMETHEUS))
        const monText = formatPromExpr(c.expr(MON))
        let theirs: SeriesValues[] = []
        ctx.progress(`Prometheus: ${promText}`)
        const prom = await repeat(
          ctx.reps,
          async () => {
            const t = performance.now()
            theirs = await promQueryRange(prometheus.url, promText, START, END, STEP)
            return performance.now() - t
          },
          1,
        )
        // an empty or partial answer on both sides would prove nothing
        if (theirs.length !== c.series || theirs.some((s) => s.values.length !== STEPS)) {
          throw new Error(`${promText}: Prometheus gave ${theirs.length} series (expected ${c.series}) with ${theirs.map((s) => s.values.length).join('/')} values (expected ${STEPS} each)`)
        }

        ctx.progress(`mon in-process: ${monText}`)
        interimReadMs.length = 0
        let ours: SeriesValues[] = []
        const inProcess = await repeat(
          ctx.reps,
          async () => {
            const t = performance.now()
            ours = await runMonRange(store, monText, START, END, STEP)
            return performance.now() - t
          },
          1,
        )
        const same = compareSeries(ours, theirs, `${monText} (in-process)`)
        const reading = interimReadMs.length > 1 ? stats(interimReadMs.slice(1)).median : undefined

        ctx.progress(`mon query: ${monText}`)
        let cliOurs: SeriesValues[] = []
        const cli = await repeat(
          ctx.reps,
          () => {
            const t = performance.now()
            cliOurs = runMonRangeCli(env, cwd, monText, START, END, STEP)
            return performance.now() - t
          },
          1,
        )
        const cliSame = CLI_SPEAKS_PROMQL ? compareSeries(cliOurs, theirs, `${monText} (mon query)`) : undefined
        if (!cliSame) checkShape(cliOurs, theirs, c.legacyDrops ?? 0, `mon query '${c.legacy}'`)

        const baseline = {name: `Prometheus 2.42, GET /api/v1/query_range ${promText} (until the JSON is parsed)`, value: prom}
        const shape = `${same.series} series × ${STEPS} steps`
        results.push(
          {
            name: `${monText}, 24 h at 1 m (${shape}), in-process: store read + PromQL evaluator`,
            unit: 'ms',
            higherIsBetter: false,
            value: inProcess,
            baseline,
            notes: `${same.values.toLocaleString('en-US')} values, the same series and timestamps as Prometheus; largest relative difference ${same.maxRelativeDifference.toExponential(1)} (the bench fails above ${SAME_NUMBER_TOLERANCE}). Interim: the samples are read from the store in one query per selector${reading === undefined ? '' : ` (${reading.toFixed(0)} ms of it, median)`} and evaluated in memory; the in-process API of issue 18's wiring replaces this. Prometheus' time includes encoding the JSON and this process parsing it; mon's in-process answer is not serialized.`,
          },
          {
            name: CLI_SPEAKS_PROMQL ? `mon query '${monText}' --step 1m --json, end to end (${shape})` : `mon query '${c.legacy}' --every 1m --json, end to end (${shape}; interim stand-in for ${monText})`,
            unit: 'ms',
            higherIsBetter: false,
            value: cli,
            baseline,
            notes: cliSame
              ? `a fresh process each run; the same answer as Prometheus (largest relative difference ${cliSame.maxRelativeDifference.toExponential(1)})`
              : `a fresh process each run. \`mon query\` does not speak PromQL yet (issue 18's wiring is on another branch): this is the nearest query of today's language over the same data and range, with the same series and one value per step, but 1 m buckets instead of 5 m windows, so its values are not compared with Prometheus'.`,
          },
        )
      }
    } finally {
      await prometheus.destroy()
      await store.close()
    }

    results[0].notes = `${results[0].notes} Fixture: ${samples.toLocaleString('en-US')} samples (100 counters and 100 gauges every 15 s with jitter, 25 h), written to a fresh embedded store and backfilled into Prometheus with promtool.`
    return results
  },
}

export default bench
