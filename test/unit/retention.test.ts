import assert from 'node:assert/strict'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {chooseTier, retentionPolicy} from '../../src/core/store/retention.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {AggFn, QueryPlan} from '../../src/core/store/types.js'
import {referenceBuckets} from '../helpers/reference.js'

const DAY = 86_400_000
const HOUR = 3_600_000
const MIN = 60_000

describe('retention policy', () => {
  it('sorts tiers finest first with raw first', () => {
    assert.deepEqual(
      retentionPolicy({'1h': '1y', raw: '7d', '1m': '30d'}).map((t) => [t.name, t.resolution, t.keep]),
      [
        ['raw', 0, 7 * DAY],
        ['1m', MIN, 30 * DAY],
        ['1h', HOUR, 365 * DAY],
      ],
    )
  })

  it('rejects tiers that do not nest', () => {
    assert.throws(() => retentionPolicy({raw: '7d', '7m': '30d', '1h': '1y'}), /1h is not a multiple of 7m/)
  })

  const policy = retentionPolicy()
  const now = 1000 * DAY
  const pruned = new Map([
    ['raw', now - 7 * DAY],
    ['1m', now - 30 * DAY],
    ['1h', now - 365 * DAY],
  ])
  const cases: Array<{name: string; q: {start: number; end: number; every?: number; fn?: string}; tier?: string; error?: RegExp}> = [
    {name: 'recent range: raw', q: {start: now - DAY, end: now, fn: 'percentile'}, tier: 'raw'},
    {name: '20 days back, every 5m: 1m rollups', q: {start: now - 20 * DAY, end: now, every: 5 * MIN, fn: 'mean'}, tier: '1m'},
    {name: '20 days back, whole range: 1m rollups', q: {start: now - 20 * DAY, end: now, fn: 'max'}, tier: '1m'},
    {name: '20 days back, every 90s: not a multiple of 1m, 1h too coarse → error', q: {start: now - 20 * DAY, end: now, every: 90_000, fn: 'mean'}, error: /no retention tier holds data/},
    {name: '200 days back, every 1h: 1h rollups', q: {start: now - 200 * DAY, end: now, every: HOUR, fn: 'sum'}, tier: '1h'},
    {name: 'percentile beyond raw: clear error', q: {start: now - 20 * DAY, end: now, fn: 'percentile'}, error: /percentile\(\) over this range needs raw data/},
    {name: 'beyond every tier', q: {start: now - 400 * DAY, end: now, fn: 'mean'}, error: /no retention tier holds data/},
  ]
  for (const c of cases) {
    it(c.name, () => {
      if (c.error) assert.throws(() => chooseTier(policy, c.q, pruned), c.error)
      else assert.equal(chooseTier(policy, c.q, pruned).tier.name, c.tier)
    })
  }

  it('nothing pruned yet: raw answers any range', () => {
    assert.equal(chooseTier(policy, {start: 0, end: now, fn: 'percentile'}, new Map()).tier.name, 'raw')
  })
})

