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
 * Windows: mon's are left-open, (t − d, t], Prometheus 2.42's closed, [t − d, t]; the fixture's
 * jitter (1 to 2000 ms after each 15 s tick) keeps every sample off every window's edge, so both
 * read the same samples and must give the same numbers.
 */
import {spawnSync} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {fileURLToPath} from 'node:url'
import type {Point} from '../src/core/model/point.js'
import type {RawSeries} from '../src/core/query/eval/series.js'
import {runRange} from '../src/core/query/executor.js'
import {parseQuery} from '../src/core/query/parser.js'
import type {QueryResult} from '../src/core/query/run.js'
import {SqliteStore} from '../src/core/store/sqlite/store.js'
import type {Store} from '../src/core/store/types.js'
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
  /** the PromQL expression over either side's metric names */
  query(n: Names): string
  /** series expected in the answer */
  series: number
}

const CASES: RangeCase[] = [
  {query: (n) => `rate(${n.requests}[5m])`, series: HOSTS},
  {query: (n) => `sum(rate(${n.requests}[5m]))`, series: 1},
  {query: (n) => `avg_over_time(${n.cpu}[5m])`, series: HOSTS},
]

/**
 * The fixture, named as Prometheus names it: a counter per host (increments of 0 to 49, host h007
 * resetting once, midway) and a gauge (a 0.1-precision random walk in [0, 100]). Values are
 * integers or one-decimal numbers, so the OpenMetrics text carries them exactly.
 */
function fixture(): RawSeries[] {
  const random = lcg(18)
  const count = (END - FIRST) / INTERVAL + 1
  // 1 to 1999 ms after each tick: never on a minute, so never on the edge of a window of whole
  // minutes ending at a 1 m step, where mon's (t − d, t] and Prometheus' [t − d, t] would differ
  const times = Array.from({length: count}, (_, i) => FIRST + i * INTERVAL + 1 + Math.floor(random() * 1999))
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

/** How long each runMonRange spent in the store's query() (where the in-process time goes). */
const readMs: number[] = []

/** The store as runRange sees it, its reads timed into {@link readMs}. */
function timedReads(store: SqliteStore): Store {
  return {
    kind: store.kind,
    write: (points) => store.write(points),
    async query(plan, opts) {
      const t = performance.now()
      try {
        return await store.query(plan, opts)
      } finally {
        readMs.push(performance.now() - t)
      }
    },
    close: () => store.close(),
  }
}

/**
 * mon's in-process range query: the expression parsed and run by the executor (one raw read per
 * selector over every window the query needs, then the PromQL evaluator in memory), mon's windows
 * (t − d, t].
 */
async function runMonRange(store: Store, expr: string, start: number, end: number, stepMs: number): Promise<SeriesValues[]> {
  const series = await runRange(parseQuery(expr), store, start, end, stepMs)
  return series.map((s) => ({labels: s.labels, values: s.samples.map((x) => [x.t, x.v] as [number, number])}))
}

/**
 * `mon query EXPR --since START --until END --step 1m --json`, end to end, a fresh process. Its
 * steps are counted back from --until, so with --until the last step and --since the first they are
 * Prometheus' start, start + step, …, end.
 */
function runMonRangeCli(env: NodeJS.ProcessEnv, cwd: string, expr: string, start: number, end: number, stepMs: number): SeriesValues[] {
  const args = [bin, 'query', expr, '--since', new Date(start).toISOString(), '--until', new Date(end).toISOString(), '--step', `${stepMs / 1000}s`, '--timeout', '1m', '--json']
  const r = spawnSync(process.execPath, args, {cwd, env: {...process.env, NO_COLOR: '1', ...env}, encoding: 'utf8', maxBuffer: 256 * 2 ** 20})
  if (r.status !== 0) throw new Error(`mon query ${expr} failed (exit ${r.status}): ${r.stderr}`)
  const result = JSON.parse(r.stdout) as QueryResult
  if (result.type !== 'range' || Date.parse(result.start) !== start || Date.parse(result.end) !== end) {
    throw new Error(`mon query ${expr}: a ${result.type} query from ${result.start} to ${result.end}, expected a range query from ${new Date(start).toISOString()} to ${new Date(end).toISOString()}`)
  }

  return result.series.map((s) => ({
    labels: s.name ? {...s.tags, __name__: s.name} : s.tags,
    values: s.values.map((row) => [Date.parse(row[0] as string), Number(row[1])] as [number, number]),
  }))
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
    const reader = timedReads(store)
    try {
      for (const c of CASES) {
        const promText = c.query(PROMETHEUS)
        const monText = c.query(MON)
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
        readMs.length = 0
        let ours: SeriesValues[] = []
        const inProcess = await repeat(
          ctx.reps,
          async () => {
            const t = performance.now()
            ours = await runMonRange(reader, monText, START, END, STEP)
            return performance.now() - t
          },
          1,
        )
        const same = compareSeries(ours, theirs, `${monText} (in-process)`)
        // one read per run (one selector); the warm-up's left out as in repeat()
        const reading = readMs.length === ctx.reps + 1 ? stats(readMs.slice(1)).median : undefined

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
        const cliSame = compareSeries(cliOurs, theirs, `${monText} (mon query)`)

        const baseline = {name: `Prometheus 2.42, GET /api/v1/query_range ${promText} (until the JSON is parsed)`, value: prom}
        const shape = `${same.series} series × ${STEPS} steps`
        results.push(
          {
            name: `${monText}, 24 h at 1 m (${shape}), in-process: parse + store read + PromQL evaluator`,
            unit: 'ms',
            higherIsBetter: false,
            value: inProcess,
            baseline,
            notes: `${same.values.toLocaleString('en-US')} values, the same series and timestamps as Prometheus; largest relative difference ${same.maxRelativeDifference.toExponential(1)} (the bench fails above ${SAME_NUMBER_TOLERANCE}). parseQuery + runRange (src/core/query/executor.ts) on the embedded store: one raw read for the selector over every window${reading === undefined ? '' : ` (${reading.toFixed(0)} ms of it, median)`}, then the evaluator in memory. Prometheus' time includes encoding the JSON and this process parsing it; mon's in-process answer is not serialized.`,
          },
          {
            name: `mon query '${monText}' --since … --until … --step 1m --json, end to end (${shape})`,
            unit: 'ms',
            higherIsBetter: false,
            value: cli,
            baseline,
            notes: `a fresh process each run (start-up, config, opening the store, the query, the JSON); the same answer as Prometheus (${cliSame.values.toLocaleString('en-US')} values, largest relative difference ${cliSame.maxRelativeDifference.toExponential(1)})`,
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
