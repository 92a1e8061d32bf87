import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {QueryCache, planKey} from '../../src/core/query/cache.js'
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
    // the cached answer equals the uncached one at the step boundary
    assert.deepEqual(a, await evaluateInstant(warm, store.inner, T0 + 200_000))
    assert.deepEqual(b, await evaluateInstant(hot, store.inner, T0 + 200_000))
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