describe('embedded store tiers: rollups, pruning, answers from rollups', () => {
  const END = Math.floor(Date.UTC(2026, 10, 25) / HOUR) * HOUR
  const STEP = 5 * MIN
  const SPAN = 400 * DAY
  const clock = new ManualClock(END)
  let dir: string
  let store: SqliteStore
  // the generated truth, per host
  const truth = new Map<string, Array<[number, number]>>()

  before(async () => {
    dir = mkdtempSync(join(tmpdir(), 'mon-retention-'))
    store = new SqliteStore({path: join(dir, 'mon.db'), clock, autoCompactEvery: 0})
    for (const host of ['a', 'b']) {
      const pts: Array<[number, number]> = []
      for (let t = END - SPAN, i = 0; t < END; t += STEP, i++) pts.push([t, Math.round((50 + 40 * Math.sin(i / 97 + (host === 'b' ? 1 : 0))) * 100) / 100])
      truth.set(host, pts)
      for (let i = 0; i < pts.length; i += 5000) {
        store.writeSync(pts.slice(i, i + 5000).map(([ts, v]) => ({measurement: 'cpu', tags: {host}, fields: {usage_user: v}, ts})))
      }
    }

    store.maintainSync(END)
  })
  after(async () => {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  const expected = (fn: AggFn, host: string, start: number, end: number, every?: number) =>
    referenceBuckets(fn, truth.get(host)!, start, end, every) as Array<[number, number]>

  const plan = (p: Partial<QueryPlan>): QueryPlan => ({measurement: 'cpu', field: 'usage_user', matchers: [], start: 0, end: END, ...p})

  it('raw points older than 7 days are gone; newer ones are all there', async () => {
    const frames = await store.query(plan({start: END - 7 * DAY, aggregate: {fn: 'count', by: ['host']}}))
    assert.deepEqual(
      frames.map((f) => f.rows[0][1]),
      ['a', 'b'].map((h) => expected('count', h, END - 7 * DAY, END)[0][1]),
    )
    const info = await store.info()
    assert.equal(info.points, 2 * ((7 * DAY) / STEP), 'only the last 7 days of raw points are stored')
  })

  const windows: Array<[string, number, number, number | undefined, string]> = [
    ['20–10 days ago, every 1h', END - 20 * DAY, END - 10 * DAY, HOUR, '1m'],
    ['25–8 days ago, every 1d', END - 25 * DAY, END - 8 * DAY, DAY, '1m'],
    ['25 days ago → now, whole range (rollups + raw)', END - 25 * DAY, END, undefined, '1m'],
    ['300–200 days ago, every 1d', END - 300 * DAY, END - 200 * DAY, DAY, '1h'],
    ['365 days ago → now, every 1d', END - 365 * DAY, END, DAY, '1h'],
  ]
  for (const fn of ['mean', 'sum', 'count', 'min', 'max', 'first', 'last', 'spread'] as AggFn[]) {
    for (const [label, start, end, every, tier] of windows) {
      it(`${fn} ${label} from the ${tier} tier equals the raw computation`, async () => {
        const q = plan({start, end, every, aggregate: {fn, by: ['host']}})
        assert.match(store.explain(q), new RegExp(`tier: +${tier} rollups`))
        const frames = await store.query(q)
        assert.equal(frames.length, 2)
        for (const f of frames) {
          const want = expected(fn, f.tags.host, start, end, every)
          assert.equal(f.rows.length, want.length)
          f.rows.forEach((row, i) => {
            assert.equal(row[0], want[i][0])
            assert.ok(Math.abs((row[1] as number) - want[i][1]) <= 1e-9 * Math.max(1, Math.abs(want[i][1])), `${fn} at ${new Date(row[0] as number).toISOString()}: ${row[1]} vs ${want[i][1]}`)
          })
        }
      })
    }
  }

  it('percentile beyond raw retention is refused with the reason', async () => {
    await assert.rejects(store.query(plan({start: END - 20 * DAY, aggregate: {fn: 'percentile', param: 95, by: []}})), /needs raw data, which is kept for 7d/)
  })

  it('a late write into a rolled-up bucket (still within raw retention) is rolled up again', async () => {
    const t = END - 3 * DAY + 30_000
    const q = plan({start: END - 4 * DAY, end: END - 2 * DAY, every: DAY, aggregate: {fn: 'sum', by: []}})
    const before = (await store.query(q))[0].rows.map((r) => r[1] as number)
    const result = store.writeSync([{measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: 1000}, ts: t}])
    assert.deepEqual(result, {written: 1, beyondRetention: 0})
    store.maintainSync(END)
    // the same range from the 1h tier now that raw is gone for it: pretend 10 more days passed
    const hourly = await store.query({...q, every: HOUR})
    const total = hourly[0].rows.reduce((n, r) => n + (r[1] as number), 0)
    assert.ok(Math.abs(total - (before[0] + before[1] + 1000)) < 1e-6, `${total} vs ${before[0] + before[1] + 1000}`)
    const rolled = await store.query({...q, start: END - 3 * DAY, end: END - 3 * DAY + HOUR, every: undefined})
    assert.ok(Math.abs((rolled[0].rows[0][1] as number) - expected('sum', 'a', END - 3 * DAY, END - 3 * DAY + HOUR)[0][1] - expected('sum', 'b', END - 3 * DAY, END - 3 * DAY + HOUR)[0][1] - 1000) < 1e-6)
  })

  it('points older than what raw retention dropped are not stored (as InfluxDB drops points beyond its retention)', () => {
    const result = store.writeSync([
      {measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: 1}, ts: END - 12 * DAY},
      {measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: 2}, ts: END - HOUR + 1},
    ])
    assert.deepEqual(result, {written: 1, beyondRetention: 1})
  })

  it('write() says so: a partial write naming the dropped points, the rest kept', async () => {
    await assert.rejects(
      store.write([
        {measurement: 'cpu', tags: {host: 'b'}, fields: {usage_user: 3}, ts: END - 20 * DAY},
        {measurement: 'cpu', tags: {host: 'b'}, fields: {usage_user: 4}, ts: END - HOUR + 2},
      ]),
      /partial write: 1 point older than .* dropped/,
    )
    const [f] = await store.query(plan({start: END - HOUR + 2, end: END - HOUR + 3, matchers: [{name: 'host', op: '=', value: 'b'}]}))
    assert.deepEqual(f.rows, [[END - HOUR + 2, 4]])
  })

  it('maintenance is idempotent', async () => {
    const q = plan({start: END - 300 * DAY, end: END - 200 * DAY, every: DAY, aggregate: {fn: 'mean', by: ['host']}})
    const first = await store.query(q)
    const report = store.maintainSync(END)
    assert.deepEqual(report.pruned, {raw: 0, '1m': 0, '1h': 0})
    assert.deepEqual(await store.query(q), first)
  })

  it('time moves on: the next day is rolled up and pruned in turn', async () => {
    clock.set(END + DAY)
    const day = Array.from({length: DAY / STEP}, (_, i) => ({measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: i}, ts: END + i * STEP}))
    store.writeSync(day)
    const report = store.maintainSync(END + DAY)
    assert.equal(report.rolledUp['1m'], DAY / STEP, 'one 1m bucket per 5-minute point of the new day')
    assert.equal(report.pruned.raw, 2 * (DAY / STEP), JSON.stringify(report))
  })
})

