import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {mkdtempSync, rmSync} from 'node:fs'
import {tmpdir} from 'node:os'
import {join} from 'node:path'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {AggFn, Frame, QueryPlan} from '../../src/core/store/types.js'
import type {Point} from '../../src/core/model/point.js'

/**
 * The embedded store's one-window aggregation (a plan without `every`: an instant query's
 * pushdown, sqlite/window.ts) against the same window asked as one bucket of `every` (the bucketed
 * read): the same frames, values equal bit for bit, for every function, with chunks cut by the
 * window's edges, head rows, a late write overriding a point inside a chunk, several groups, a
 * pooled group and a string field.
 */
const T0 = 1_700_000_000_000
let dir: string
before(() => (dir = mkdtempSync(join(tmpdir(), 'mon-window-'))))
after(() => rmSync(dir, {recursive: true, force: true}))

function points(host: string, dc: string | undefined, count: number, value: (i: number) => number, from = T0): Point[] {
  const tags: Record<string, string> = dc ? {host, dc} : {host}
  return Array.from({length: count}, (_, i) => ({measurement: 'cpu', tags, fields: {usage_user: value(i), state: `s${i % 3}`}, ts: from + i * 10_000}))
}

const rowsOf = (frames: Frame[]) => frames.map((f) => ({tags: f.tags, columns: f.columns, rows: f.rows}))

describe('store: one window equals one bucket of every, bit for bit', () => {
  let s: SqliteStore
  before(async () => {
    s = new SqliteStore({path: join(dir, 'w.db'), autoCompactEvery: 0, chunkMax: 64})
    for (const [h, [host, dc]] of [['a', 'x'], ['b', undefined], ['c', 'y'], ['d', 'x']].entries()) {
      const pts = points(host!, dc, 900, (i) => Math.round((Math.sin(i / 7 + h) * 50 + 50) * 1000) / 1000 + 0.1)
      await s.write(pts.slice(0, 600))
      s.compact()
      // head rows (single writes, not compacted) after the chunks, and one overriding a chunked point
      for (const p of pts.slice(600, 640)) await s.write([p])
      await s.write(pts.slice(640))
      await s.write([{...pts[123]!, fields: {usage_user: 1234.5678, state: 'late'}}])
    }
  })
  after(() => s.close())

  const fns: AggFn[] = ['mean', 'sum', 'count', 'min', 'max', 'spread', 'first', 'last', 'percentile', 'median', 'stddev']
  const windows: Array<[string, number, number]> = [
    ['everything', T0 - 5, T0 + 9_000_000],
    ['edges cutting chunks and the head', T0 + 123_457, T0 + 6_543_211],
    ['a day-like window (t − d, t]', T0 + 1, T0 + 7_200_001],
  ]
  const groupings: Array<[string, string[]]> = [
    ['by host', ['host']],
    ['by every tag', ['dc', 'host']],
    ['pooled', []],
  ]
  for (const fn of fns) {
    for (const [label, start, end] of windows) {
      for (const [gl, by] of groupings) {
        it(`${fn} ${gl} over ${label}`, async () => {
          const aggregate = {fn, param: fn === 'percentile' ? 90 : undefined, by}
          const base: QueryPlan = {measurement: 'cpu', field: 'usage_user', matchers: [], start, end, aggregate}
          const window = await s.query(base)
          const bucket = await s.query({...base, every: end - start, offset: start % (end - start)})
          assert.ok(window.length > 0)
          assert.deepEqual(rowsOf(window), rowsOf(bucket))
          for (const f of window) assert.equal(f.rows.length, 1)
        })
      }
    }
  }

  it('a string field counts; other functions of it are refused alike', async () => {
    const base: QueryPlan = {measurement: 'cpu', field: 'state', matchers: [{name: 'host', op: '!=', value: 'c'}], start: T0, end: T0 + 9_000_000, aggregate: {fn: 'count', by: ['host']}}
    const window = await s.query(base)
    assert.deepEqual(window.map((f) => [f.tags.host, f.rows]), [['a', [[T0, 900]]], ['b', [[T0, 900]]], ['d', [[T0, 900]]]])
    assert.deepEqual(rowsOf(window), rowsOf(await s.query({...base, every: 9_000_000, offset: T0 % 9_000_000})))
    await assert.rejects(s.query({...base, aggregate: {fn: 'mean', by: ['host']}}), /not defined for string field/)
  })

  it('a window with no points gives no frame', async () => {
    assert.deepEqual(await s.query({measurement: 'cpu', field: 'usage_user', matchers: [], start: T0 - 100_000, end: T0 - 1, aggregate: {fn: 'mean', by: ['host']}}), [])
  })
})
