/**
 * A large range query made by two threads: the daemon's main thread and a worker_thread
 * (json-worker.ts) share the per-series work, the way VictoriaMetrics spreads it over its cores:
 * - the store's aggregate read (the pushed-down 1-min means): the main thread reads every chunk
 *   row and blob in the query's transaction and puts the groups in shared memory; then both
 *   accumulate groups — {@link MatrixJsonThread.accumulate}, through accumulate.ts' GroupHelper;
 * - the JSON answer: both write series into regions of a shared answer, which the main thread
 *   copies in order into the answer it sends — {@link MatrixJsonThread.matrix}.
 * Each takes the next item not taken yet from a shared counter (Atomics.add), so neither waits for
 * work the other has not begun: a thread that comes late — its core busy with another process, or
 * just waking (0.1–0.5 ms on a busy machine, past 2 ms now and then) — takes fewer items, or none,
 * and the main thread only ever waits for an item the other is in the middle of. Each group and
 * series is the same work on either side (accumulate.ts' accumulateGroup, prom-json.ts'
 * writeMatrixSeries), so the answer is byte for byte the one of one thread. Why: on one core the
 * decoding and the JSON were each a fifth to a third of a day at 1 min × 10 series (14,400
 * values, 0.45 MB), and a machine serving dashboards has more cores.
 *
 * The thread starts with the first answer of at least {@link JsonThreadOptions.minSamples} values
 * (that answer and the next ones until it is ready are made on the main thread alone) and stops
 * after {@link JsonThreadOptions.idleMs} without one: an idle daemon runs no thread (a V8 isolate
 * of its own is ~10 MiB resident). A series or group the thread fails on is done again on the main
 * thread, which meets the same error; one it does not finish within 2 s (the thread stuck or gone)
 * is done on the main thread too, and the thread is stopped (the next large answer starts another).
 */
import {createRequire} from 'node:module'
import type {Worker} from 'node:worker_threads'
import {StepSeries, type RangeSeries} from '../query/eval/engine.js'
import type {Labels} from '../query/eval/series.js'
import {IdleTimer, systemTimer, type Timer} from '../scheduler/timer.js'
import {inflateCacheLimit} from '../store/inflated.js'
import {bucketSlots, packGroups, type AccumulatePlan, type GroupHelper, type SeriesInput} from '../store/sqlite/accumulate.js'
import {JsonBytes, matrixHead, matrixJsonBytes, matrixTail, writeMatrixSeries} from './prom-json.js'

export interface JsonThreadOptions {
  /** answers of fewer values than this are written on the main thread alone (default 5,000: ~0.15 MB of JSON, ~0.5 ms to write) */
  minSamples?: number
  /** the thread stops after this long (ms) without work; 0 keeps it until close (default 30 s) */
  idleMs?: number
  timer?: Timer
  /** tests: the main thread takes no item, the thread does them all (the main thread only waits) */
  threadOnly?: boolean
}

/**
 * main → thread: step series to write, taken in turn with the main thread (`control`, see
 * {@link Shared}). Their columns are in `input` (structured cloning of typed arrays cost ~0.2 ms
 * a request, a copy into shared memory ~10 µs): series i's n values (Float64) at byte `at`, then
 * its n present flags; series i's JSON (after a comma unless it is the first) goes into `out` at
 * `region`, at most `room` bytes.
 */
export interface JsonRequest {
  kind: 'json'
  series: Array<{labels: Labels; start: number; step: number; n: number; at: number; region: number; room: number}>
  input: SharedArrayBuffer
  out: SharedArrayBuffer
  control: SharedArrayBuffer
}

/**
 * main → thread: groups of an aggregate read to accumulate, taken in turn with the main thread
 * (`control`, see {@link Shared}): group j's bucket count goes to out[j × (1 + 2 × slots)], its
 * times and values after it (`slots` each).
 */
export interface GroupsRequest {
  kind: 'groups'
  plan: AccumulatePlan
  /** the groups, packed (accumulate.ts' packGroups) */
  input: SharedArrayBuffer
  slots: number
  out: SharedArrayBuffer
  control: SharedArrayBuffer
}

/** thread → main: once it has loaded */
export type JsonReply = {ready: true}

