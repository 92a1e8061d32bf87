/**
 * Old stores stay readable: test/fixtures/store-v3/mon.db was written by the chunk codec version 3
 * (raw chunks: deflated and plain ones, head rows, rollup tiers with the first half day pruned from
 * raw) — see scripts/gen-store-v3-fixture.mjs — with the answers that code gave to 88 queries in
 * answers.json. Today's code opens a copy and must give every answer again, then again after a
 * write and a full compaction rewrote the old chunks in the current format (sums and means then
 * within a relative 1e-12: compaction changes the chunks, so the order points are added in).
 */
import assert from 'node:assert/strict'
import {copyFileSync, readFileSync} from 'node:fs'
import {dirname, join} from 'node:path'
import {describe, it} from 'node:test'
import {fileURLToPath} from 'node:url'
import {ManualClock} from '../../src/core/clock.js'
import {chunkVersion} from '../../src/core/store/codec.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {QueryPlan} from '../../src/core/store/types.js'
import {tempDir} from '../helpers/servers.js'

// dist/test/integration → the source tree's test/fixtures
const fixtures = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'test', 'fixtures', 'store-v3')

interface Fixture {
  now: number
  retention: Record<string, string>
  answers: Array<{query: QueryPlan; frames: unknown}>
}

const fixture = JSON.parse(readFileSync(join(fixtures, 'answers.json'), 'utf8')) as Fixture
/** what JSON kept of an answer (-0 as 0, as in the file) */
const asJson = (v: unknown) => JSON.parse(JSON.stringify(v)) as unknown

function openCopy(dir: string, clock: ManualClock): SqliteStore {
  const path = join(dir, 'mon.db')
  copyFileSync(join(fixtures, 'mon.db'), path)
  return new SqliteStore({path, clock, retention: fixture.retention, autoCompactEvery: 0})
}

function chunkVersions(store: SqliteStore): Map<number, number> {
  const out = new Map<number, number>()
  for (const r of store.database.prepare('SELECT data FROM chunks').all() as Array<{data: Buffer}>) {
    const v = chunkVersion(r.data)
    out.set(v, (out.get(v) ?? 0) + 1)
  }

  return out
}

/** Sums depend on the order points are added in, and compaction changes the chunks a sum is built from. */
const ORDER_DEPENDENT = new Set(['mean', 'sum', 'stddev'])

/** Like deepEqual, numbers within a relative 1e-12 (sums in another order). */
function close(actual: unknown, expected: unknown, where: string): void {
  if (typeof expected === 'number' && typeof actual === 'number') {
    assert.ok(Math.abs(actual - expected) <= 1e-12 * Math.max(1, Math.abs(expected)), `${where}: ${actual} ≉ ${expected}`)
  } else if (Array.isArray(expected) || (expected && typeof expected === 'object')) {
    assert.equal(typeof actual, 'object', where)
    assert.deepEqual(Object.keys(actual as object), Object.keys(expected), where)
    for (const k of Object.keys(expected)) close((actual as Record<string, unknown>)[k], (expected as Record<string, unknown>)[k], `${where}.${k}`)
  } else {
    assert.equal(actual, expected, where)
  }
}

/** Every answer exactly as recorded; after `compacted`, sums and means within a relative 1e-12. */
function checkAnswers(store: SqliteStore, when: string, compacted = false): void {
  for (const [i, a] of fixture.answers.entries()) {
    const where = `${when}: answer ${i} (${a.query.measurement}.${a.query.field} ${a.query.aggregate?.fn ?? 'raw'})`
    const got = asJson(store.querySync(a.query))
    if (compacted && ORDER_DEPENDENT.has(a.query.aggregate?.fn ?? '')) {
      // `weird` mixes ±Number.MAX_VALUE with small values: its sums cancel catastrophically, so
      // any other order gives other sums (its points are compared bit for bit below)
      if (a.query.field !== 'weird') close(got, a.frames, where)
    } else assert.deepEqual(got, a.frames, where)
  }
}