describe('embedded store: backfilled points are seen at once, whichever tier answers', () => {
  // 10 days of host a every 5 minutes, rolled up and pruned (raw kept 7 days); then `mon write`
  // backfills 1 h – 2 d old points: a new series (host c) and extra points of host a. Before the
  // next rollup pass those live in raw only, below the rollup watermarks.
  const END = Math.floor(Date.UTC(2026, 10, 25) / HOUR) * HOUR
  const clock = new ManualClock(END)
  let dir: string
  let store: SqliteStore
  const truth = new Map<string, Array<[number, number]>>([
    ['a', []],
    ['c', []],
  ])
  const plan = (p: Partial<QueryPlan>): QueryPlan => ({measurement: 'cpu', field: 'usage_user', matchers: [], start: 0, end: END, ...p})
  const queries: Array<[string, QueryPlan, string]> = [
    ['count since 8d', plan({start: END - 8 * DAY, aggregate: {fn: 'count', by: ['host']}}), '1m'],
    ['mean every 1h since 8d', plan({start: END - 8 * DAY, every: HOUR, aggregate: {fn: 'mean', by: ['host']}}), '1m'],
    ['last every 1h since 8d', plan({start: END - 8 * DAY, every: HOUR, aggregate: {fn: 'last', by: ['host']}}), '1m'],
    ['max every 1d since 40d', plan({start: END - 40 * DAY, every: DAY, aggregate: {fn: 'max', by: ['host']}}), '1h'],
  ]
  const answers = new Map<string, unknown>()

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mon-backfill-'))
    store = new SqliteStore({path: join(dir, 'mon.db'), clock, autoCompactEvery: 0})
    const a = truth.get('a')!
    for (let t = END - 10 * DAY, i = 0; t < END - 3 * HOUR; t += 5 * MIN, i++) a.push([t, i % 100])
    store.writeSync(a.map(([ts, v]) => ({measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: v}, ts})))
    store.maintainSync(END)
    const backfill: Array<{host: string; ts: number; v: number}> = []
    for (let t = END - 2 * DAY, i = 0; t <= END - HOUR; t += 10 * MIN, i++) {
      backfill.push({host: 'c', ts: t, v: 1000 + i})
      backfill.push({host: 'a', ts: t + 30_000, v: 500 + i})
    }
    const result = store.writeSync(backfill.map((p) => ({measurement: 'cpu', tags: {host: p.host}, fields: {usage_user: p.v}, ts: p.ts})))
    assert.deepEqual(result, {written: backfill.length, beyondRetention: 0})
    for (const p of backfill) truth.get(p.host)!.push([p.ts, p.v])
    for (const pts of truth.values()) pts.sort((x, y) => x[0] - y[0])
  })
  after(async () => {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  for (const [name, q, tier] of queries) {
    it(`${name}: the ${tier} tier answers, backfilled points included, before the rollup pass`, async () => {
      assert.match(store.explain(q), new RegExp(`tier: +${tier} rollups`))
      const frames = await store.query(q)
      assert.deepEqual(
        frames.map((f) => f.tags.host),
        ['a', 'c'],
        'the backfilled series is there',
      )
      for (const f of frames) {
        const want = referenceBuckets(q.aggregate!.fn, truth.get(f.tags.host)!, q.start, q.end, q.every) as Array<[number, number]>
        assert.deepEqual(
          f.rows.map((r) => [r[0], Math.round((r[1] as number) * 1e6) / 1e6]),
          want.map((r) => [r[0], Math.round(r[1] * 1e6) / 1e6]),
          f.tags.host,
        )
      }
      answers.set(name, frames)
    })
  }

  it('rate() over the rollups sees them too', async () => {
    const q = plan({start: END - 8 * DAY, every: HOUR, transform: 'rate', aggregate: {fn: 'max', by: ['host']}})
    const frames = await store.query(q)
    assert.deepEqual(
      frames.map((f) => f.tags.host),
      ['a', 'c'],
    )
    answers.set('rate', frames)
  })

  it('the rollup pass changes no answer: it only moves the points to the rollups', async () => {
    store.maintainSync(END)
    for (const [name, q] of queries) assert.deepEqual(await store.query(q), answers.get(name), name)
    assert.deepEqual(await store.query(plan({start: END - 8 * DAY, every: HOUR, transform: 'rate', aggregate: {fn: 'max', by: ['host']}})), answers.get('rate'), 'rate')
  })
})

