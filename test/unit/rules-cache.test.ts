import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {QueryCache, fromRawFrames, planKey} from '../../src/core/query/cache.js'
import {evaluateInstant} from '../../src/core/query/executor.js'
import {parseQuery} from '../../src/core/query/parser.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Frame, QueryPlan, Store} from '../../src/core/store/types.js'

const T0 = Date.UTC(2026, 10, 25, 9, 0, 0)

/** A real embedded store that counts what reaches it. */
function countingStore(): Store & {plans: QueryPlan[]; inner: SqliteStore} {
  const inner = new SqliteStore({path: ':memory:', autoCompactEvery: 0})
  const plans: QueryPlan[] = []
  return {
    kind: 'sqlite',
    inner,
    plans,
    query: async (p) => {
      plans.push(p)
      return inner.query(p)
    },
    write: (points) => inner.write(points),
    close: () => inner.close(),
  }
}

function seed(store: {inner: SqliteStore}): void {
  const points = []
  for (let i = 0; i < 30; i++) for (const host of ['a', 'b']) points.push({measurement: 'cpu', tags: {host}, fields: {busy: host === 'a' ? 90 + (i % 5) : 10}, ts: T0 + i * 10_000})
  store.inner.writeSync(points)
}

const plan = (start: number, end: number, extra: Partial<QueryPlan> = {}): QueryPlan => ({measurement: 'cpu', field: 'busy', matchers: [], start, end, ...extra})

describe('query result cache', () => {
  it('aligns windows to the step, keeping their length', () => {
    const c = new QueryCache(countingStore(), {step: 10_000})
    // inclusive end 09:00:17 → 09:00:10
    assert.deepEqual(c.align(plan(T0 + 17_001 - 300_000, T0 + 17_001)), plan(T0 + 10_001 - 300_000, T0 + 10_001))
    // already on the step: unchanged
    const on = plan(T0 - 299_999, T0 + 1)
    assert.equal(c.align(on), on)
    assert.equal(new QueryCache(countingStore(), {step: 1}).align(plan(5, 17)).end, 17)
  })

  it('serves rules evaluated within one step from one backend query, with the same numbers', async () => {
    const store = countingStore()
    seed(store)
    const cache = new QueryCache(store, {step: 10_000})
    const warm = parseQuery('max(cpu.busy[1m]) by host > 50')
    const hot = parseQuery('max(cpu.busy[1m]) by host > 93')
    const a = await evaluateInstant(warm, cache, T0 + 200_000)
    const b = await evaluateInstant(hot, cache, T0 + 203_000) // same step
    assert.equal(store.plans.length, 1)
    assert.deepEqual(cache.stats(), {hits: 1, misses: 1, entries: 1, hitRatio: 0.5})
    // the cached answer equals the uncached one at the step boundary (an aggregation's time is the evaluation time)
    const values = (samples: Array<{ts: number}>) => samples.map(({ts: _ts, ...rest}) => rest)
    assert.deepEqual(values(a), values(await evaluateInstant(warm, store.inner, T0 + 200_000)))
    assert.deepEqual(values(b), values(await evaluateInstant(hot, store.inner, T0 + 200_000)))
    // next step: a new query
    await evaluateInstant(warm, cache, T0 + 210_000)
    assert.equal(store.plans.length, 2)
  })

  it('matcher and group order do not matter; everything else does', () => {
    const m1 = plan(0, 10, {matchers: [{name: 'a', op: '=', value: '1'}, {name: 'b', op: '!=', value: '2'}], aggregate: {fn: 'mean', by: ['x', 'y']}})
    const m2 = plan(0, 10, {matchers: [{name: 'b', op: '!=', value: '2'}, {name: 'a', op: '=', value: '1'}], aggregate: {fn: 'mean', by: ['y', 'x']}})
    assert.equal(planKey(m1), planKey(m2))
    for (const other of [plan(0, 11), plan(1, 10), plan(0, 10, {every: 5}), plan(0, 10, {transform: 'rate'}), plan(0, 10, {limit: 1}), plan(0, 10, {aggregate: {fn: 'percentile', param: 95, by: []}}), {...plan(0, 10), field: 'idle'}]) {
      assert.notEqual(planKey(plan(0, 10)), planKey(other))
    }
  })

  it('shares one in-flight query between concurrent callers and does not cache failures', async () => {
    let calls = 0
    let fail = true
    const flaky: Store = {
      kind: 'test',
      query: async (): Promise<Frame[]> => {
        calls++
        await new Promise((r) => setImmediate(r))
        if (fail) throw new Error('backend down')
        return []
      },
      write: async () => {},
      close: async () => {},
    }
    const cache = new QueryCache(flaky, {step: 1000})
    const results = await Promise.allSettled([cache.query(plan(0, 1000)), cache.query(plan(0, 1000))])
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected'])
    assert.equal(calls, 1)
    fail = false
    assert.deepEqual(await cache.query(plan(0, 1000)), [])
    assert.equal(calls, 2)
  })

  it('drops entries of a written measurement, old windows and beyond maxEntries', async () => {
    const store = countingStore()
    seed(store)
    const cache = new QueryCache(store, {step: 1000, maxEntries: 3, keepSteps: 2})
    await cache.query(plan(T0, T0 + 1001))
    await cache.write([{measurement: 'cpu', tags: {host: 'c'}, fields: {busy: 1}, ts: T0}])
    await cache.query(plan(T0, T0 + 1001))
    assert.equal(store.plans.length, 2, 'written measurement → queried again')
    await cache.write([{measurement: 'mem', tags: {}, fields: {used: 1}, ts: T0}])
    await cache.query(plan(T0, T0 + 1001))
    assert.equal(store.plans.length, 2, 'another measurement → still cached')
    await cache.query(plan(T0, T0 + 10_001)) // 9 steps newer: the old window goes
    assert.equal(cache.stats().entries, 1)
    for (let i = 1; i <= 4; i++) await cache.query(plan(T0 + i, T0 + 10_001))
    assert.equal(cache.stats().entries, 3)
  })
})