describe('a store written by codec version 3', () => {
  it('answers every query as the code that wrote it did', async () => {
    const {dir, cleanup} = tempDir('mon-compat-')
    try {
      const store = openCopy(dir, new ManualClock(fixture.now))
      const versions = chunkVersions(store)
      assert.ok((versions.get(3) ?? 0) > 300 && versions.size === 1, `the fixture holds version 3 chunks only: ${JSON.stringify([...versions])}`)
      const head = store.database.prepare('SELECT count(*) AS n FROM head').get() as {n: number}
      assert.ok(head.n > 0, 'the fixture has head rows')
      const plain = store.database.prepare('SELECT count(*) AS n FROM chunks WHERE substr(data, 1, 1) = x\'00\'').get() as {n: number}
      assert.ok(plain.n > 0, 'the fixture has plain (uncompressed) chunks')
      assert.equal(fixture.answers.length, 88)
      checkAnswers(store, 'as written')
      await store.close()
    } finally {
      cleanup()
    }
  })

  it('still answers them after a write and a full compaction rewrote its chunks in the current format', async () => {
    const {dir, cleanup} = tempDir('mon-compat-')
    try {
      const clock = new ManualClock(fixture.now)
      const store = openCopy(dir, clock)
      // later points of a new series (the old ranges' answers must not change), and a mix of
      // values that exercises every coding of the current version
      const t = fixture.now + 3_600_000
      const values = [0.1, 1 / 3, 2 ** 53, 5e-324, 1e300, 42, 100 * (2 / 7), 12.25]
      const points = Array.from({length: 400}, (_, i) => ({
        measurement: 'compat',
        tags: {host: 'new'},
        fields: {v: values[i % values.length] + (i % 3 === 0 ? 0 : i), n: BigInt(1000 + i * 4096)},
        ts: t + i * 10_000,
      }))
      await store.write(points)
      // every raw point the store keeps, before the compaction rewrites the old chunks
      const kept = Number((store.database.prepare("SELECT value FROM meta WHERE key = 'pruned_before:raw'").get() as {value: string}).value)
      const everything = (measurement: string, field: string) => store.querySync({measurement, field, matchers: [], start: kept, end: t})
      const fields = [...new Set(fixture.answers.map((a) => `${a.query.measurement}.${a.query.field}`))].map((f) => f.split('.') as [string, string])
      const before = fields.map(([m, f]) => everything(m, f))
      assert.ok(before.every((frames) => frames.length === 3 && frames.every((fr) => fr.rows.length > 600)))
      clock.set(t + 3 * 86_400_000)
      store.compact({full: true})
      // bit for bit (-0 too: assert/strict compares with Object.is)
      fields.forEach(([m, f], i) => assert.deepEqual(everything(m, f), before[i], `${m}.${f}: every raw point after compaction`))
      const versions = chunkVersions(store)
      assert.ok((versions.get(5) ?? 0) > 0, `compaction wrote current-version chunks: ${JSON.stringify([...versions])}`)
      checkAnswers(store, 'after a write and compaction', true)
      const [v] = store.querySync({measurement: 'compat', field: 'v', matchers: [], start: t, end: t + 400 * 10_000})
      assert.deepEqual(
        v.rows.map((r) => r[1]),
        points.map((p) => p.fields.v),
      )
      const [n] = store.querySync({measurement: 'compat', field: 'n', matchers: [], start: t, end: t + 400 * 10_000})
      assert.deepEqual(
        n.rows.map((r) => r[1]),
        points.map((p) => Number(p.fields.n)),
      )
      await store.close()

      // and the compacted file reopens with the same answers
      const again = new SqliteStore({path: join(dir, 'mon.db'), clock, retention: fixture.retention, autoCompactEvery: 0})
      checkAnswers(again, 'reopened', true)
      await again.close()
    } finally {
      cleanup()
    }
  })
})
