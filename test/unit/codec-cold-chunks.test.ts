/**
 * Compaction's cold chunks: raw chunks whose last point is older than an hour are merged into
 * chunks of up to 8 × chunkMax points in the current codec; hot chunks keep chunkMax; every point
 * reads back bit for bit — also after random late, overlapping and replayed writes with
 * compactions between them (the clock injected and moved by hand).
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {chunkVersion} from '../../src/core/store/codec.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from '../helpers/servers.js'

const T0 = 1_767_225_600_000
const H = 3_600_000

describe('compaction of cold chunks', () => {
  it('merges cold chunks up to 8 × chunkMax, leaves the last hour in chunkMax chunks, and keeps every value', async () => {
    const {dir, cleanup} = tempDir('mon-cold-')
    try {
      const n = 20_000 // 10 s apart: 55.5 h
      const clock = new ManualClock(T0 + n * 10_000 + 60_000)
      const store = new SqliteStore({path: join(dir, 'mon.db'), clock, autoCompactEvery: 0, chunkMax: 1024})
      const values = Array.from({length: n}, (_, i) => (100 * ((i * 7919) % 4001)) / 4001)
      for (let i = 0; i < n; i += 500) {
        store.writeSync(values.slice(i, i + 500).map((v, j) => ({measurement: 'm', tags: {host: 'a'}, fields: {v}, ts: T0 + (i + j) * 10_000})))
      }

      store.compact()
      const rows = store.database.prepare('SELECT t_end, n, data FROM chunks ORDER BY t_start').all() as Array<{t_end: number; n: number; data: Buffer}>
      const cutoff = clock.now() - H
      const cold = rows.filter((r) => r.t_end < cutoff)
      const hot = rows.filter((r) => r.t_end >= cutoff)
      assert.ok(cold.length > 0 && cold.every((r) => r.n <= 8192), `cold chunks: ${cold.map((r) => r.n)}`)
      assert.ok(cold.filter((r) => r.n > 1024).length >= 2, `cold chunks are bigger than chunkMax: ${cold.map((r) => r.n)}`)
      assert.ok(hot.every((r) => r.n <= 1024), `hot chunks: ${hot.map((r) => r.n)}`)
      assert.ok(rows.every((r) => chunkVersion(r.data) === 5))
      const [f] = store.querySync({measurement: 'm', field: 'v', matchers: [], start: T0, end: T0 + n * 10_000})
      assert.equal(f.rows.length, n)
      f.rows.forEach((r, i) => {
        assert.equal(r[0], T0 + i * 10_000)
        assert.ok(Object.is(r[1], values[i]), `value ${i}: ${r[1]} vs ${values[i]}`)
      })
      // a second compaction has nothing left to merge
      const before = rows.length
      const stats = store.compact()
      assert.equal(stats.chunksAfter, before)
      await store.close()
    } finally {
      cleanup()
    }
  })

  it('random writes (late, overlapping, replayed) and compactions over 20 seeds read back exactly what was last written', async () => {
    const {dir, cleanup} = tempDir('mon-cold-')
    try {
      for (let seed = 1; seed <= 20; seed++) {
        let a = seed
        const rnd = () => {
          a = (a + 0x6d2b79f5) | 0
          let t = Math.imul(a ^ (a >>> 15), 1 | a)
          t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t
          return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296
        }

        const clock = new ManualClock(T0)
        const store = new SqliteStore({path: join(dir, `s${seed}.db`), clock, autoCompactEvery: 0, chunkMax: 64, retention: {raw: '100y'}})
        const want = new Map<number, number>()
        const shapes = [(i: number) => Math.round(i * 1.37 * 100) / 100, (i: number) => (100 * (i * 4096)) / (24 * 2 ** 30), (i: number) => (100 * ((i % 97) / 100 + i / 100 - i / 100)) / 40, () => rnd() * 1e6, (i: number) => (i % 7 === 0 ? -0 : i * 12_345)]
        const shape = shapes[seed % shapes.length]
        for (let round = 0; round < 30; round++) {
          // a batch somewhere in the first 2,000 slots: mostly ahead, sometimes late or a replay
          const from = Math.floor(rnd() < 0.7 ? (round / 30) * 2000 : rnd() * 2000)
          const len = 1 + Math.floor(rnd() * 200)
          const points = []
          for (let i = from; i < Math.min(2000, from + len); i++) {
            const v = rnd() < 0.9 ? shape(i) : shape(i + round)
            want.set(i, v)
            points.push({measurement: 'm', tags: {host: 'a'}, fields: {v}, ts: T0 + i * 10_000})
          }

          store.writeSync(points)
          clock.advance(Math.floor(rnd() * 2 * H))
          if (rnd() < 0.4) store.compact({full: rnd() < 0.3})
        }

        store.compact({full: true})
        const [f] = store.querySync({measurement: 'm', field: 'v', matchers: [], start: T0, end: T0 + 2000 * 10_000})
        const expected = [...want.entries()].sort((x, y) => x[0] - y[0])
        assert.equal(f.rows.length, expected.length, `seed ${seed}`)
        f.rows.forEach((r, i) => {
          assert.equal(r[0], T0 + expected[i][0] * 10_000, `seed ${seed} point ${i}`)
          assert.ok(Object.is(r[1], expected[i][1]), `seed ${seed} point ${i}: ${r[1]} vs ${expected[i][1]}`)
        })
        await store.close()
      }
    } finally {
      cleanup()
    }
  })
})
