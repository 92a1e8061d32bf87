/**
 * Differential test: the same points in the embedded store and in a real influxd, the same
 * expressions through prepareQuery(...).run(store) on both, the same frames (numbers equal within
 * 1e-9 relative). The embedded store defines the semantics; InfluxDB must match it.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import {prepareQuery, type QueryResult} from '../../src/core/query/run.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Frame} from '../../src/core/store/types.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)
const STEP = 10_000

/** A tiny deterministic generator so the fixture is the same on every run. */
function lcg(seed: number): () => number {
  let s = seed >>> 0
  return () => {
    s = (Math.imul(s, 1_664_525) + 1_013_904_223) >>> 0
    return s / 2 ** 32
  }
}

/**
 * cpu: hosts a, b, c; a has two cpus (c0, c1), b has one, c has no cpu tag; every series has its
 * own time offset (no two series share a timestamp, so first()/last() have no ties to break).
 * usage is a float, ticks an integer counter (c's resets at minute 20); b has a gap at minutes 10–15.
 * mem: float and integer fields, one series per host, plus a string field.
 */
function fixture(): Point[] {
  const rnd = lcg(42)
  const series: Array<{tags: Record<string, string>; offset: number}> = [
    {tags: {host: 'a', cpu: 'c0', region: 'eu'}, offset: 0},
    {tags: {host: 'a', cpu: 'c1', region: 'eu'}, offset: 1_300},
    {tags: {host: 'b', cpu: 'c0', region: 'us'}, offset: 2_700},
    {tags: {host: 'c', region: 'us'}, offset: 4_100},
  ]
  const points: Point[] = []
  for (const s of series) {
    let ticks = 1000n
    for (let i = 0; i < 180; i++) {
      const ts = T0 + i * STEP + s.offset
      const minute = (i * STEP) / 60_000
      if (s.tags.host === 'b' && minute >= 10 && minute < 15) continue
      if (s.tags.host === 'c' && i === 120) ticks = 3n // counter reset
      ticks += BigInt(Math.floor(rnd() * 500))
      const usage = Math.round(rnd() * 10_000) / 100 + (s.tags.host === 'a' ? 20 : 0)
      points.push({measurement: 'cpu', tags: s.tags, fields: {usage, ticks}, ts})
    }
  }

  for (const host of ['a', 'b']) {
    for (let i = 0; i < 60; i++) {
      points.push({
        measurement: 'mem',
        tags: {host},
        fields: {used_percent: 30 + rnd() * 40, used: BigInt(Math.floor(rnd() * 1e9)), state: i % 7 === 0 ? 'swapping' : 'ok'},
        ts: T0 + i * 30_000 + (host === 'a' ? 11 : 17),
      })
    }
  }

  // names and values that need every line-protocol escape
  for (let i = 0; i < 5; i++) {
    points.push({
      measurement: 'odd meas,ure',
      tags: {'k ey=': 'v,a l=ue', path: 'C:\\temp\\x', quote: 'say "hi"'},
      fields: {'f=ld': `line ${i}\nnext "quoted" \\ back`, 'n,um': BigInt(-i), 'fl oat': i / 3, 'b': i % 2 === 0},
      ts: T0 + i * 1000,
    })
  }

  return points
}

function iso(ms: number): string {
  return new Date(ms).toISOString()
}

function near(a: unknown, b: unknown): boolean {
  if (typeof a === 'number' && typeof b === 'number') {
    if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b)
    return Math.abs(a - b) <= 1e-9 * Math.max(Math.abs(a), Math.abs(b)) || Math.abs(a - b) < 1e-12
  }

  return a === b
}

/** A query result as frames (times in ms), sorted by name and tags so both backends line up. */
function framesOf(result: QueryResult): Frame[] {
  return result.series
    .map((s) => ({name: s.name, tags: s.tags, columns: s.columns, rows: s.values.map((v) => [Date.parse(v[0] as string), ...v.slice(1)])}))
    .sort((a, b) => (a.name + JSON.stringify(a.tags)).localeCompare(b.name + JSON.stringify(b.tags)))
}

