import assert from 'node:assert/strict'
import {afterEach, beforeEach, describe, it} from 'node:test'
import {InputError} from '../../src/core/errors.js'
import {loggerFrom} from '../../src/core/log.js'
import type {Point} from '../../src/core/model/point.js'
import {Batcher, toLineProtocol} from '../../src/core/pipeline/batcher.js'
import {Spool} from '../../src/core/pipeline/spool.js'
import {isPermanentWriteError, Writer} from '../../src/core/pipeline/writer.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import type {Frame, Store} from '../../src/core/store/types.js'
import {tempDir} from '../helpers/servers.js'
import {join} from 'node:path'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'

/** A store that fails the way it is told to, and remembers what it was given. */
class ScriptedStore implements Store {
  readonly kind = 'scripted'
  written: Point[] = []
  calls = 0
  failures: unknown[] = []
  async write(points: Point[]): Promise<void> {
    this.calls++
    const f = this.failures.shift()
    if (f) throw f
    this.written.push(...points)
  }
  async query(): Promise<Frame[]> {
    return []
  }
  async close(): Promise<void> {}
}

let tmp: ReturnType<typeof tempDir>
let timer: ManualTimer
let spool: Spool
beforeEach(() => {
  tmp = tempDir('mon-writer-')
  timer = new ManualTimer(1_700_000_000_000)
  spool = Spool.open({dir: tmp.dir, maxBytes: 1 << 30, segmentBytes: 1 << 20, fsync: 'never', clock: timer})
})
afterEach(async () => {
  await spool.close()
  tmp.cleanup()
})

/** Real file I/O happens between the manual timer's steps: wait for it. */
async function until(cond: () => boolean): Promise<void> {
  for (let i = 0; i < 500 && !cond(); i++) await new Promise((r) => setTimeout(r, 2))
  assert.ok(cond(), 'condition never became true')
}

const pts = (n: number, m = 'm'): Point[] => Array.from({length: n}, (_, i) => ({measurement: m, tags: {i: String(i)}, fields: {v: i}, ts: 1000 + i}))
const append = (n: number, input = 'host') => spool.append([{input, points: n, precision: 'ms', payload: toLineProtocol(pts(n)).text}])