describe('embedded store: a backfill into the hour where raw retention begins', () => {
  // The raw horizon falls at :17 of an hour. A point backfilled at :18 makes that hour's 1h bucket
  // stale; its points before :17 exist only in the 1m rollups now, so the bucket is answered from
  // those (and raw for the stale minute), as the rollup pass will recompute it.
  const END = Math.floor(Date.UTC(2026, 10, 25) / HOUR) * HOUR
  const NOW = END + 17 * MIN
  const HOUR_OF_HORIZON = END - 7 * DAY
  let dir: string
  let store: SqliteStore
  const q: QueryPlan = {measurement: 'cpu', field: 'usage_user', matchers: [], start: END - 40 * DAY, end: END, every: HOUR, aggregate: {fn: 'count', by: []}}
  const countAt = (frames: Awaited<ReturnType<SqliteStore['query']>>, t: number) => frames[0]?.rows.find((r) => r[0] === t)?.[1]

  before(() => {
    dir = mkdtempSync(join(tmpdir(), 'mon-backfill-edge-'))
    store = new SqliteStore({path: join(dir, 'mon.db'), clock: new ManualClock(NOW), autoCompactEvery: 0})
    const points = []
    for (let t = END - 10 * DAY; t < END - 3 * HOUR; t += 5 * MIN) points.push({measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: 1}, ts: t})
    store.writeSync(points)
    store.maintainSync(NOW)
    assert.deepEqual(store.writeSync([{measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: 2}, ts: HOUR_OF_HORIZON + 18 * MIN}]), {written: 1, beyondRetention: 0})
  })
  after(async () => {
    await store.close()
    rmSync(dir, {recursive: true, force: true})
  })

  it('the 1h tier counts all 12 points of that hour plus the backfilled one, before and after the rollup pass', async () => {
    assert.match(store.explain(q), /tier: +1h rollups/)
    const before = await store.query(q)
    assert.equal(countAt(before, HOUR_OF_HORIZON), 13)
    store.maintainSync(NOW)
    const after = await store.query(q)
    assert.equal(countAt(after, HOUR_OF_HORIZON), 13)
    assert.deepEqual(after, before)
  })
})