/**
 * The shared control of one request's items (series or groups), Int32: [0] the next item to take
 * (Atomics.add: whichever thread gets i < count does item i), then per item its state — 0 not
 * done, {@link DONE}, {@link FAILED} (the main thread does it again and meets the error there),
 * {@link OVERFLOW} (a series longer than its region) — then per item its length in bytes (JSON).
 * A new one per request: a thread that comes late to a request already answered takes nothing
 * from it, and cannot take from the next.
 */
export const NEXT = 0
export const DONE = 1
export const FAILED = 2
export const OVERFLOW = 3

export const JSON_THREAD_MIN_SAMPLES = 5_000
export const JSON_THREAD_IDLE_MS = 30_000
/** an aggregate read's fewest points to decode worth sharing with the thread */
export const JSON_THREAD_MIN_POINTS = 20_000
/** how long the main thread waits for an item the thread took (~0.1–0.3 ms of work) before it gives the thread up */
const ITEM_WAIT_MS = 2_000
/** how long it checks for it before it sleeps (a sleeping thread wakes ~0.1–0.5 ms late on a busy machine) */
const ITEM_SPIN_MS = 0.5
/** room for a series' JSON in the shared answer: its labels and `{"metric":…,"values":[` … `]}`, and per value */
const SERIES_ROOM = 1024
const PAIR_ROOM = 48

export class MatrixJsonThread implements GroupHelper {
  readonly minPoints = JSON_THREAD_MIN_POINTS
  private readonly minSamples: number
  private readonly threadOnly: boolean
  private worker?: Worker
  private ready = false
  /** who waits for the running thread to be ready ({@link start}) */
  private readyWaiters: Array<(ok: boolean) => void> = []
  /** stops the thread after idleMs without work */
  private readonly idle: IdleTimer
  private closed = false
  /** why the thread could not start: answers are written on the main thread alone */
  failed?: string
  /**
   * how many times the thread was started; answers and aggregate reads it was offered; series and
   * groups it did (status, tests)
   */
  starts = 0
  shared = 0
  helped = 0
  took = 0
  /** series longer than their region of the shared answer, written again here */
  overflowed = 0
  /** shared memory used again from request to request (never one the thread may still be using: dropped then) */
  private input?: SharedArrayBuffer
  private out?: SharedArrayBuffer
  private groupsOut?: SharedArrayBuffer

  constructor(opts: JsonThreadOptions = {}) {
    this.minSamples = opts.minSamples ?? JSON_THREAD_MIN_SAMPLES
    this.threadOnly = opts.threadOnly ?? false
    this.idle = new IdleTimer(opts.timer ?? systemTimer, opts.idleMs ?? JSON_THREAD_IDLE_MS, () => void this.stop().catch(() => {}))
  }

  get running(): boolean {
    return this.worker !== undefined
  }

  /** The thread, when it can take part now (starting it for the next requests when it is not running). */
  private helper(): Worker | undefined {
    if (this.closed || this.failed !== undefined) return undefined
    if (!this.worker) this.spawn()
    return this.ready ? this.worker : undefined
  }

