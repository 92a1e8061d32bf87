/** Agent-side aggregation: window summaries with hand-computed values, windows closing on the clock, drop_original, late points, and the config (an unknown stat is file:line:col). */
import assert from 'node:assert/strict'
import {existsSync, readFileSync} from 'node:fs'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../src/core/config/parse.js'
import {ConfigError} from '../../src/core/config/problems.js'
import type {Point} from '../../src/core/model/point.js'
import {WindowAggregator} from '../../src/core/pipeline/aggregator.js'
import {createAgent} from '../../src/core/pipeline/agent.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir, waitFor} from '../helpers/servers.js'

const M = 60_000
const T = Date.UTC(2026, 10, 25, 9, 0, 0) // a multiple of 1m
const VALUES = [3, 1, 4, 1, 5, 9, 2, 6, 5, 3]

function cpu(ts: number, usage: number, host = 'web-01', extra: Point['fields'] = {}): Point {
  return {measurement: 'cpu', tags: {host}, fields: {usage, ...extra}, ts}
}

describe('agent-side aggregation', () => {
  it('one window: count, sum, mean, min, max, first, last, stdev, p50, p95 computed by hand', () => {
    const agg = new WindowAggregator({period: '1m', stats: ['count', 'sum', 'mean', 'min', 'max', 'first', 'last', 'stdev', 'p50', 'p95'], drop_original: true})
    // 10 points 6 s apart in [T, T+1m)
    assert.deepEqual(agg.add(VALUES.map((v, i) => cpu(T + i * 6000, v))), [], 'drop_original: nothing goes on now')
    assert.deepEqual(agg.flush(T + M - 1), [], 'the window has not closed yet')
    const [summary, ...rest] = agg.flush(T + M)
    assert.equal(rest.length, 0)
    assert.equal(summary!.measurement, 'cpu')
    assert.deepEqual(summary!.tags, {host: 'web-01'})
    assert.equal(summary!.ts, T, 'at the start of the window')
    const f = summary!.fields as Record<string, number>
    // sorted: 1 1 2 3 3 4 5 5 6 9; sum 39
    assert.equal(f.usage_count, 10)
    assert.equal(f.usage_sum, 39)
    assert.equal(f.usage_mean, 3.9)
    assert.equal(f.usage_min, 1)
    assert.equal(f.usage_max, 9)
    assert.equal(f.usage_first, 3)
    assert.equal(f.usage_last, 3)
    // squared deviations from 3.9 sum to 54.9; sample variance 54.9 / 9 = 6.1
    assert.ok(Math.abs(f.usage_stdev! - Math.sqrt(6.1)) < 1e-12, String(f.usage_stdev))
    // nearest rank: p50 is the 5th of 10 (3), p95 the 10th (9)
    assert.equal(f.usage_p50, 3)
    assert.equal(f.usage_p95, 9)
    assert.deepEqual(Object.keys(f).sort(), ['usage_count', 'usage_first', 'usage_last', 'usage_max', 'usage_mean', 'usage_min', 'usage_p50', 'usage_p95', 'usage_stdev', 'usage_sum'])
  })

  it('windows are aligned to the period and close one by one; series and fields apart; strings and booleans are not summarized', () => {
    const agg = new WindowAggregator({period: '1m', stats: ['mean', 'count'], drop_original: true})
    agg.add([cpu(T + 10_000, 10), cpu(T + 50_000, 20), cpu(T + 20_000, 7, 'db-01', {state: 'ok', up: true, load: 2n})])
    agg.add([cpu(T + M + 5000, 30), cpu(T + 2 * M + 1, 99)])
    assert.equal(agg.nextClose(), T + M)
    const first = agg.flush(T + M + 30_000)
    assert.deepEqual(
      first.map((p) => [p.tags.host, p.ts - T, p.fields]),
      [
        ['web-01', 0, {usage_mean: 15, usage_count: 2}],
        ['db-01', 0, {usage_mean: 7, usage_count: 1, load_mean: 2, load_count: 1}],
      ],
    )
    assert.equal(agg.nextClose(), T + 2 * M)
    const second = agg.flush(T + 2 * M)
    assert.deepEqual(second.map((p) => [p.ts - T, p.fields]), [[M, {usage_mean: 30, usage_count: 1}]])
    // the window [T+2m, T+3m) is still open; a point for an already sent window is late
    agg.add([cpu(T + 30_000, 1000)])
    assert.deepEqual(agg.status(), {late: 1, summaries: 3, open: 1})
    // stopping sends the open window as it is
    assert.deepEqual(agg.flush(T + 2 * M + 10, true).map((p) => [p.ts - T, p.fields]), [[2 * M, {usage_mean: 99, usage_count: 1}]])
    assert.equal(agg.nextClose(), undefined)
  })

  it('drop_original: false sends the raw points now and the summaries when the window closes', () => {
    const agg = new WindowAggregator({period: '30s', stats: ['max', 'p95'], drop_original: false})
    const raw = [cpu(T, 1), cpu(T + 10_000, 4), cpu(T + 20_000, 2)]
    assert.equal(agg.add(raw), raw)
    // p95 of 3 values: the 3rd (floor(3 × 0.95 + 0.5) = 3)
    assert.deepEqual(agg.flush(T + 30_000).map((p) => p.fields), [{usage_max: 4, usage_p95: 4}])
  })

  it('config: aggregate on a scheduled input, defaults, and an unknown stat as file:line:col', () => {
    const {config} = parseConfigText(
      `inputs:
  host:
    aggregate: {period: 1m}
  exec:
    - name: queue
      command: [queue-stats]
      aggregate:
        period: 5m
        stats: [mean, p99, count]
        drop_original: false
`,
      'mon.yaml',
      {},
    )
    assert.deepEqual(config.inputs.host.aggregate, {period: '1m', stats: ['mean', 'min', 'max', 'count'], drop_original: true})
    assert.deepEqual(config.inputs.exec[0]!.aggregate, {period: '5m', stats: ['mean', 'p99', 'count'], drop_original: false})

    let err: unknown
    try {
      parseConfigText(
        `inputs:
  http:
    - url: http://127.0.0.1:8080/health
      aggregate:
        period: 1m
        stats: [mean, maen, p100]
`,
        'mon.yaml',
        {},
      )
    } catch (e) {
      err = e
    }
    assert.ok(err instanceof ConfigError, String(err))
    const problems = err.problems.map((p) => `${p.position.file}:${p.position.line}:${p.position.col}: ${p.message}`)
    assert.equal(problems.length, 2, problems.join('\n'))
    assert.match(problems[0]!, /^mon\.yaml:6:23: inputs\.http\[0\]\.aggregate\.stats\[1\]: unknown stat "maen" \(did you mean mean\?\): expected count, sum, mean, min, max, first, last, stdev or a percentile p50, p95, p99/)
    assert.match(problems[1]!, /^mon\.yaml:6:29: .*unknown stat "p100"/)
  })
})

