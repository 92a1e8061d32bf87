/**
 * The InfluxQL evaluator on a real embedded store (temp dir), with hand-computed answers: now(),
 * fill, percentile's nearest rank, selectors' times, bucket offsets, column names, epoch and tz
 * formatting, pushdown and the raw path giving the same answers.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import type {Point} from '../../src/core/model/point.js'
import {formatTime, rfc3339, rfc3339InZone, runInfluxQL, type InfluxQLTarget} from '../../src/core/query/influxql/index.js'
import {splitTime} from '../../src/core/query/influxql/eval.js'
import {parseInfluxQLExpr} from '../../src/core/query/influxql/parser.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {QueryPlan} from '../../src/core/store/types.js'
import {tempDir} from '../helpers/servers.js'

const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)
const NOW = T0 + 3_600_000

describe('InfluxQL evaluator', () => {
  const tmp = tempDir('mon-influxql-unit-')
  let store: SqliteStore
  let target: InfluxQLTarget
  let raw: InfluxQLTarget

  before(async () => {
    store = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(NOW)})
    const points: Point[] = []
    // host a: 1..6 at 0,10,…,50 s; host b: 10, 20 at 0 s and 40 s (a gap in between)
    for (let i = 0; i < 6; i++) points.push({measurement: 'm', tags: {host: 'a'}, fields: {v: i + 1, n: BigInt(i)}, ts: T0 + i * 10_000})
    points.push({measurement: 'm', tags: {host: 'b'}, fields: {v: 10}, ts: T0})
    points.push({measurement: 'm', tags: {host: 'b'}, fields: {v: 20}, ts: T0 + 40_000})
    await store.write(points)
    target = {store, databases: ['db']}
    raw = {store, databases: ['db'], pushdown: false}
  })

  after(async () => {
    await store.close()
    tmp.cleanup()
  })

  const q = async (text: string, t: InfluxQLTarget = target, epoch?: 'ms') => (await runInfluxQL(t, {q: text, db: 'db', now: NOW, epoch})).body
  const values = async (text: string, t?: InfluxQLTarget) => {
    const body = await q(text, t, 'ms')
    assert.equal(body.results?.[0].error, undefined, JSON.stringify(body))
    return (body.results?.[0].series ?? []).map((s) => ({tags: s.tags, columns: s.columns, values: s.values}))
  }

  const R = `time >= ${T0}ms AND time <= ${T0 + 59_999}ms`

  it('buckets aligned to the epoch, bucket start as time, fill(null) over the WHERE range', async () => {
    assert.deepEqual(await values(`SELECT mean(v) FROM m WHERE host = 'b' AND ${R} GROUP BY time(20s)`), [
      {tags: undefined, columns: ['time', 'mean'], values: [[T0, 10], [T0 + 20_000, null], [T0 + 40_000, 20]]},
    ])
  })

  it('fill(previous), fill(linear), fill(0), fill(none); count fills 0', async () => {
    const base = `FROM m WHERE host = 'b' AND ${R} GROUP BY time(10s)`
    const col = async (sel: string, fill: string) => (await values(`SELECT ${sel} ${base} fill(${fill})`))[0].values!.map((r) => r[1])
    assert.deepEqual(await col('mean(v)', 'previous'), [10, 10, 10, 10, 20, 20])
    assert.deepEqual(await col('mean(v)', 'linear'), [10, 12.5, 15, 17.5, 20, null])
    assert.deepEqual(await col('mean(v)', '0'), [10, 0, 0, 0, 20, 0])
    assert.deepEqual(await col('mean(v)', 'none'), [10, 20])
    assert.deepEqual(await col('count(v)', 'null'), [1, 0, 0, 0, 1, 0])
  })

  it('now() - 1h: the injected clock, never the wall clock', async () => {
    const body = await values('SELECT count(v) FROM m WHERE time > now() - 1h')
    // the two points at T0 = now() − 1h are not after it
    assert.deepEqual(body[0].values, [[NOW - 3_600_000 + 1, 6]])
    assert.deepEqual(splitTime(parseInfluxQLExpr('time >= now() - 10m AND host = \'a\''), NOW).range, {min: NOW - 600_000})
  })

  it("an aggregate without GROUP BY time: the range start (0 without one); a lone selector: the point's own time", async () => {
    assert.deepEqual((await values(`SELECT mean(v) FROM m WHERE host = 'a' AND ${R}`))[0].values, [[T0, 3.5]])
    assert.deepEqual((await values(`SELECT mean(v) FROM m WHERE host = 'a'`))[0].values, [[0, 3.5]])
    assert.deepEqual((await values(`SELECT max(v) FROM m WHERE ${R}`))[0].values, [[T0 + 40_000, 20]])
    assert.deepEqual((await values(`SELECT last(v) FROM m WHERE ${R} GROUP BY host`)).map((s) => s.values), [[[T0 + 50_000, 6]], [[T0 + 40_000, 20]]])
    assert.deepEqual((await values(`SELECT max(v), min(v) FROM m WHERE ${R}`))[0].values, [[T0, 20, 1]])
  })

  it("percentile is nearest rank (floor(n·p/100 + 0.5) − 1); below the first rank there is no value", async () => {
    const p = async (n: number) => (await values(`SELECT percentile(v, ${n}) FROM m WHERE host = 'a' AND ${R}`))[0]?.values?.[0][1]
    assert.equal(await p(50), 3)
    assert.equal(await p(90), 5)
    assert.equal(await p(100), 6)
    assert.equal(await p(5), undefined)
  })

  it('GROUP BY time with an offset, and derivative/difference over buckets (unit: the interval)', async () => {
    assert.deepEqual((await values(`SELECT sum(v) FROM m WHERE host = 'a' AND ${R} GROUP BY time(20s, 5s)`))[0].values, [
      [T0 - 15_000, 1],
      [T0 + 5_000, 5],
      [T0 + 25_000, 9],
      [T0 + 45_000, 6],
    ])
    assert.deepEqual((await values(`SELECT derivative(mean(v)) FROM m WHERE host = 'a' AND ${R} GROUP BY time(20s)`))[0].values, [
      [T0 + 20_000, 2],
      [T0 + 40_000, 2],
    ])
    assert.deepEqual((await values(`SELECT derivative(mean(v), 1s), difference(mean(v)) FROM m WHERE host = 'a' AND ${R} GROUP BY time(20s)`))[0].values, [
      [T0 + 20_000, 0.1, 2],
      [T0 + 40_000, 0.1, 2],
    ])
  })

  it('column names: call names, fields joined by _, repeats numbered, aliases', async () => {
    const [s] = await values(`SELECT mean(v), mean(v) * 2, v_a, mean(v) + mean(n) AS "x", max(v) FROM m WHERE ${R}`.replace(', v_a', ''))
    assert.deepEqual(s.columns, ['time', 'mean', 'mean_1', 'x', 'max'])
    const [r] = await values(`SELECT v + n, v, v FROM m WHERE host = 'a' AND ${R}`)
    assert.deepEqual(r.columns, ['time', 'v_n', 'v', 'v_1'])
  })

  it('the same answers with and without pushdown', async () => {
    for (const text of [
      `SELECT mean(v), count(v), min(v), max(v), sum(v) FROM m WHERE ${R} GROUP BY time(20s), host fill(null)`,
      `SELECT mean(v) FROM m WHERE host =~ /a|b/ AND ${R} GROUP BY time(15s, 5s) fill(linear)`,
      `SELECT mean(v) * 10 FROM m WHERE ${R} GROUP BY time(1m), * fill(none)`,
    ]) {
      assert.deepEqual(await values(text), await values(text, raw), text)
    }
  })

  it('reads only what it needs: the newest points for ORDER BY time DESC LIMIT, one aggregated plan for mean without GROUP BY time', async () => {
    const plans: QueryPlan[] = []
    const seen: InfluxQLTarget = {store, databases: ['db'], observe: (p) => plans.push(p)}
    const text = `SELECT v FROM m WHERE ${R} ORDER BY time DESC LIMIT 2 OFFSET 1`
    assert.deepEqual(await values(text, seen), await values(text, raw))
    assert.deepEqual(plans.map((p) => p.limit), [3])
    plans.length = 0
    const agg = `SELECT mean(v), count(v) FROM m WHERE ${R} GROUP BY host`
    assert.deepEqual(await values(agg, seen), await values(agg, raw))
    assert.deepEqual(plans.map((p) => [p.aggregate?.fn, p.every]), [['mean', undefined], ['count', undefined]])
    plans.length = 0
    await values(`SELECT max(v) FROM m WHERE ${R}`, seen)
    assert.deepEqual(plans.map((p) => p.aggregate), [undefined])
  })

  it('SLIMIT/SOFFSET on series, LIMIT/OFFSET on rows, ORDER BY time DESC', async () => {
    const s = await values(`SELECT mean(v) FROM m WHERE ${R} GROUP BY time(20s), host SLIMIT 1 SOFFSET 1`)
    assert.deepEqual(s.map((x) => x.tags), [{host: 'b'}])
    const r = await values(`SELECT v FROM m WHERE host = 'a' AND ${R} ORDER BY time DESC LIMIT 2 OFFSET 1`)
    assert.deepEqual(r[0].values, [[T0 + 40_000, 5], [T0 + 30_000, 4]])
  })

  it('errors per statement, as InfluxDB words them', async () => {
    const err = async (text: string) => (await q(text)).results?.[0].error
    assert.equal(await err(`SELECT mean(v), v FROM m`), 'mixing aggregate and non-aggregate queries is not supported')
    assert.equal(await err(`SELECT v FROM m GROUP BY time(1m)`), 'GROUP BY requires at least one aggregate function')
    assert.equal(await err(`SELECT derivative(v) FROM m GROUP BY time(1m)`), 'aggregate function required inside the call to derivative')
    assert.equal(await err(`SELECT percentile(v) FROM m`), 'invalid number of arguments for percentile, expected 2, got 1')
    assert.equal(await err(`SELECT nope(v) FROM m`), 'undefined function nope()')
    assert.equal(await err(`SELECT mean(v) FROM m WHERE time >= 0 AND time < ${T0}ms GROUP BY time(1s)`), `max-select-buckets limit exceeded: (${T0 / 1000}/1000000)`)
    assert.equal(await err(`SELECT sample(v, 2) FROM m`), 'sample() is not supported by mon (see docs/influxql.md)')
    assert.equal(await err(`SELECT distinct(v), mean(v) FROM m`), 'aggregate function distinct() cannot be combined with other functions or fields')
    assert.equal(await err(`SELECT top(v, 0) FROM m`), 'limit (0) in top function must be at least 1')
    assert.equal(await err(`DROP MEASUREMENT m`), "not supported by mon: DROP MEASUREMENT m (mon's InfluxQL answers SELECT and SHOW statements; see docs/influxql.md)")
    assert.equal(await err(`SELECT v FROM "other"."autogen"."m"`), 'database not found: other')
    assert.equal(await err(`SELECT v FROM "db"."x"."m"`), 'retention policy not found: x')
    assert.equal(await err(`SELECT mean(v) FROM m WHERE ${R} GROUP BY time(1m) tz('Nowhere/City')`), 'unable to find time zone Nowhere/City')
    const parse = await runInfluxQL(target, {q: 'SELECT', db: 'db', now: NOW})
    assert.deepEqual(parse, {status: 400, body: {error: 'error parsing query: found EOF, expected identifier, string, number, bool at line 1, char 8'}})
  })

  it('times: RFC3339 with trailing zeros trimmed, epoch units, tz offsets', () => {
    assert.equal(rfc3339(T0), '2026-01-05T12:00:00Z')
    assert.equal(rfc3339(T0 + 100), '2026-01-05T12:00:00.1Z')
    assert.equal(rfc3339(T0 + 120), '2026-01-05T12:00:00.12Z')
    assert.equal(rfc3339(T0 + 123), '2026-01-05T12:00:00.123Z')
    assert.equal(formatTime(T0 + 1500, 'ns'), (T0 + 1500) * 1e6)
    assert.equal(formatTime(T0 + 1500, 'u'), (T0 + 1500) * 1e3)
    assert.equal(formatTime(T0 + 1500, 's'), T0 / 1000 + 1)
    assert.equal(formatTime(T0 + 1500, 'h'), Math.floor(T0 / 3_600_000))
    assert.equal(rfc3339InZone(T0, 'Europe/Paris'), '2026-01-05T13:00:00+01:00')
    assert.equal(rfc3339InZone(T0, 'America/New_York'), '2026-01-05T07:00:00-05:00')
    assert.equal(rfc3339InZone(T0, 'UTC'), '2026-01-05T12:00:00Z')
  })

  it('SHOW statements over the catalog', async () => {
    assert.deepEqual(await q('SHOW DATABASES'), {results: [{statement_id: 0, series: [{name: 'databases', columns: ['name'], values: [['db']]}]}]})
    assert.deepEqual(await q('SHOW TAG VALUES WITH KEY = "host" WHERE host =~ /b/'), {results: [{statement_id: 0, series: [{name: 'm', columns: ['key', 'value'], values: [['host', 'b']]}]}]})
    assert.deepEqual(await q('SHOW FIELD KEYS'), {results: [{statement_id: 0, series: [{name: 'm', columns: ['fieldKey', 'fieldType'], values: [['n', 'integer'], ['v', 'float']]}]}]})
    assert.deepEqual(await q('SHOW SERIES'), {results: [{statement_id: 0, series: [{columns: ['key'], values: [['m,host=a'], ['m,host=b']]}]}]})
  })
})

describe('InfluxQL over a store whose old raw points were rolled up', () => {
  const tmp = tempDir('mon-influxql-retention-')
  const start = Date.UTC(2026, 0, 5, 0, 0, 0)
  const now = start + 3 * 3_600_000
  let store: SqliteStore

  before(async () => {
    store = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(now), retention: {raw: '1h', '1m': '30d'}})
    const points: Point[] = []
    // one point every 10 s (6 a minute, so a minute's mean of means is the mean of its points)
    for (let t = start; t < now; t += 10_000) points.push({measurement: 'm', tags: {host: 'a'}, fields: {v: (t - start) / 10_000}, ts: t})
    await store.write(points)
    await store.maintain(now)
  })

  after(async () => {
    await store.close()
    tmp.cleanup()
  })

  it('without a lower time bound: from the oldest raw point, not an error', async () => {
    for (const pushdown of [true, false]) {
      const res = await runInfluxQL({store, databases: ['db'], pushdown}, {q: 'SELECT count(v) FROM m GROUP BY time(1h)', db: 'db', now, epoch: 'ms'})
      assert.equal(res.body.results?.[0].error, undefined, JSON.stringify(res.body))
      const values = res.body.results![0].series![0].values!
      // the last hour's 360 raw points (older ones were rolled up and dropped); up to now
      assert.deepEqual(values.slice(-2), [[now - 3_600_000, 360], [now, 0]])
    }
  })

  it('pushdown reads the rollups; the raw path takes their means as points; both agree', async () => {
    const q = `SELECT mean(v) FROM m WHERE time >= ${start}ms AND time < ${now}ms GROUP BY time(30m), host`
    const pushed = await runInfluxQL({store, databases: ['db']}, {q, db: 'db', now, epoch: 'ms'})
    const plans: QueryPlan[] = []
    const raw = await runInfluxQL({store, databases: ['db'], pushdown: false, observe: (p) => plans.push(p)}, {q, db: 'db', now, epoch: 'ms'})
    // the raw read found the first two hours rolled up and read the 1 m rollups instead
    assert.deepEqual(plans.map((p) => [p.every, p.aggregate?.fn]), [[undefined, undefined], [60_000, 'mean']])
    assert.equal(pushed.body.results?.[0].error, undefined, JSON.stringify(pushed.body))
    assert.deepEqual(raw.body, pushed.body)
    const values = pushed.body.results![0].series![0].values!
    assert.equal(values.length, 6)
    // each 30 m bucket holds 180 points numbered k·180 … k·180 + 179
    assert.deepEqual(values[0], [start, 89.5])
    assert.deepEqual(values[5], [start + 5 * 1_800_000, 5 * 180 + 89.5])
  })
})

describe('InfluxQL never throws for what a request can contain', () => {
  const tmp = tempDir('mon-influxql-fuzz-')
  let store: SqliteStore

  before(async () => {
    store = new SqliteStore({path: join(tmp.dir, 'mon.db'), clock: new ManualClock(NOW)})
    await store.write([
      {measurement: 'm', tags: {host: 'a'}, fields: {v: 1, s: 'x', b: true}, ts: T0},
      {measurement: 'm', tags: {host: 'b'}, fields: {v: 2, s: 'y', b: false}, ts: T0 + 1000},
    ])
  })

  after(async () => {
    await store.close()
    tmp.cleanup()
  })

  it('answers 300 deterministic token soups with a status and an InfluxDB-shaped body', async () => {
    const pool = [
      'SELECT', 'FROM', 'WHERE', 'GROUP', 'BY', 'time(1m)', 'time(0s)', 'fill(null)', 'fill(linear)', 'ORDER', 'LIMIT', 'SLIMIT', '1', '-1', '0', '1.5', 'm',
      '"m"', 'v', 's', 'b', 'host', '*', 'mean(v)', 'mean(s)', 'max(b)', 'percentile(v, 150)', 'derivative(v)', 'derivative(mean(v), 0s)', 'moving_average(mean(v), 1)',
      'count(*)', 'sqrt(v)', '(', ')', ',', ';', '=', '=~', '/(/', '/a/', "'a'", "'", '"', 'AND', 'OR', 'now()', '-', '+', '/', '%', 'SHOW', 'TAG', 'VALUES',
      'WITH', 'KEY', 'MEASUREMENTS', 'DATABASES', 'tz(\'X\')', '$p', '::', 'time', '>=', `${T0}ms`, '1000000000000000000000', 'DROP', 'INTO',
    ]
    let seed = 12345
    const rnd = () => {
      seed = (Math.imul(seed, 1_664_525) + 1_013_904_223) >>> 0
      return seed / 2 ** 32
    }

    for (let i = 0; i < 300; i++) {
      const n = 1 + Math.floor(rnd() * 14)
      const q = (rnd() < 0.6 ? ['SELECT'] : []).concat(Array.from({length: n}, () => pool[Math.floor(rnd() * pool.length)])).join(' ')
      const res = await runInfluxQL({store, databases: ['db']}, {q, db: 'db', now: NOW, params: rnd() < 0.5 ? {p: 'a'} : undefined})
      assert.ok(res.status === 200 || res.status === 400, q)
      if (res.status === 400) assert.match(res.body.error ?? '', /^(error parsing query: |missing required parameter)/, q)
      else for (const r of res.body.results ?? []) assert.equal(typeof r.statement_id, 'number', q)
    }
  })
})
