import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {referenceBuckets} from '../helpers/reference.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {PartialWriteError} from '../../src/core/errors.js'
import type {AggFn, QueryPlan} from '../../src/core/store/types.js'
import type {Point} from '../../src/core/model/point.js'

const T0 = 1_700_000_000_000
let dir: string
before(() => (dir = mkdtempSync(join(tmpdir(), 'mon-sqlite-'))))
after(() => rmSync(dir, {recursive: true, force: true}))
let n = 0
const newStore = (opts: {chunkMax?: number; directMin?: number} = {}) => new SqliteStore({path: join(dir, `s${n++}.db`), autoCompactEvery: 0, ...opts})

function points(host: string, count: number, value: (i: number) => number, step = 10_000, from = T0): Point[] {
  return Array.from({length: count}, (_, i) => ({measurement: 'cpu', tags: {host, cpu: 'cpu-total'}, fields: {usage_user: value(i)}, ts: from + i * step}))
}

const plan = (p: Partial<QueryPlan>): QueryPlan => ({measurement: 'cpu', field: 'usage_user', matchers: [], start: T0 - 1, end: T0 + 10_000_000_000, ...p})

describe('embedded store writes', () => {
  it('rewriting the same series+field+timestamp overwrites (chunk path and head path)', async () => {
    for (const batch of [1, 3, 500]) {
      const s = newStore({directMin: 8})
      const pts = points('a', batch, (i) => i)
      await s.write(pts)
      await s.write(pts.map((p) => ({...p, fields: {usage_user: 1000}})))
      await s.write(pts.map((p) => ({...p, fields: {usage_user: 7}})))
      const [f] = await s.query(plan({aggregate: {fn: 'count', by: []}}))
      assert.equal(f.rows[0][1], batch, `count after replays (batch ${batch})`)
      const [sum] = await s.query(plan({aggregate: {fn: 'sum', by: []}}))
      assert.equal(sum.rows[0][1], 7 * batch)
      s.compact({full: true})
      const [after] = await s.query(plan({aggregate: {fn: 'sum', by: []}}))
      assert.equal(after.rows[0][1], 7 * batch, 'compaction keeps the latest values')
      await s.close()
    }
  })

  it('a late small write overrides a point inside an existing chunk until and after compaction', async () => {
    const s = newStore()
    await s.write(points('a', 1000, () => 1))
    await s.write([{measurement: 'cpu', tags: {cpu: 'cpu-total', host: 'a'}, fields: {usage_user: 101}, ts: T0 + 500 * 10_000}])
    for (const fn of ['sum', 'max', 'count', 'mean'] as AggFn[]) {
      const [f] = await s.query(plan({aggregate: {fn, by: []}}))
      assert.equal(f.rows[0][1], {sum: 1100, max: 101, count: 1000, mean: 1.1}[fn as 'sum'], fn)
    }

    s.compact({full: true})
    const [f] = await s.query(plan({aggregate: {fn: 'sum', by: []}}))
    assert.equal(f.rows[0][1], 1100)
    await s.close()
  })

  it('tag order does not make a new series; empty tag values are dropped', async () => {
    const s = newStore()
    await s.write([{measurement: 'm', tags: {b: '2', a: '1', c: ''}, fields: {v: 1}, ts: T0}])
    await s.write([{measurement: 'm', tags: {a: '1', b: '2'}, fields: {v: 2}, ts: T0}])
    const info = await s.info()
    assert.equal(info.series, 1)
    assert.deepEqual(await s.tagKeys('m'), ['a', 'b'])
    await s.close()
  })

  // Issue 15 item 1: this used to reject the whole batch; one bad point must not cost the others
  it('a field type conflict refuses that point alone (a partial write naming it) and writes the rest', async () => {
    const s = newStore()
    await s.write([{measurement: 'm', tags: {}, fields: {v: 1n}, ts: T0}])
    const err = await s
      .write([
        {measurement: 'm', tags: {host: 'new'}, fields: {w: 5}, ts: T0 + 1},
        {measurement: 'm', tags: {other: 'x'}, fields: {v: 2.5}, ts: T0 + 2},
        {measurement: 'm', tags: {}, fields: {v: 3n}, ts: T0 + 3},
      ])
      .then(() => undefined, (e: unknown) => e)
    assert.ok(err instanceof PartialWriteError, String(err))
    assert.match(err.message, /^partial write: 1 point rejected: field type conflict: input field "v" on measurement "m" is type float, already exists as type integer/)
    assert.equal(err.rejectedPoints, 1)
    assert.deepEqual(err.rejectedIndexes, [1])
    assert.equal((await s.info()).series, 2, 'the refused point creates no series')
    assert.deepEqual(await s.fieldKeys('m'), [{name: 'v', type: 'integer'}, {name: 'w', type: 'float'}])
    const [w] = await s.query({measurement: 'm', field: 'w', matchers: [], start: 0, end: T0 + 10})
    assert.deepEqual(w.rows, [[T0 + 1, 5]])
    const [v] = await s.query({measurement: 'm', field: 'v', matchers: [], start: 0, end: T0 + 10})
    assert.deepEqual(v.rows, [[T0, 1], [T0 + 3, 3]])
    await s.close()
  })

  it('within one batch the first type of a new field wins; later points of another type are refused alone', () => {
    const s = newStore()
    const result = s.writeSync([
      {measurement: 'n', tags: {}, fields: {v: 1}, ts: T0},
      {measurement: 'n', tags: {}, fields: {v: 'oops'}, ts: T0 + 1},
      {measurement: 'n', tags: {}, fields: {v: Number.NaN}, ts: T0 + 2},
      {measurement: 'n', tags: {}, fields: {}, ts: T0 + 3},
      {measurement: 'n', tags: {}, fields: {v: 4}, ts: T0 + 4},
    ])
    assert.deepEqual(result.rejected?.map((r) => r.index), [1, 2, 3])
    assert.equal(result.written, 2)
    void s.close()
  })

  it('values of one series and field that land on the same millisecond are counted as merged', async () => {
    const s = newStore()
    const outcome = await s.write([
      {measurement: 'u', tags: {}, fields: {v: 1}, ts: T0},
      {measurement: 'u', tags: {}, fields: {v: 2}, ts: T0},
      {measurement: 'u', tags: {}, fields: {v: 3}, ts: T0 + 1},
    ])
    assert.deepEqual(outcome, {merged: 1})
    await s.close()
  })

  it('a tag set and its prefix are different series, whichever order they arrive in', async () => {
    const s = newStore()
    await s.write([
      {measurement: 'm', tags: {a: '1', b: '2'}, fields: {v: 1}, ts: T0},
      {measurement: 'm', tags: {a: '1'}, fields: {v: 2}, ts: T0},
      {measurement: 'm', tags: {b: '2'}, fields: {v: 3}, ts: T0},
      {measurement: 'm', tags: {}, fields: {v: 4}, ts: T0},
      {measurement: 'n', tags: {a: '1'}, fields: {v: 5}, ts: T0},
    ])
    await s.write([{measurement: 'm', tags: {b: '2', a: '1'}, fields: {v: 10}, ts: T0}])
    assert.equal((await s.info()).series, 5)
    const frames = await s.query({measurement: 'm', field: 'v', matchers: [], start: 0, end: T0 + 10})
    const byTags = frames.map((f) => `${Object.entries(f.tags).map(([k, v]) => `${k}=${v}`).join(',')} ${f.rows[0][1]}`).sort()
    assert.deepEqual(byTags, [' 4', 'a=1 2', 'a=1,b=2 10', 'b=2 3'])
    await s.close()
  })

  it('keeps types: integers, booleans and strings come back as written', async () => {
    const s = newStore()
    await s.write([
      {measurement: 't', tags: {}, fields: {i: 5n, b: true, s: 'hello "x"\nbye', f: 1.5}, ts: T0},
      {measurement: 't', tags: {}, fields: {i: -3n, b: false, s: '', f: -0.25}, ts: T0 + 1},
    ])
    const get = async (field: string) => (await s.query({measurement: 't', field, matchers: [], start: 0, end: T0 + 10}))[0].rows.map((r) => r[1])
    assert.deepEqual(await get('i'), [5, -3])
    assert.deepEqual(await get('b'), [true, false])
    assert.deepEqual(await get('s'), ['hello "x"\nbye', ''])
    assert.deepEqual(await get('f'), [1.5, -0.25])
    await s.close()
  })

  it('rejects NaN and non-integer timestamps without writing', async () => {
    const s = newStore()
    await assert.rejects(s.write([{measurement: 'm', tags: {}, fields: {v: Number.NaN}, ts: T0}]), /NaN and Infinity cannot be stored/)
    await assert.rejects(s.write([{measurement: 'm', tags: {}, fields: {v: 1}, ts: 1.5}]), /invalid timestamp/)
    assert.equal((await s.info()).points, 0)
    await s.close()
  })
})

