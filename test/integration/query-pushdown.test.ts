// Issue 18's fast path: window aggregations the store computes itself must give the evaluator's
// answer. Every case runs twice on each backend (pushed down, and evaluated in mon over raw points)
// and on a real influxd as well as the embedded store; the fixture puts points exactly on bucket
// edges, where a bucket [b, b + d) and a window (t − d, t] would part ways if the offset were wrong.
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import type {RangeSeries, Value} from '../../src/core/query/eval/engine.js'
import {runInstant, runRange} from '../../src/core/query/executor.js'
import {parseQuery} from '../../src/core/query/parser.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {QueryPlan, Store} from '../../src/core/store/types.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)
const S = 1000
const M = 60 * S

/** Three hosts × two cores; every 10 s on the minute's edges for a and b, jittered for c; a gap on b. */
function fixture(): Point[] {
  const points: Point[] = []
  let seed = 7
  const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
  for (let i = 0; i <= 180; i++) {
    for (const host of ['a', 'b', 'c']) {
      if (host === 'b' && i >= 60 && i < 75) continue
      const ts = T0 + i * 10 * S + (host === 'c' ? Math.floor(random() * 9000) : 0)
      for (const cpu of ['c0', 'c1']) points.push({measurement: 'cpu', tags: {host, cpu, ...(host === 'a' ? {zone: 'z1'} : {})}, fields: {usage: Math.round(random() * 10_000) / 100}, ts})
    }
  }

  return points
}

const EXPRESSIONS = [
  'avg_over_time(cpu.usage[1m])',
  'min_over_time(cpu.usage{host!="c"}[1m])',
  'max_over_time(cpu.usage[1m])',
  'sum_over_time(cpu.usage[1m])',
  'count_over_time(cpu.usage[1m])',
  'mean(cpu.usage[1m]) by host',
  'max(cpu.usage[1m]) by (zone)',
  'sum(cpu.usage[1m])',
  'count(cpu.usage[1m]) by (host, cpu)',
  'min(cpu.usage{cpu="c1"}[1m]) by host',
  'avg_over_time(cpu.usage[1m]) - avg(cpu.usage[1m]) by (host, cpu, zone)',
  'max(cpu.usage[1m]) by host > 90',
  // a range query aggregates these column by column (engine.ts stepColumnsOf)
  'avg by (host) (avg_over_time(cpu.usage[1m]))',
  'sum without (cpu) (max_over_time(cpu.usage[1m]))',
]

function close(a: number, b: number): boolean {
  return a === b || Math.abs(a - b) <= 1e-12 * Math.max(Math.abs(a), Math.abs(b))
}

function assertSameRange(fast: RangeSeries[], slow: RangeSeries[], label: string): void {
  const key = (s: RangeSeries) => JSON.stringify(Object.entries(s.labels).sort())
  const slowBy = new Map(slow.map((s) => [key(s), s]))
  assert.deepEqual(fast.map(key).sort(), [...slowBy.keys()].sort(), `${label}: series`)
  for (const f of fast) {
    const s = slowBy.get(key(f))!
    assert.deepEqual(
      f.samples.map((p) => p.t),
      s.samples.map((p) => p.t),
      `${label} ${key(f)}: steps`,
    )
    for (const [i, p] of f.samples.entries()) assert.ok(close(p.v, s.samples[i].v), `${label} ${key(f)} at ${new Date(p.t).toISOString()}: pushed down ${p.v}, evaluated ${s.samples[i].v}`)
  }
}

function assertSameInstant(fast: Value, slow: Value, label: string): void {
  assert.equal(fast.type, 'vector')
  assert.equal(slow.type, 'vector')
  if (fast.type !== 'vector' || slow.type !== 'vector') return
  assertSameRange(
    fast.elements.map((e) => ({labels: e.labels, samples: [{t: e.t, v: e.v}]})),
    slow.elements.map((e) => ({labels: e.labels, samples: [{t: e.t, v: e.v}]})),
    label,
  )
}

