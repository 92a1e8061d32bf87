/**
 * The embedded store's write thread (src/core/store/sqlite/write-thread.ts): a real worker_thread
 * with its own connection to the file. Whatever goes through it is written once, the same rows as
 * on the main thread; queries on the main thread's connection see each write as soon as it
 * resolves; the store's errors come back as the classes the writer tells apart; closing commits
 * what was given first; and the main thread's own writes after the thread stopped see what the
 * thread committed.
 */
import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {join} from 'node:path'
import {PartialWriteError} from '../../src/core/errors.js'
import {parseLineProtocol} from '../../src/core/model/line-protocol/index.js'
import {UInt} from '../../src/core/model/point.js'
import type {SpoolBatch} from '../../src/core/pipeline/spool.js'
import {writeBatch} from '../../src/core/pipeline/writer.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from '../helpers/servers.js'

let tmp: ReturnType<typeof tempDir>
beforeEach(() => (tmp = tempDir('mon-write-thread-')))
afterEach(() => tmp.cleanup())

const T0 = 1_700_000_000_000

/** `n` lines of 10 hosts × 3 fields, one second apart per host, from `t0` */
function cpuBody(t0: number, n: number, measurement = 'cpu', salt = 0): string {
  let out = ''
  for (let i = 0; i < n; i++) {
    const h = i % 10
    const k = Math.floor(i / 10)
    out += `${measurement},host=h${h} user=${(k * 7 + h + salt) % 100},system=${(k * 3 + h) % 17}.5,idle=${k}i ${t0 + k * 1000}\n`
  }
  return out
}

let batchIds = 0
function batchOf(payloads: string[]): SpoolBatch {
  const records = payloads.map((p, i) => ({input: `in${i}`, points: p.split('\n').filter(Boolean).length, precision: 'ms' as const, appendedAt: 0, payload: Buffer.from(p)}))
  return {
    id: ++batchIds,
    records,
    points: records.reduce((n, r) => n + r.points, 0),
    bytes: 0,
    precision: 'ms',
    start: {segment: 1, offset: 0},
    end: {segment: 1, offset: 0},
    firstAppendedAt: 0,
  }
}

/** every row of the tables that hold points (ids are per file, so by series key and field name) */
function contents(store: SqliteStore): unknown {
  const db = store.database
  return {
    series: db.prepare('SELECT key, measurement, tags FROM series ORDER BY key').all(),
    fields: db.prepare('SELECT measurement, name, type FROM fields ORDER BY measurement, name').all(),
    chunks: db.prepare('SELECT s.key, f.name, c.t_start, c.t_end, c.n, c.data FROM chunks c JOIN series s ON s.id = c.series_id JOIN fields f ON f.id = c.field_id ORDER BY s.key, f.name, c.t_start').all(),
    head: db.prepare('SELECT s.key, f.name, h.ts, h.value FROM head h JOIN series s ON s.id = h.series_id JOIN fields f ON f.id = h.field_id ORDER BY s.key, f.name, h.ts').all(),
  }
}

async function count(store: SqliteStore, measurement: string, field: string): Promise<number> {
  const frames = await store.query({measurement, field, matchers: [], start: T0 - 1000, end: T0 * 2})
  return frames.reduce((n, f) => n + f.rows.length, 0)
}

/** a store whose bulk writes (any spooled batch here) go to the write thread */
function threaded(name: string, extra: {idleMs?: number; timer?: ManualTimer} = {}): SqliteStore {
  return new SqliteStore({path: join(tmp.dir, name), retention: {raw: '3650d'}, autoCompactEvery: 0, writeThread: {startBytes: 0, idleMs: extra.idleMs ?? 0, timer: extra.timer}})
}