  /**
   * matrixJsonBytes(series, head, tail, into): the same bytes, the series written by both threads
   * when the thread runs and the answer is large enough — each takes the next series not taken
   * yet, so a thread that comes late (its core busy) takes fewer, and the main thread never waits
   * but for a series the other is writing.
   */
  async matrix(series: readonly RangeSeries[], head: string, tail: string, into?: JsonBytes): Promise<Buffer> {
    if (!this.worthSharing(series)) return matrixJsonBytes(series, head, tail, into)
    const worker = this.helper()
    if (!worker) return matrixJsonBytes(series, head, tail, into)
    const n = series.length
    const steps = series as readonly StepSeries[]
    // the columns, and a region of the shared answer per series
    let inputBytes = 0
    let outBytes = 0
    for (const s of steps) {
      inputBytes += Math.ceil((s.values.length * 9) / 8) * 8
      outBytes += SERIES_ROOM + s.values.length * PAIR_ROOM
    }
    if (!this.input || this.input.byteLength < inputBytes) this.input = new SharedArrayBuffer(Math.max(1 << 16, Math.ceil(inputBytes * 1.25)))
    if (!this.out || this.out.byteLength < outBytes) this.out = new SharedArrayBuffer(Math.max(1 << 20, Math.ceil(outBytes * 1.25)))
    const input = this.input
    const out = this.out
    const parts: JsonRequest['series'] = []
    let at = 0
    let region = 0
    for (const s of steps) {
      const count = s.values.length
      new Float64Array(input, at, count).set(s.values)
      new Uint8Array(input, at + count * 8, count).set(s.present)
      const room = SERIES_ROOM + count * PAIR_ROOM
      parts.push({labels: s.labels, start: s.start, step: s.step, n: count, at, region, room})
      at += Math.ceil((count * 9) / 8) * 8
      region += room
    }
    const control = new Int32Array(new SharedArrayBuffer(4 * (1 + 2 * n)))
    // the thread may still write into these after a throw
    const drop = () => (this.input = this.out = undefined)
    this.shared++
    const mine = this.takeTurns(worker, {kind: 'json', series: parts, input, out, control: control.buffer as SharedArrayBuffer} satisfies JsonRequest, control, n, drop, (i) => {
      const state = writeSeriesAt(out, parts[i]!, steps[i]!, i === 0)
      control[1 + n + i] = state.length
      control[1 + i] = state.overflow ? OVERFLOW : DONE
    })
    try {
      const w = matrixHead(series, head, tail, into)
      let gone = false
      for (let i = 0; i < n; i++) {
        const state = mine[i] ? control[1 + i]! : gone ? 0 : this.waitFor(control, 1 + i)
        if (state === 0) gone = true
        if (state === DONE) {
          if (!mine[i]) this.took++
          const length = control[1 + n + i]!
          w.room(length)
          w.buf.set(new Uint8Array(out, parts[i]!.region, length), w.pos)
          w.pos += length
        } else {
          // failed in the thread, too long for its region, or the thread gone: written here
          if (state === OVERFLOW) this.overflowed++
          writeMatrixSeries(w, series, i, i + 1, i === 0)
        }
      }
      if (gone) drop()
      return matrixTail(w, tail)
    } catch (error) {
      drop()
      throw error
    }
  }

  /**
   * GroupHelper: the groups accumulated by both threads, each taking the next group not taken yet
   * (`mine(i)` does group i here); the thread's columns by group, or undefined when it cannot take
   * part (not running, stopped). A group the thread failed on (or did not finish: it is then
   * stopped) is left out: the caller accumulates it, and meets its error where it would alone.
   */
  accumulate(q: AccumulatePlan, groups: ReadonlyArray<readonly SeriesInput[]>, mine: (i: number) => void): Map<number, {ts: Float64Array; values: Float64Array}> | undefined {
    const worker = this.helper()
    if (!worker) return undefined
    const n = groups.length
    const slots = bucketSlots(q)
    const stride = 1 + 2 * slots
    const bytes = 8 * stride * n
    const out = this.groupsOut && this.groupsOut.byteLength >= bytes ? this.groupsOut : new SharedArrayBuffer(bytes)
    this.groupsOut = undefined
    const input = (this.input = packGroups(groups, this.input))
    const control = new Int32Array(new SharedArrayBuffer(4 * (1 + n)))
    const plan: AccumulatePlan = {start: q.start, end: q.end, every: q.every, offset: q.offset, aggregate: q.aggregate}
    this.helped++
    // after a throw the thread may still be reading and writing these
    const ours = this.takeTurns(worker, {kind: 'groups', plan, input, slots, out, control: control.buffer as SharedArrayBuffer} satisfies GroupsRequest, control, n, () => (this.input = undefined), mine)
    const done = new Map<number, {ts: Float64Array; values: Float64Array}>()
    const f = new Float64Array(out)
    let gone = false
    for (let i = 0; i < n; i++) {
      if (ours[i]) continue
      const state = gone ? 0 : this.waitFor(control, 1 + i)
      if (state === 0) gone = true
      if (state !== DONE) continue
      this.took++
      const at = i * stride
      const count = f[at]!
      done.set(i, {ts: f.slice(at + 1, at + 1 + count), values: f.slice(at + 1 + slots, at + 1 + slots + count)})
    }
    if (!gone) this.groupsOut = out
    else this.input = undefined
    return done
  }

  /** The next item for the main thread (none under {@link JsonThreadOptions.threadOnly}). */
  private take(control: Int32Array): number {
    return this.threadOnly ? Number.POSITIVE_INFINITY : Atomics.add(control, NEXT, 1)
  }

  /** Whether an answer is large enough, and all step series. */
  private worthSharing(series: readonly RangeSeries[]): boolean {
    if (series.length < 2) return false
    let samples = 0
    for (const s of series) {
      if (!(s instanceof StepSeries)) return false
      samples += s.values.length
    }
    return samples >= this.minSamples
  }