/** The store, counting the plans that aggregate (pushed down) and those that read raw points. */
function observed(): {plans: QueryPlan[]; observe: (p: QueryPlan) => void} {
  const plans: QueryPlan[] = []
  return {plans, observe: (p) => plans.push(p)}
}

describe('the fast path: window aggregations pushed down give the evaluator\'s answer', () => {
  let influxd: RunningServer
  const stores: Array<[string, Store]> = []
  const tmp = tempDir('mon-pushdown-')

  before(async () => {
    influxd = await startInfluxd()
    const influx = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'pushdown', batch_size: 1000}))
    await influx.init()
    const embedded = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(T0 + 3_600_000)})
    for (const s of [influx, embedded]) await s.write(fixture())
    stores.push(['embedded', embedded], ['influxd', influx])
  })

  after(async () => {
    for (const [, s] of stores) await s.close()
    await influxd?.destroy()
    tmp.cleanup()
  })

  let compared = 0
  for (const text of EXPRESSIONS) {
    it(text, async () => {
      const q = parseQuery(text)
      for (const [name, store] of stores) {
        // steps on the minute (windows end on bucket edges, where points sit) and off it by 7 s
        for (const [start, end] of [
          [T0 + 2 * M, T0 + 28 * M],
          [T0 + 2 * M + 7 * S, T0 + 29 * M + 7 * S],
        ]) {
          const seen = observed()
          const fast = await runRange(q, store, start, end, M, {observe: seen.observe})
          assert.ok(seen.plans.some((p) => p.aggregate && p.every === M), `${name}: ${text} was pushed down`)
          const slow = await runRange(q, store, start, end, M, {pushdown: false})
          assert.ok(slow.length > 0, `${name}: ${text} has data`)
          assertSameRange(fast, slow, `${name} range from ${new Date(start).toISOString()}`)
          compared += slow.reduce((n, s) => n + s.samples.length, 0)
        }

        for (const at of [T0 + 10 * M, T0 + 10 * M + 30 * S, T0 + 11 * M + 1]) {
          const fast = await runInstant(q, store, at)
          const slow = await runInstant(q, store, at, {pushdown: false})
          assertSameInstant(fast.value, slow.value, `${name} instant at ${new Date(at).toISOString()}`)
        }
      }
    })
  }

  it('a step other than the window, or a window under a subquery, is evaluated over raw points', async () => {
    const [, store] = stores[0]
    for (const text of ['avg_over_time(cpu.usage[2m])', 'max_over_time(avg_over_time(cpu.usage[1m])[5m:1m])']) {
      const seen = observed()
      await runRange(parseQuery(text), store, T0 + 5 * M, T0 + 20 * M, M, {observe: seen.observe})
      assert.ok(seen.plans.every((p) => !p.aggregate), `${text}: raw reads only`)
    }
  })

  it('where only rollups hold the range the plan falls back to the evaluator, with the same answer', async () => {
    // retention.raw 1h: three hours later the fixture lives in the 1m rollups only
    const store = new SqliteStore({path: join(tmp.dir, 'rolled.db'), clock: new ManualClock(T0 + 3 * 3_600_000), retention: {raw: '1h', '1m': '30d'}})
    try {
      await store.write(fixture())
      await store.maintain(T0 + 3 * 3_600_000)
      const q = parseQuery('avg_over_time(cpu.usage[1m])')
      const seen = observed()
      const result = await runRange(q, store, T0 + 2 * M + 7 * S, T0 + 20 * M + 7 * S, M, {observe: seen.observe})
      assert.ok(result.length > 0)
      assert.ok(seen.plans.some((p) => p.aggregate && p.offset), 'the pushdown was tried')
      assert.deepEqual(result, await runRange(q, store, T0 + 2 * M + 7 * S, T0 + 20 * M + 7 * S, M, {pushdown: false}))
    } finally {
      await store.close()
    }
  })

  after(() => console.log(`# [pushdown] ${EXPRESSIONS.length} expressions × 2 stores × (2 range + 3 instant): ${compared} range values identical to the evaluator's`))
})