describe('the embedded store write thread', () => {
  it('writes every batch once, the same rows as the main thread, with batches in flight together', async () => {
    const thread = threaded('thread.db')
    const main = new SqliteStore({path: join(tmp.dir, 'main.db'), retention: {raw: '3650d'}, autoCompactEvery: 0})
    const batches = [
      [cpuBody(T0, 500)],
      [cpuBody(T0 + 50_000, 500), cpuBody(T0 + 100_000, 200, 'mem')],
      [cpuBody(T0 + 20_000, 300, 'cpu', 1)], // inside what is stored: merged, the new values win
      ['cpu,host=h0 user=1 ' + (T0 + 500_000) + '\n', 'cpu,host=h0 user=2 ' + (T0 + 500_001) + '\n'], // small: head rows
      [cpuBody(T0 + 400_000, 400, 'cpu', 2)],
      [cpuBody(T0 + 600_000, 100) + cpuBody(T0 + 600_000, 100, 'cpu', 3)], // duplicates in one batch
      ['m,t=a v="text" ' + T0 + '\n'], // not the fast path's shape: points, through the thread too
    ]
    // all in flight at once on the thread (the writer keeps several): they commit in order
    const outcomes = await Promise.all(batches.map((b) => writeBatch(thread, batchOf(b))))
    for (const [i, b] of batches.entries()) assert.deepEqual(outcomes[i], await writeBatch(main, batchOf(b)), `batch ${i}`)
    assert.equal(thread.writeThreadState()?.starts, 1)
    assert.equal(thread.writeThreadState()?.running, true)
    assert.deepEqual(contents(thread), contents(main))
    assert.equal(await count(thread, 'cpu', 'user'), 10 * (100 + 40 + 10) + 2) // distinct timestamps × hosts, and the two head rows
    await thread.close()
    await main.close()
    assert.equal(thread.writeThreadState()?.running, false)
  })

  it('takes a record in the parts it arrived in (cut mid-line), as the joined bytes', async () => {
    const parts = threaded('parts.db')
    const joined = threaded('joined.db')
    const a = Buffer.from(cpuBody(T0, 700))
    const b = Buffer.from(cpuBody(T0 + 100_000, 300, 'mem'))
    // a body as it arrived: three pieces, the cuts inside lines; and a whole record beside it
    const cut = [a.subarray(0, 1001), a.subarray(1001, 20_017), a.subarray(20_017)]
    assert.deepEqual(await parts.writeSpooledLines([cut, b], 'ms'), {merged: 0})
    assert.deepEqual(await joined.writeSpooledLines([a, b], 'ms'), {merged: 0})
    assert.deepEqual(contents(parts), contents(joined))
    assert.equal(await count(parts, 'cpu', 'user'), 700)
    // and on the main thread's connection (no thread): joined there
    const plain = new SqliteStore({path: join(tmp.dir, 'plain.db'), retention: {raw: '3650d'}, autoCompactEvery: 0})
    assert.deepEqual(await plain.writeSpooledLines([cut, b], 'ms'), {merged: 0})
    assert.deepEqual(contents(plain), contents(joined))
    await plain.close()
    await parts.close()
    await joined.close()
  })

  it('a query on the main thread after a write resolves sees its points', async () => {
    const store = threaded('mon.db')
    for (let i = 0; i < 20; i++) {
      await store.writeSpooledLines([Buffer.from(cpuBody(T0 + i * 100_000, 1000))], 'ms')
      assert.equal(await count(store, 'cpu', 'idle'), (i + 1) * 1000, `after write ${i + 1}`)
      assert.deepEqual(await store.measurements(), ['cpu'])
    }
    // points (rules' recorded series, events) go to the running thread as well
    await store.write([{measurement: 'rec', tags: {}, fields: {v: 1.5, n: 3n, u: new UInt(7n), ok: true, s: 'x'}, ts: T0}])
    const frames = await store.query({measurement: 'rec', field: 'u', matchers: [], start: 0, end: T0 * 2})
    assert.deepEqual(frames[0]?.rows, [[T0, 7]])
    assert.deepEqual((await store.fieldKeys('rec')).map((f) => [f.name, f.type]).sort(), [['n', 'integer'], ['ok', 'boolean'], ['s', 'string'], ['u', 'unsigned'], ['v', 'float']])
    await store.close()
  })

  it("the store's errors come back as before: a partial write names the refused points, the writer drops only those", async () => {
    const store = threaded('mon.db')
    const exact = new SqliteStore({path: join(tmp.dir, 'exact.db'), retention: {raw: '3650d'}, autoCompactEvery: 0})
    for (const s of [store, exact]) await writeBatch(s, batchOf([cpuBody(T0, 100)]))
    assert.equal(store.writeThreadState()?.running, true)
    // `user` is stored as float: integers for it are a type conflict
    const conflict = parseLineProtocol(`cpu,host=h1 user=5i ${T0 + 1}\ncpu,host=h1 system=2 ${T0 + 2}\ncpu,host=h2 user=7i ${T0 + 3}\n`, {precision: 'ms'}).points
    const err = await store.write(conflict).then(
      () => undefined,
      (e: unknown) => e,
    )
    const exactErr = await exact.write(conflict).then(
      () => undefined,
      (e: unknown) => e,
    )
    assert.ok(exactErr instanceof PartialWriteError)
    assert.ok(err instanceof PartialWriteError, `a PartialWriteError, got ${String(err)}`)
    assert.equal(err.rejectedPoints, 2)
    assert.deepEqual(err.rejectedIndexes, [0, 2])
    assert.match(err.message, /field type conflict: input field "user" on measurement "cpu" is type integer, already exists as type float/)
    assert.equal(err.hint, exactErr.hint)
    assert.equal(err.message, exactErr.message)
    const body = [`cpu,host=h1 user=5i ${T0 + 10}\ncpu,host=h1 system=2 ${T0 + 11}\n`, `cpu,host=h3 idle=4i ${T0 + 12}\n`]
    assert.deepEqual(await writeBatch(store, batchOf(body)), await writeBatch(exact, batchOf(body)))
    assert.deepEqual(contents(store), contents(exact))
    await store.close()
    await exact.close()
  })

  it('closing commits every write given to the thread first; the file reopens with all of it', async () => {
    const path = join(tmp.dir, 'mon.db')
    const store = new SqliteStore({path, retention: {raw: '3650d'}, autoCompactEvery: 0, writeThread: {startBytes: 0, idleMs: 0}})
    const writes = Array.from({length: 12}, (_, i) => store.writeSpooledLines([Buffer.from(cpuBody(T0 + i * 200_000, 2000))], 'ms'))
    const maintained = store.maintain(T0 + 2_000_000)
    await store.close()
    for (const w of writes) assert.deepEqual(await w, {merged: 0})
    assert.ok((await maintained).rolledUp)
    const reopened = new SqliteStore({path, retention: {raw: '3650d'}, autoCompactEvery: 0})
    assert.equal(await count(reopened, 'cpu', 'user'), 12 * 2000)
    await reopened.close()
  })

  it('stops when idle; the main thread then writes on its own connection and sees what the thread wrote', async () => {
    const timer = new ManualTimer(T0)
    const path = join(tmp.dir, 'mon.db')
    const store = new SqliteStore({path, clock: timer, retention: {raw: '3650d'}, autoCompactEvery: 0, writeThread: {startBytes: 10_000, idleMs: 60_000, timer}})
    const line = (t: number, v: number) => `m,t=a v=${v} ${t}\n`
    const run = (from: number, n: number, v: number) => Array.from({length: n}, (_, i) => line(from + i * 1000, v)).join('')
    // small: on the main thread, which now knows the series field ends at T0 + 19 s
    await store.writeSpooledLines([Buffer.from(run(T0, 20, 1))], 'ms')
    assert.equal(store.writeThreadState()?.starts, 0)
    // bulk: the thread writes later points of the same series field
    await store.writeSpooledLines([Buffer.from(run(T0 + 100_000, 500, 2))], 'ms')
    assert.deepEqual(store.writeThreadState(), {running: true, starts: 1})
    await timer.advance(60_000)
    for (let i = 0; i < 200 && store.writeThreadState()?.running; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(store.writeThreadState()?.running, false, 'stopped after idleMs without a write')
    // small again, between the thread's points: the main connection must not take it for an append
    await store.writeSpooledLines([Buffer.from(run(T0 + 120_000, 10, 3))], 'ms')
    assert.equal(store.writeThreadState()?.starts, 1)
    const chunks = store.database.prepare('SELECT t_start, t_end FROM chunks ORDER BY t_start').all() as Array<{t_start: number; t_end: number}>
    for (let i = 1; i < chunks.length; i++) assert.ok(chunks[i]!.t_start > chunks[i - 1]!.t_end, `chunks overlap: ${JSON.stringify(chunks)}`)
    const rows = (await store.query({measurement: 'm', field: 'v', matchers: [], start: T0 - 1000, end: T0 * 2})).flatMap((f) => f.rows)
    assert.equal(rows.length, 520)
    const at = (t: number) => rows.find((r) => r[0] === t)?.[1]
    assert.equal(at(T0 + 119_000), 2)
    assert.equal(at(T0 + 125_000), 3)
    assert.equal(at(T0 + 130_000), 2)
    // bulk once more: a new thread, which sees the main thread's write
    await store.writeSpooledLines([Buffer.from(run(T0 + 125_000, 500, 4))], 'ms')
    assert.equal(store.writeThreadState()?.starts, 2)
    const after = (await store.query({measurement: 'm', field: 'v', matchers: [], start: T0 - 1000, end: T0 * 2})).flatMap((f) => f.rows)
    assert.equal(after.length, 20 + 525)
    assert.equal(after.find((r) => r[0] === T0 + 125_000)?.[1], 4)
    assert.equal(after.find((r) => r[0] === T0 + 120_000)?.[1], 3)
    assert.equal(after.find((r) => r[0] === T0 + 620_000)?.[1], 4)
    await store.close()
  })
})