describe('shared raw reads', () => {
  // a store with gaps, booleans, integers, several tags per series and a counter reset
  const store = new SqliteStore({path: ':memory:', autoCompactEvery: 0})
  const points = []
  for (let i = 0; i < 120; i++) {
    const ts = T0 + i * 10_000 + (i % 3) * 7
    for (const [host, cpu] of [['a', 'c0'], ['a', 'c1'], ['b', 'c0'], ['c', '']] as const) {
      if (host === 'b' && i >= 40 && i < 55) continue
      const tags: Record<string, string> = {host}
      if (cpu) tags.cpu = cpu
      points.push({measurement: 'cpu', tags, fields: {busy: ((i * 37 + host.charCodeAt(0) * 11) % 100) + 0.25, ticks: BigInt(host === 'c' && i > 80 ? i - 80 : i * 3), up: i % 7 !== 0}, ts})
    }
  }

  store.writeSync(points)
  const end = T0 + 1_200_001
  const plans: QueryPlan[] = []
  for (const field of ['busy', 'ticks', 'up']) {
    for (const start of [end - 60_000, end - 600_000, end - 1_200_000]) {
      const base = {measurement: 'cpu', field, matchers: [], start, end}
      plans.push(base, {...base, limit: 1}, {...base, transform: 'rate'}, {...base, transform: 'derivative', every: 60_000})
      for (const fn of ['mean', 'min', 'max', 'sum', 'count', 'first', 'last', 'median', 'stddev', 'spread'] as const) {
        plans.push({...base, aggregate: {fn, by: ['host']}}, {...base, aggregate: {fn, by: []}, every: 120_000}, {...base, transform: 'rate', aggregate: {fn, by: ['cpu']}})
      }

      plans.push({...base, aggregate: {fn: 'percentile', param: 95, by: ['host', 'cpu']}})
    }
  }

  it(`gives the store's answer for ${plans.length} plans (raw, limit, rate, derivative, every aggregation, by, every)`, async () => {
    const raw = await store.query({measurement: 'cpu', field: 'busy', matchers: [], start: end - 1_200_000, end})
    assert.ok(raw.length === 4)
    for (const p of plans) {
      const read = await store.query({measurement: p.measurement, field: p.field, matchers: p.matchers, start: end - 1_200_000, end})
      const got = fromRawFrames(p, read)
      const want = await store.query(p)
      assert.ok(got, JSON.stringify(p))
      assertFramesClose(got, want, JSON.stringify(p))
    }
  })

  it('one read per selector per step, whatever the plans; other selectors and wide windows go to the store', async () => {
    const counting = countingStore()
    seed(counting)
    const cache = new QueryCache(counting, {step: 10_000, shareReads: {maxWindow: 3_600_000}})
    const at = T0 + 200_000
    for (const q of ['mean(cpu.busy[1m]) by host', 'max(cpu.busy[3m]) by host', 'percentile(cpu.busy[2m], 95) by host', 'max_over_time(cpu.busy[30s]) > 50', 'rate(cpu.busy[1m])']) {
      assertFramesClose(
        (await evaluateInstant(parseQuery(q), cache, at)).map((s) => ({name: s.name, tags: s.labels, columns: [], rows: [[s.ts, s.value]]})),
        (await evaluateInstant(parseQuery(q), counting.inner, at)).map((s) => ({name: s.name, tags: s.labels, columns: [], rows: [[s.ts, s.value]]})),
        q,
      )
    }

    // the widest window grew twice in the first step (1m, then 3m)
    assert.equal(counting.plans.length, 2)
    assert.ok(counting.plans.every((p) => !p.aggregate && !p.transform))
    // the next step reads the widest window at once
    await evaluateInstant(parseQuery('mean(cpu.busy[1m]) by host'), cache, at + 10_000)
    assert.equal(counting.plans.length, 3)
    assert.equal(counting.plans[2].end - counting.plans[2].start, 180_000)
    await evaluateInstant(parseQuery('mean(cpu.busy[2h]) by host'), cache, at + 10_000)
    assert.equal(counting.plans.length, 4, 'wider than maxWindow: the store is asked')
    assert.equal(counting.plans[3].end - counting.plans[3].start, 7_200_000)
  })

  it('asks canShare first, and string fields go to the store', async () => {
    const counting = countingStore()
    counting.inner.writeSync([{measurement: 'app', tags: {}, fields: {status: 'ok'}, ts: T0}])
    seed(counting)
    const cache = new QueryCache(counting, {step: 1, shareReads: {canShare: (p) => p.measurement !== 'cpu'}})
    await cache.query(plan(T0, T0 + 60_000, {aggregate: {fn: 'mean', by: []}}))
    assert.ok(counting.plans[0].aggregate, 'canShare said no')
    const count = await cache.query({measurement: 'app', field: 'status', matchers: [], start: T0, end: T0 + 1, aggregate: {fn: 'count', by: []}})
    assert.deepEqual(count[0].rows, [[T0, 1]])
  })
})

function assertFramesClose(got: Frame[], want: Frame[], what: string): void {
  assert.deepEqual(got.map((f) => [f.name, f.tags, f.rows.length]), want.map((f) => [f.name, f.tags, f.rows.length]), what)
  got.forEach((f, i) =>
    f.rows.forEach((r, j) => {
      const w = want[i].rows[j]
      assert.equal(r[0], w[0], what)
      if (typeof r[1] === 'number' && typeof w[1] === 'number') assert.ok(Math.abs(r[1] - w[1]) <= 1e-9 * Math.max(1, Math.abs(w[1])), `${what}: ${r[1]} vs ${w[1]}`)
      else assert.equal(r[1], w[1], what)
    }),
  )
}