function assertSameFrames(actual: Frame[], expected: Frame[], label: string): void {
  const show = (fs: Frame[]) => fs.map((f) => `${f.name}${JSON.stringify(f.tags)} ${JSON.stringify(f.columns)} ×${f.rows.length}`).join('\n')
  assert.equal(actual.length, expected.length, `${label}: frame count\ninflux:\n${show(actual)}\nembedded:\n${show(expected)}`)
  for (let i = 0; i < expected.length; i++) {
    const a = actual[i]
    const e = expected[i]
    assert.equal(a.name, e.name, `${label}: frame ${i} name`)
    assert.deepEqual(a.tags, e.tags, `${label}: frame ${i} tags`)
    assert.deepEqual(a.columns, e.columns, `${label}: frame ${i} columns`)
    assert.equal(a.rows.length, e.rows.length, `${label}: frame ${i} ${JSON.stringify(e.tags)} row count\ninflux:   ${JSON.stringify(a.rows.slice(0, 8))}\nembedded: ${JSON.stringify(e.rows.slice(0, 8))}`)
    for (let r = 0; r < e.rows.length; r++) {
      assert.equal(a.rows[r][0], e.rows[r][0], `${label}: frame ${i} ${JSON.stringify(e.tags)} row ${r} time`)
      for (let c = 1; c < e.rows[r].length; c++) {
        assert.ok(near(a.rows[r][c], e.rows[r][c]), `${label}: frame ${i} ${JSON.stringify(e.tags)} row ${r} (t=${iso(e.rows[r][0] as number)}): influx ${a.rows[r][c]} vs embedded ${e.rows[r][c]}`)
      }
    }
  }
}

const RANGE = {since: iso(T0 + 95_000), until: iso(T0 + 25 * 60_000 + 3_000)}
/** starts on a bucket boundary with data before it: where InfluxDB's derivative looks back */
const ALIGNED = {since: iso(T0 + 5 * 60_000), until: iso(T0 + 20 * 60_000)}
const AGGS = ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'median', 'stddev', 'spread']

/** [expression, every] — every aggregation, grouping, buckets, matcher, transform, arithmetic. */
const CASES: Array<[string, string?, {since: string; until: string}?]> = [
  ['cpu.usage'],
  ['cpu.ticks'],
  ['mem.state'],
  ['cpu.usage{host="a"}'],
  ['cpu.usage{host!="a"}'],
  ['cpu.usage{host=~"a|c"}'],
  ['cpu.usage{host!~"a|c"}'],
  ['cpu.usage{cpu=""}'],
  ['cpu.usage{cpu!=""}'],
  ['cpu.usage{cpu=~"c.*"}'],
  ['cpu.usage{cpu!~"c0"}'],
  ['cpu.usage{host="a", cpu="c1"}'],
  ['cpu.usage{host="nope"}'],
  ['cpu.nofield'],
  ...AGGS.flatMap((fn): Array<[string, string?]> => [
    [`${fn}(cpu.usage)`],
    [`${fn}(cpu.usage) by host`],
    [`${fn}(cpu.usage) by (host, cpu)`, '1m'],
    [`${fn}(cpu.ticks) by region`, '7m'],
  ]),
  ['percentile(cpu.usage, 95)'],
  ['percentile(cpu.usage, 50) by host'],
  ['percentile(cpu.ticks, 99.9) by (host, cpu)', '2m'],
  ['percentile(cpu.usage, 5) by host', '5m'],
  ['mean(cpu.usage) by zone'],
  ['max(cpu.usage{region="us"}) by (host, region)', '30s'],
  ['count(mem.state) by host'],
  ['mean(mem.used) by host', '10m'],
  ['rate(cpu.ticks)'],
  ['rate(cpu.ticks{host="c"})'],
  ['derivative(cpu.usage{host="a"})'],
  ['rate(cpu.ticks)', '1m'],
  ['derivative(cpu.usage)', '3m'],
  ['sum(rate(cpu.ticks)) by host'],
  ['sum(rate(cpu.ticks)) by host', '1m'],
  ['max(derivative(cpu.usage)) by region', '2m'],
  ['mean(rate(cpu.ticks))', '5m'],
  ['count(derivative(cpu.usage{cpu=~"c.*"}))'],
  ['mean(cpu.usage) by host * 2 + 1'],
  ['cpu.usage{host="a"} / 100'],
  ['-mean(cpu.usage) by host', '5m'],
  ['mean(cpu.usage) by host - min(cpu.usage) by host', '5m'],
  ['cpu.usage > 90'],
  ['mean(cpu.usage) by host > 50', '1m'],
  ['max(cpu.usage) by host <= 99', '10m'],
  ['abs(derivative(cpu.usage{host="b"}))'],
  ['rate(cpu.ticks)', '1m', ALIGNED],
  ['derivative(cpu.usage)', '5m', ALIGNED],
  ['sum(rate(cpu.ticks)) by host', '1m', ALIGNED],
  ['mean(derivative(cpu.usage))', '5m', ALIGNED],
  ['max(rate(cpu.ticks)) by region', undefined, ALIGNED],
  ['mean(cpu.usage) by host', '1m', ALIGNED],
  ['absent(cpu.usage{host="zzz"})'],
  ['absent(cpu.usage{host="a"})'],
]