describe('embedded store aggregations equal a direct computation', () => {
  const s = newStore({chunkMax: 64})
  const hosts = ['a', 'b', 'c']
  const raw = new Map<string, Array<[number, number]>>()
  before(async () => {
    for (const [h, host] of hosts.entries()) {
      // mixed write sizes: direct chunks, head rows, and overlapping rewrites
      const pts = points(host, 777, (i) => Math.round((Math.sin(i / 7 + h) * 50 + 50) * 100) / 100, 10_000)
      await s.write(pts.slice(0, 500))
      for (const p of pts.slice(500, 520)) await s.write([p])
      await s.write(pts.slice(520))
      raw.set(host, pts.map((p) => [p.ts, p.fields.usage_user as number]))
    }

    s.compact()
  })
  after(() => s.close())

  const fns: AggFn[] = ['mean', 'sum', 'count', 'min', 'max', 'spread', 'first', 'last', 'percentile', 'median', 'stddev']
  const ranges: Array<[string, number, number, number | undefined]> = [
    ['everything', T0 - 1, T0 + 10_000_000, undefined],
    ['inner range cutting chunks', T0 + 123_456, T0 + 5_432_100, undefined],
    ['every 10m', T0, T0 + 7_770_000, 600_000],
    ['every 7m (buckets cross chunks)', T0 + 33_000, T0 + 7_000_000, 420_000],
  ]
  for (const fn of fns) {
    for (const [label, start, end, every] of ranges) {
      it(`${fn} by host over ${label}`, async () => {
        const frames = await s.query(plan({start, end, every, aggregate: {fn, param: fn === 'percentile' ? 90 : undefined, by: ['host']}}))
        assert.equal(frames.length, 3)
        for (const f of frames) {
          const expected = referenceBuckets(fn, raw.get(f.tags.host)!, start, end, every, 90)
          assert.equal(f.rows.length, expected.length)
          f.rows.forEach((row, i) => {
            assert.equal(row[0], expected[i][0])
            const want = expected[i][1] as number
            assert.ok(Math.abs((row[1] as number) - want) <= 1e-9 * Math.max(1, Math.abs(want)), `${fn} ${row[1]} vs ${want}`)
          })
        }
      })
    }
  }

  it('groups across series: mean without by pools every point', async () => {
    const [f] = await s.query(plan({aggregate: {fn: 'count', by: []}}))
    assert.equal(f.rows[0][1], 3 * 777)
  })

  it('matchers: =, !=, =~ (anchored), !~', async () => {
    const hostsFor = async (matchers: QueryPlan['matchers']) => (await s.query(plan({matchers, aggregate: {fn: 'count', by: ['host']}}))).map((f) => f.tags.host)
    assert.deepEqual(await hostsFor([{name: 'host', op: '=', value: 'a'}]), ['a'])
    assert.deepEqual(await hostsFor([{name: 'host', op: '!=', value: 'a'}]), ['b', 'c'])
    assert.deepEqual(await hostsFor([{name: 'host', op: '=~', value: '[ab]'}]), ['a', 'b'])
    assert.deepEqual(await hostsFor([{name: 'host', op: '=~', value: 'a.*|c'}]), ['a', 'c'])
    assert.deepEqual(await hostsFor([{name: 'host', op: '=~', value: ''}]), [], 'anchored: empty regex matches only the empty value')
    assert.deepEqual(await hostsFor([{name: 'missing', op: '=', value: ''}]), ['a', 'b', 'c'], 'a missing tag matches ""')
    assert.deepEqual(await hostsFor([{name: 'host', op: '!~', value: 'b|c'}]), ['a'])
  })

  it('raw selection with limit returns the most recent points per series', async () => {
    const frames = await s.query(plan({limit: 3, matchers: [{name: 'host', op: '=', value: 'b'}]}))
    assert.equal(frames.length, 1)
    assert.deepEqual(frames[0].rows, raw.get('b')!.slice(-3))
  })
})