  /**
   * The state of an item the thread took, once it is not 0: checked for {@link ITEM_SPIN_MS}, then
   * slept on; 0 when the thread did not finish it in {@link ITEM_WAIT_MS} (it is stopped then).
   */
  private waitFor(control: Int32Array, at: number): number {
    let state = Atomics.load(control, at)
    if (state !== 0) return state
    const until = performance.now() + ITEM_SPIN_MS
    while ((state = Atomics.load(control, at)) === 0 && performance.now() < until) {
      // the thread is writing it: a few µs to a few hundred
    }
    if (state !== 0) return state
    Atomics.wait(control, at, 0, ITEM_WAIT_MS)
    state = Atomics.load(control, at)
    if (state === 0) void this.stop().catch(() => {})
    return state
  }

  /**
   * Sends the thread a request of `n` items and takes items in turn with it (`item(i)` for each
   * this thread gets, {@link take}); which ones it took. When `item` throws, `drop()` forgets the
   * shared memory the thread may still be using.
   */
  private takeTurns(worker: Worker, request: JsonRequest | GroupsRequest, control: Int32Array, n: number, drop: () => void, item: (i: number) => void): Uint8Array {
    worker.postMessage(request)
    this.idle.clear()
    const mine = new Uint8Array(n)
    try {
      for (let i = this.take(control); i < n; i = this.take(control)) {
        mine[i] = 1
        item(i)
      }
    } catch (error) {
      drop()
      throw error
    } finally {
      if (this.worker) this.idle.arm()
    }
    return mine
  }

  /** Starts the thread now (it otherwise starts with a large answer); resolves once it is ready, false if it could not start. */
  start(): Promise<boolean> {
    if (this.closed || this.failed !== undefined) return Promise.resolve(false)
    if (!this.worker) this.spawn()
    if (this.ready) return Promise.resolve(true)
    return new Promise((resolve) => this.readyWaiters.push(resolve))
  }

  /** Stops the thread for good: answers are written on the main thread alone. */
  async close(): Promise<void> {
    this.closed = true
    await this.stop()
  }

  /** Stops the thread (the next large answer starts it again). */
  async stop(): Promise<void> {
    const worker = this.worker
    if (!worker) return
    this.gone(worker, new Error('the JSON thread was stopped'))
    await worker.terminate()
  }

  private spawn(): void {
    // loaded now, not with this module: node:worker_threads costs ~1.6 MiB resident, which an
    // idle daemon (that never starts the thread) should not pay
    const {Worker} = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')
    const worker = new Worker(new URL('./json-worker.js', import.meta.url), {workerData: {chunkCacheBytes: inflateCacheLimit()}})
    this.worker = worker
    this.ready = false
    this.starts++
    // an idle thread never keeps the process alive
    worker.unref()
    worker.on('message', (reply: JsonReply) => this.settle(worker, reply))
    worker.on('error', (err) => this.gone(worker, err))
    worker.on('exit', (code) => this.gone(worker, new Error(`the JSON thread exited (code ${code})`)))
  }

  private gone(worker: Worker, err: Error): void {
    if (this.worker !== worker) return
    // one that never got ready cannot start here (its script): not again
    if (!this.ready) this.failed = err.message
    this.worker = undefined
    this.ready = false
    // a thread that is gone may not have finished reading or writing these
    this.out = undefined
    this.input = undefined
    this.groupsOut = undefined
    this.idle.clear()
    for (const r of this.readyWaiters.splice(0)) r(false)
  }

  private settle(worker: Worker, reply: JsonReply): void {
    if (this.worker !== worker || !('ready' in reply)) return
    this.ready = true
    this.idle.arm()
    for (const r of this.readyWaiters.splice(0)) r(true)
  }
}

/**
 * Series i's JSON (after a comma unless it is the first) into its region of the shared answer:
 * its length, and whether it did not fit (then it is written again into the answer itself).
 * Both threads write a series with this (json-worker.ts too).
 */
export function writeSeriesAt(out: SharedArrayBuffer, part: JsonRequest['series'][number], series: StepSeries, first: boolean): {length: number; overflow: boolean} {
  const region = Buffer.from(out, part.region, part.room)
  const w = new JsonBytes(0, region)
  writeMatrixSeries(w, [series], 0, 1, first)
  // room() moved to a buffer of its own when the region ran out
  return {length: w.pos, overflow: w.buf !== region}
}