describe('agent-side aggregation in the agent', () => {
  it('an exec input every 10s with aggregate {period: 1m}: nothing stored until the window closes, then one summary; stop sends the open window', async () => {
    const tmp = tempDir('mon-agent-aggregate-')
    const counter = join(tmp.dir, 'counter')
    const script = `n=$(cat ${counter} 2>/dev/null || echo 0); n=$((n+1)); echo $n > ${counter}; echo "ticks v=$n"`
    const {config} = parseConfigText(
      `data_dir: ${JSON.stringify(tmp.dir)}
agent: {self_metrics: false, flush_interval: 1s, jitter: 0s}
inputs:
  host: {enabled: false}
  exec:
    - name: ticks
      interval: 10s
      command: [sh, -c, ${JSON.stringify(script)}]
      aggregate: {period: 1m, stats: [mean, min, max, count]}
`,
      'mon.yaml',
      {},
    )
    const timer = new ManualTimer(T)
    const store = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: timer})
    const agent = await createAgent({config, dataDir: tmp.dir, store: async () => store, clock: timer, timer, random: () => 0})
    const runs = () => (existsSync(counter) ? Number(readFileSync(counter, 'utf8')) : 0)
    const stored = async (field: string) => (await store.query({measurement: 'ticks', field, matchers: [], start: T - M, end: T + 10 * M})).flatMap((f) => f.rows)
    try {
      await agent.start()
      // one exec run every 10 s of the manual clock; each one finishes (a real process) before time moves on
      let seen = runs()
      const step = async () => {
        await timer.advance(10_000)
        await waitFor(async () => runs() > seen, 'the exec run')
        seen = runs()
        await timer.advance(0)
      }
      while (timer.now() < T + 50_000) await step()
      await agent.flushNow(5000)
      assert.deepEqual(await stored('v'), [], 'drop_original: no raw points')
      assert.deepEqual(await stored('v_mean'), [], 'the window [T, T+1m) has not closed')
      // every run so far (numbered 1, 2, …) was at T+10s … T+50s: all in the window [T, T+1m)
      const inFirst = seen
      assert.ok(inFirst >= 5, String(inFirst))
      await step() // T+60s: the window closes (its timer fires before the run of T+60s)
      await waitFor(async () => {
        await agent.flushNow(5000)
        return (await stored('v_count')).length === 1
      }, 'the summary in the store')
      const first = 1
      const n = inFirst
      assert.deepEqual(await stored('v_count'), [[T, n]])
      assert.deepEqual(await stored('v_min'), [[T, first]])
      assert.deepEqual(await stored('v_max'), [[T, inFirst]])
      assert.deepEqual(await stored('v_mean'), [[T, (first + inFirst) / 2]])
      await step() // T+70s
      assert.deepEqual(agent.status().inputs.find((i) => i.name === 'exec:ticks')?.aggregate, {late: 0, summaries: 1, open: 1})
      const {written} = await agent.stop(5000)
      assert.ok(written >= 2)
      // the second window [T+1m, T+2m) held the runs of T+60s and T+70s: sent on stop, as it was
      assert.deepEqual((await stored('v_count')).map((r) => r[0]), [T, T + M])
      assert.deepEqual(await stored('v_max'), [[T, inFirst], [T + M, seen]])
    } finally {
      await store.close()
      tmp.cleanup()
    }
  })
})