describe('InfluxDB and the embedded store give the same frames', () => {
  let influxd: RunningServer
  let influx: InfluxStore
  let embedded: SqliteStore
  const tmp = tempDir('mon-influx-diff-')

  before(async () => {
    influxd = await startInfluxd()
    influx = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'diff', batch_size: 500}))
    await influx.init()
    // the embedded store answers from raw data only while it is within retention.raw of "now"
    embedded = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(T0 + 3_600_000)})
    const points = fixture()
    await influx.write(points)
    await embedded.write(points)
  })

  after(async () => {
    await influx?.close()
    await embedded?.close()
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('holds the same data', async () => {
    assert.deepEqual(await influx.measurements(), await embedded.measurements())
    assert.deepEqual(await influx.fieldKeys('cpu'), await embedded.fieldKeys('cpu'))
    assert.deepEqual(await influx.fieldKeys('mem'), await embedded.fieldKeys('mem'))
    assert.deepEqual(await influx.tagKeys('cpu'), await embedded.tagKeys('cpu'))
    assert.deepEqual(await influx.tagValues('cpu', 'host'), await embedded.tagValues('cpu', 'host'))
    assert.deepEqual(await influx.tagValues('cpu', 'cpu'), await embedded.tagValues('cpu', 'cpu'))
  })

  for (const [expr, every, range = RANGE] of CASES) {
    it(`${expr}${every ? ` every ${every}` : ''}${range === ALIGNED ? ' (aligned range)' : ''}`, async () => {
      // a range query at the old bucket width (auto without one), then the instant query at its end
      const q = prepareQuery({query: expr, ...range, step: every, now: T0 + 3_600_000})
      const expected = framesOf(await q.run(embedded))
      assertSameFrames(framesOf(await q.run(influx)), expected, expr)
      const instant = prepareQuery({query: expr, at: range.until, now: T0 + 3_600_000})
      assertSameFrames(framesOf(await instant.run(influx)), framesOf(await instant.run(embedded)), `${expr} (instant)`)
      // a case that compares nothing would pass vacuously
      if (!/nope|nofield|"zzz"|absent\(cpu.usage\{host="a"\}\)|mem\.state/.test(expr)) assert.ok(expected.length > 0 && expected.some((f) => f.rows.length > 0), `${expr}: the fixture gives no data`)
    })
  }

  it('names and values with every escape survive the round trip', async () => {
    for (const field of ['f=ld', 'n,um', 'fl oat', 'b']) {
      const plan = {measurement: 'odd meas,ure', field, matchers: [{name: 'k ey=', op: '=' as const, value: 'v,a l=ue'}], start: T0, end: T0 + 60_000}
      const expected = await embedded.query(plan)
      assert.equal(expected[0]?.rows.length, 5, field)
      assertSameFrames(await influx.query(plan), expected, field)
    }
  })

  it('the most recent point per series (raw limit) agrees', async () => {
    const plan = {measurement: 'cpu', field: 'usage', matchers: [], start: T0, end: T0 + 3_600_000, limit: 3}
    assertSameFrames(await influx.query(plan), await embedded.query(plan), 'limit 3')
  })
})