describe('writer', () => {
  it('retries a failing store with growing backoff until it takes the batch, then acknowledges it', async () => {
    const store = new ScriptedStore()
    const down = Object.assign(new Error('connection refused'), {code: 'ECONNREFUSED'})
    store.failures = [down, down, down]
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100, random: () => 1, backoffMs: {initial: 100, max: 1000}})
    w.start()
    await append(10)
    await until(() => store.calls === 1)
    assert.equal(w.stats().storeUp, false)
    await timer.advance(99)
    assert.equal(store.calls, 1, 'waits the first backoff (100 ms)')
    await timer.advance(1)
    assert.equal(store.calls, 2)
    await timer.advance(200)
    assert.equal(store.calls, 3, 'then 200 ms')
    await timer.advance(400)
    assert.equal(store.calls, 4, 'then 400 ms, and it succeeds')
    assert.equal(store.written.length, 10)
    assert.equal(spool.backlog().records, 0)
    const s = w.stats()
    assert.equal(s.storeUp, true)
    assert.equal(s.errors, 3)
    assert.deepEqual(s.writtenByInput, {host: 10})
    await w.stop()
  })

  it('honours Retry-After', async () => {
    const store = new ScriptedStore()
    store.failures = [Object.assign(new Error('slow down'), {status: 429, retryAfterMs: 5000})]
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100, random: () => 1})
    w.start()
    await append(1)
    await until(() => store.calls === 1)
    await timer.advance(4999)
    assert.equal(store.calls, 1)
    await timer.advance(1)
    assert.equal(store.calls, 2)
    await w.stop()
  })

  it('a Retry-After shorter than the backoff does not shorten it (the loop never gives up, so it must not spin)', async () => {
    const store = new ScriptedStore()
    store.failures = [Object.assign(new Error('slow down'), {status: 429, retryAfterMs: 50})]
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100, random: () => 1, backoffMs: {initial: 100, max: 1000}})
    w.start()
    await append(1)
    await until(() => store.calls === 1)
    await timer.advance(50)
    assert.equal(store.calls, 1, 'not after the 50 ms Retry-After')
    await timer.advance(50)
    assert.equal(store.calls, 2, 'after the 100 ms backoff')
    await w.stop()
  })

  it('drops a batch the store rejects for good, counts it, and goes on', async () => {
    const store = new ScriptedStore()
    store.failures = [new InputError('field type conflict')]
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 5})
    w.start()
    await append(5, 'bad')
    await append(5, 'good')
    await until(() => store.written.length === 5)
    assert.equal(spool.status().droppedByInput.bad, 5)
    assert.equal(w.stats().rejectedPoints, 5)
    assert.equal(spool.backlog().records, 0)
    await w.stop()
  })

  it('a point the embedded store refuses is dropped alone and counted for its input; the rest of the batch is stored', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'mon.db')})
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 1000})
    await spool.append([
      {input: 'good', points: 100, precision: 'ms', payload: toLineProtocol(pts(100)).text},
      {input: 'mixed', points: 2, precision: 'ms', payload: 'm,i=x v=1 5000\nm,i=y v="oops" 5001\n'},
    ])
    w.start()
    await until(() => spool.backlog().records === 0)
    await w.stop()
    assert.deepEqual(spool.status().droppedByInput, {mixed: 1})
    assert.equal(w.stats().rejectedPoints, 1)
    assert.equal(w.stats().points, 101)
    assert.deepEqual(w.stats().writtenByInput, {good: 100, mixed: 1})
    const frames = await store.query({measurement: 'm', field: 'v', matchers: [], start: 0, end: 10_000})
    assert.equal(frames.reduce((n, f) => n + f.rows.length, 0), 101)
    await store.close()
  })

  it('classifies errors', () => {
    const table: Array<[unknown, boolean]> = [
      [new InputError('bad'), true],
      [{status: 400}, true],
      [{status: 413}, true],
      [{status: 401}, false],
      [{status: 404}, false],
      [{status: 503}, false],
      [new Error('ECONNREFUSED'), false],
    ]
    for (const [err, permanent] of table) assert.equal(isPermanentWriteError(err), permanent, JSON.stringify(err))
  })

  it('a spool closed under a running writer ends its loop instead of spinning on the closed spool', async () => {
    const store = new ScriptedStore()
    const logged: string[] = []
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100, log: loggerFrom((_level, msg) => logged.push(msg))})
    let closed = false
    let readsAfterClose = 0
    const read = spool.readBatch.bind(spool)
    // counts reads of the closed spool; a spinning writer is made to fail here (it then waits on
    // the manual timer) so that the test fails instead of hanging the event loop
    spool.readBatch = async (...args) => {
      if (closed && ++readsAfterClose > 100) throw new Error('the writer keeps reading a closed spool')
      return read(...args)
    }
    w.start()
    await append(10)
    await until(() => store.written.length === 10)
    closed = true
    await spool.close()
    await new Promise((r) => setImmediate(r))
    assert.ok(readsAfterClose <= 1, `${readsAfterClose} reads of the closed spool`)
    assert.ok(logged.includes('the spool was closed while the writer ran; the writer stops'))
    await w.stop()
  })

  it('a store that reads spooled lines itself gets the bytes, up to 4× batch_size a write; when it declines a batch, the points', async () => {
    const seen: number[] = []
    let decline = false
    const store = Object.assign(new ScriptedStore(), {
      async writeSpooledLines(payloads: readonly Buffer[]): Promise<{merged: number} | undefined> {
        if (decline) return undefined
        seen.push(payloads.reduce((n, p) => n + p.toString().split('\n').filter(Boolean).length, 0))
        return {merged: 2}
      },
    })
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100})
    // a first batch opens the store; then a backlog of 10 records of 100 points each
    await append(100)
    w.start()
    await until(() => spool.backlog().records === 0)
    await w.stop()
    for (let i = 0; i < 10; i++) await append(100)
    w.start()
    await until(() => spool.backlog().records === 0)
    assert.deepEqual(seen, [100, 400, 400, 200])
    assert.equal(store.written.length, 0)
    assert.equal(w.stats().points, 1100)
    assert.equal(w.stats().mergedPoints, 8)
    decline = true
    await append(3)
    await until(() => store.written.length === 3)
    assert.equal(w.stats().points, 1103)
    await w.stop()
  })

  it('a store that takes line protocol gets the records in the parts they were spooled in, with their count of points', async () => {
    const seen: Array<{body: string | Buffer | readonly Buffer[]; entries?: number}> = []
    const store = Object.assign(new ScriptedStore(), {
      async writeLineProtocol(body: string | Buffer | readonly Buffer[], _precision: string, opts?: {entries?: number}): Promise<void> {
        seen.push({body, entries: opts?.entries})
      },
    })
    const parts = [Buffer.from('a v=1 1\nb v='), Buffer.from('2 2\n')]
    await spool.append([{input: 'listener', points: 2, precision: 'ms', payload: parts}])
    await spool.append([{input: 'listener', points: 1, precision: 'ms', payload: [Buffer.from('c v=3 3\n')]}, {input: 'host', points: 1, precision: 'ms', payload: 'd v=4 4\n'}])
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100})
    w.start()
    await until(() => spool.backlog().records === 0)
    await w.stop()
    assert.equal(seen.length, 1)
    const body = seen[0]!.body as readonly Buffer[]
    assert.ok(Array.isArray(body))
    assert.equal(body[0], parts[0], 'the spooled buffers themselves')
    assert.deepEqual(body.map(String), ['a v=1 1\nb v=', '2 2\n', 'c v=3 3\n', 'd v=4 4\n'])
    assert.equal(seen[0]!.entries, 4)
    assert.equal(w.stats().points, 4)
  })

  it('stop leaves unwritten batches in the spool for the next run', async () => {
    const store = new ScriptedStore()
    store.failures = [new Error('down')]
    const w = new Writer({spool, store, clock: timer, timer, batchSize: 100})
    w.start()
    await append(3)
    await until(() => store.calls === 1)
    await w.stop()
    assert.deepEqual(spool.backlog(), {records: 1, points: 3})
    assert.equal(await w.drain(timer.now()), false)
  })
})