describe('rate and derivative', () => {
  it('non-negative rate skips counter resets; derivative keeps them', async () => {
    const s = newStore()
    const values = [100, 200, 400, 50, 150]
    await s.write(values.map((v, i) => ({measurement: 'net', tags: {host: 'a'}, fields: {bytes_recv: BigInt(v)}, ts: T0 + i * 10_000})))
    const q = {measurement: 'net', field: 'bytes_recv', matchers: [], start: T0, end: T0 + 60_000}
    const [rate] = await s.query({...q, transform: 'rate'})
    assert.deepEqual(rate.rows, [
      [T0 + 10_000, 10],
      [T0 + 20_000, 20],
      [T0 + 40_000, 10],
    ])
    const [deriv] = await s.query({...q, transform: 'derivative'})
    assert.deepEqual(deriv.rows.map((r) => r[1]), [10, 20, -35, 10])
    const [perBucket] = await s.query({...q, transform: 'rate', every: 20_000})
    // last per 20 s bucket: 200 (T0), 50 (T0+20s), 150 (T0+40s) → reset dropped, then 100/20s
    assert.deepEqual(perBucket.rows, [[T0 + 40_000, 5]])
    const [sum] = await s.query({...q, transform: 'rate', aggregate: {fn: 'sum', by: ['host']}})
    assert.deepEqual(sum.rows, [[T0, 40]])
    await s.close()
  })
})

describe('concurrent readers', () => {
  it('a second connection reads while the first writes (WAL)', async () => {
    const path = join(dir, 'shared.db')
    const writer = new SqliteStore({path, autoCompactEvery: 0})
    const reader = new SqliteStore({path, autoCompactEvery: 0})
    for (let round = 1; round <= 5; round++) {
      await writer.write(points('a', 200, () => round, 1000, T0 + round * 1_000_000))
      const [f] = await reader.query(plan({aggregate: {fn: 'count', by: []}}))
      assert.equal(f.rows[0][1], 200 * round)
    }

    await writer.close()
    await reader.close()
  })
})
