/**
 * An aggregate read whose groups are shared with the daemon's other thread (accumulate.ts, the
 * JSON thread's `groups` work): the frames must be bit for bit those of the read alone — every
 * function, chunks decoded and summarized, head rows overriding chunk points — and an error the
 * other thread meets (a damaged chunk) must be the read's error, as it is alone.
 */
import assert from 'node:assert/strict'
import {after, afterEach, before, beforeEach, describe, it} from 'node:test'
import {join} from 'node:path'
import {MatrixJsonThread} from '../../src/core/daemon/json-thread.js'
import type {Point} from '../../src/core/model/point.js'
import {eachPoint} from '../../src/core/store/frames.js'
import {useGroupHelper} from '../../src/core/store/sqlite/accumulate.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Frame, QueryPlan} from '../../src/core/store/types.js'
import {tempDir} from '../helpers/servers.js'

const MIN = 60_000
const START = Date.UTC(2026, 10, 24)
const HOSTS = 8
const POINTS = 4_000

let tmp: ReturnType<typeof tempDir>
beforeEach(() => (tmp = tempDir('mon-group-helper-')))
afterEach(() => tmp.cleanup())

function points(): Point[] {
  const out: Point[] = []
  for (let h = 0; h < HOSTS; h++) {
    for (let k = 0; k < POINTS; k++) {
      const usage = Math.round((20 + 15 * Math.sin(k / 300 + h) + ((k * 7919 + h * 104_729) % 1000) / 100) * 1000) / 1000
      out.push({measurement: 'cpu', tags: {host: `h${h}`, dc: h % 2 ? 'a' : 'b'}, fields: {usage, busy: k % 7}, ts: START + k * 10_000})
    }
  }
  return out
}

/** a frame as its tags and the bits of its points */
function bitsOf(frames: Frame[]): string[] {
  const bits = new Float64Array(1)
  const words = new Uint32Array(bits.buffer)
  return frames.map((f) => {
    const parts: string[] = [JSON.stringify(f.tags)]
    eachPoint(f, (t, v) => {
      bits[0] = v as number
      parts.push(`${t}:${words[0]}.${words[1]}`)
    })
    return parts.join(' ')
  })
}

describe('aggregate reads shared with the other thread', () => {
  const thread = new MatrixJsonThread({idleMs: 0, threadOnly: true})
  before(async () => assert.equal(await thread.start(), true))
  after(async () => {
    useGroupHelper(undefined)
    await thread.close()
  })

  const read = async (store: SqliteStore, q: QueryPlan, helped: boolean) => {
    useGroupHelper(helped ? thread : undefined)
    try {
      return await store.query(q)
    } finally {
      useGroupHelper(undefined)
    }
  }

  it('gives the bits of the read alone, for every function and grouping', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'mon.db'), retention: {raw: '3650d'}, autoCompactEvery: 0})
    try {
      await store.write(points())
      await store.compact()
      // head rows over chunk points (a late write), and points of their own
      await store.write([
        {measurement: 'cpu', tags: {host: 'h5', dc: 'a'}, fields: {usage: 99.5, busy: 1}, ts: START + 100 * 10_000},
        {measurement: 'cpu', tags: {host: 'h6', dc: 'b'}, fields: {usage: -3.25, busy: 2}, ts: START + POINTS * 10_000 + 5},
      ])
      const end = START + POINTS * 10_000 + MIN
      const plans: QueryPlan[] = []
      for (const fn of ['mean', 'sum', 'count', 'min', 'max', 'first', 'last', 'spread', 'stddev', 'median'] as const) {
        plans.push({measurement: 'cpu', field: 'usage', matchers: [], start: START + 1, end, every: MIN, offset: 1, aggregate: {fn, by: ['host']}})
      }
      plans.push({measurement: 'cpu', field: 'usage', matchers: [], start: START, end, every: 5 * MIN, aggregate: {fn: 'mean', by: ['dc']}})
      plans.push({measurement: 'cpu', field: 'busy', matchers: [], start: START + 7_777, end: end - 12_345, every: MIN, aggregate: {fn: 'max', by: ['host', 'dc']}})
      plans.push({measurement: 'cpu', field: 'usage', matchers: [], start: START, end, aggregate: {fn: 'mean', by: ['host']}})
      const before = thread.helped
      const took = thread.took
      for (const q of plans) {
        const alone = bitsOf(await read(store, q, false))
        const shared = bitsOf(await read(store, q, true))
        assert.ok(alone.length > 0)
        assert.deepEqual(shared, alone, `${q.aggregate!.fn} by ${q.aggregate!.by.join(',')} every ${q.every}`)
      }
      // every plan but the one without buckets (whole chunks: their summaries, nothing to decode)
      // was shared, and the thread accumulated the groups (it takes them all in these tests)
      assert.equal(thread.helped - before, plans.length - 1)
      assert.ok(thread.took > took)
    } finally {
      await store.close()
    }
  })

  it("makes an error the other thread meets the read's error, as alone", async () => {
    const path = join(tmp.dir, 'mon.db')
    const store = new SqliteStore({path, retention: {raw: '3650d'}, autoCompactEvery: 0})
    try {
      await store.write(points())
      await store.compact()
      const q: QueryPlan = {measurement: 'cpu', field: 'usage', matchers: [], start: START, end: START + POINTS * 10_000, every: MIN, aggregate: {fn: 'mean', by: ['host']}}
      const fine = bitsOf(await read(store, q, true))
      // the last host's chunks (the other thread's share) damaged: an unknown encoding version
      const {default: Database} = await import('better-sqlite3')
      const db = new Database(path)
      db.prepare("UPDATE chunks SET data = X'0063' WHERE series_id = (SELECT id FROM series WHERE tags LIKE '%h7%')").run()
      db.close()
      const alone = await read(store, q, false).then(() => 'no error', (err: Error) => err.message)
      assert.match(alone, /unknown chunk encoding version/)
      const helped = thread.helped
      const shared = await read(store, q, true).then(() => 'no error', (err: Error) => err.message)
      assert.equal(shared, alone)
      assert.equal(thread.helped, helped + 1, 'the other thread had the damaged group')
      assert.equal(fine.length, HOSTS)
      assert.equal(thread.running, true, 'and goes on')
    } finally {
      await store.close()
    }
  })
})