describe('batcher', () => {
  it('flushes by time and by size, one record per input', async () => {
    const b = new Batcher({spool, batchSize: 10, flushIntervalMs: 1000, timer})
    const first = b.add('a', pts(3))
    void b.add('b', pts(2))
    await timer.advance(999)
    assert.equal(spool.backlog().records, 0)
    await timer.advance(1)
    await first
    assert.deepEqual(spool.backlog(), {records: 2, points: 5})
    await b.add('a', pts(10)) // size reached: no waiting for the timer
    assert.deepEqual(spool.backlog(), {records: 3, points: 15})
  })

  it('drops and counts points line protocol cannot carry', async () => {
    const b = new Batcher({spool, batchSize: 100, flushIntervalMs: 10, timer})
    const bad: Point = {measurement: 'm', tags: {}, fields: {v: Number.NaN}, ts: 1}
    void b.add('x', [...pts(2), bad])
    await b.flush()
    assert.equal(spool.backlog().points, 2)
    assert.deepEqual(b.stats().invalidByInput, {x: 1})
  })

  it('a full spool (when_full: reject) makes it hold the points and try again; they go in once there is room', async () => {
    const small = Spool.open({dir: join(tmp.dir, 'small'), maxBytes: 16 * 1024, segmentBytes: 4096, fsync: 'never', whenFull: 'reject', clock: timer})
    try {
      const b = new Batcher({spool: small, batchSize: 1_000_000, flushIntervalMs: 100, timer})
      let refusedFill: Promise<void> | undefined
      while (!small.status().full) {
        refusedFill = b.add('fill', pts(20))
        await b.flush()
      }
      assert.equal(b.holding(), true, 'held, not lost')
      const held = b.add('late', pts(5))
      await b.flush()
      assert.deepEqual(b.stats().failedByInput, {})
      // the writer catches up: acknowledged segments are deleted, room appears
      for (let batch = await small.readBatch(1_000_000); batch; batch = await small.readBatch(1_000_000)) small.ack(batch)
      await timer.advance(100)
      await Promise.all([refusedFill, held])
      assert.equal(b.holding(), false)
      assert.equal(small.backlog().points, 25, 'the refused run and the later one')
      assert.equal(small.status().dropped.points, 0)
    } finally {
      await small.close()
    }
  })
})
