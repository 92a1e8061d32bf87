/**
 * A large range query made by two threads: the daemon's main thread and a worker_thread
 * (json-worker.ts) each do about half of the per-series work, the way VictoriaMetrics spreads it
 * over its cores:
 * - the store's aggregate read (the pushed-down 1-min means): the main thread reads every chunk
 *   row and blob in the query's transaction, hands the later groups to the thread in shared memory
 *   and accumulates the first ones meanwhile, then waits for the thread's columns (Atomics.wait:
 *   the read is synchronous) — {@link MatrixJsonThread.accumulate}, through accumulate.ts'
 *   GroupHelper;
 * - the JSON answer: the main thread writes the first series while the thread writes the rest into
 *   shared memory, copied in behind the main thread's part — {@link MatrixJsonThread.matrix}.
 * Each group and series is the same work in the same order on either side (accumulate.ts'
 * accumulateGroup, prom-json.ts' writeMatrixSeries), so the answer is byte for byte the one of
 * one thread. Why: on one core the decoding and the JSON were each a fifth to a quarter of a day
 * at 1 min × 10 series (14,400 values, 0.45 MB), and a machine serving dashboards has more cores.
 *
 * The thread starts with the first answer of at least {@link JsonThreadOptions.minSamples} values
 * (that answer and the next ones until it is ready are made on the main thread alone) and stops
 * after {@link JsonThreadOptions.idleMs} without one: an idle daemon runs no thread (a V8 isolate
 * of its own is ~10 MiB resident). One request at a time uses it; one made meanwhile (requests at
 * the same time) runs on the main thread alone, and so do answers for a while after the thread fell
 * behind (another process had the second core: the main thread waited longer for the thread's
 * part than its own took, and would have been faster alone). The JSON the thread fails to write
 * (an error it threw, or the thread gone) is an error of that request; a group it fails to
 * accumulate is accumulated again on the main thread, which meets the same error.
 */
import {createRequire} from 'node:module'
import type {Worker} from 'node:worker_threads'
import {StepSeries, type RangeSeries} from '../query/eval/engine.js'
import type {Labels} from '../query/eval/series.js'
import {IdleTimer, systemTimer, type Timer} from '../scheduler/timer.js'
import {bucketSlots, packGroups, type AccumulatePlan, type GroupHelper, type SeriesInput} from '../store/sqlite/accumulate.js'
import {deserializeError, type SerializedError} from '../store/sqlite/write-thread.js'
import {JsonBytes, matrixHead, matrixJsonBytes, matrixSize, matrixTail, writeMatrixSeries} from './prom-json.js'

export interface JsonThreadOptions {
  /** answers of fewer values than this are written on the main thread alone (default 5,000: ~0.15 MB of JSON, ~0.5 ms to write) */
  minSamples?: number
  /** the thread stops after this long (ms) without an answer to write; 0 keeps it until close (default 30 s) */
  idleMs?: number
  timer?: Timer
  /**
   * How far behind the thread may fall before answers are written alone for a while: the main
   * thread's wait for the thread's part over the time it took for its own (an average). The thread
   * is behind when another process has the second core; it is then slower than writing alone.
   * Default 1; Infinity: never (tests, which must not depend on timing).
   */
  lagLimit?: number
}

/**
 * main → thread: step series to write, each after a comma, into `out`. Their columns are in
 * `input` (structured cloning of typed arrays cost ~0.2 ms a request, a copy into shared memory
 * ~10 µs): series i's n values (Float64) at byte `at`, then its n present flags.
 */
export interface JsonRequest {
  kind: 'json'
  id: number
  series: Array<{labels: Labels; start: number; step: number; n: number; at: number}>
  input: SharedArrayBuffer
  out: SharedArrayBuffer
}

/**
 * main → thread: groups of an aggregate read to accumulate (accumulate.ts). Group j's bucket count
 * goes to out[j × (1 + 2 × slots)], its times and values after it (`slots` each); then `signal[0]`
 * becomes 1 (2 when it threw) and is notified: the main thread waits for it with Atomics.wait
 * (the store's read is synchronous, inside its transaction).
 */
export interface GroupsRequest {
  kind: 'groups'
  plan: AccumulatePlan
  /** the groups, packed (accumulate.ts' packGroups) */
  input: SharedArrayBuffer
  slots: number
  out: SharedArrayBuffer
  signal: SharedArrayBuffer
}

/** thread → main: `length` bytes in `out`, or (when they did not fit) the bytes themselves; `ready` once it has loaded */
export type JsonReply = {ready: true} | {id: number; ok: true; length: number; bytes?: Uint8Array} | {id: number; ok: false; error: SerializedError}

export const JSON_THREAD_MIN_SAMPLES = 5_000
export const JSON_THREAD_IDLE_MS = 30_000
/** the main thread's share of the values: it also copies the thread's part in (and sends the answer) */
const MAIN_SHARE = 0.5
/** an aggregate read's fewest points to decode worth handing groups of to the thread */
export const JSON_THREAD_MIN_POINTS = 20_000
/** how long the main thread waits for the thread's groups (~1 ms of work) before it accumulates them itself */
const GROUPS_WAIT_MS = 2_000
/** answers written alone once the thread fell behind, before it is tried again */
const LAG_BACKOFF = 50

interface Waiting {
  resolve: (reply: {length: number; bytes?: Uint8Array}) => void
  reject: (err: Error) => void
}

export class MatrixJsonThread implements GroupHelper {
  readonly minPoints = JSON_THREAD_MIN_POINTS
  private readonly minSamples: number
  private readonly lagLimit: number
  /** the main thread's waits over its own part's time, averaged (see {@link JsonThreadOptions.lagLimit}) */
  private lag = 0
  /** answers still to write alone after the thread fell behind */
  private skip = 0
  /** how many times it fell behind (status, tests) */
  behind = 0
  private worker?: Worker
  private ready = false
  /** who waits for the running thread to be ready ({@link start}) */
  private readyWaiters: Array<(ok: boolean) => void> = []
  private waiting?: Waiting & {id: number}
  private out?: SharedArrayBuffer
  /** stops the thread after idleMs without work */
  private readonly idle: IdleTimer
  private nextId = 1
  private closed = false
  /** why the thread could not start: answers are written on the main thread alone */
  failed?: string
  /** how many times the thread was started, how many answers it helped write, how many aggregate reads it helped accumulate (status, tests) */
  starts = 0
  shared = 0
  helped = 0
  /** the shared memory of the last groups the thread answered (used again; not one it may still write into) */
  private groupsOut?: SharedArrayBuffer
  /** what the thread reads (one request at a time; not used again after one it may still read) */
  private input?: SharedArrayBuffer

  constructor(opts: JsonThreadOptions = {}) {
    this.minSamples = opts.minSamples ?? JSON_THREAD_MIN_SAMPLES
    this.idle = new IdleTimer(opts.timer ?? systemTimer, opts.idleMs ?? JSON_THREAD_IDLE_MS, () => {
      if (!this.waiting) void this.stop().catch(() => {})
    })
    this.lagLimit = opts.lagLimit ?? 1
  }

  get running(): boolean {
    return this.worker !== undefined
  }

  /**
   * matrixJsonBytes(series, head, tail, into): the same bytes, the later series written by the
   * thread when it runs and the answer is large enough.
   */
  async matrix(series: readonly RangeSeries[], head: string, tail: string, into?: JsonBytes): Promise<Buffer> {
    const split = this.splitOf(series)
    if (split === undefined) return matrixJsonBytes(series, head, tail, into)
    const part = this.write(series.slice(split) as StepSeries[], matrixSize(series, split))
    // awaited below, unless the main thread's part throws first
    part.catch(() => {})
    const t0 = performance.now()
    const w = matrixHead(series, head, tail, into)
    writeMatrixSeries(w, series, 0, split, true)
    const t1 = performance.now()
    const {length, bytes} = await part
    this.timed(t1 - t0, performance.now() - t1)
    w.room(length)
    w.buf.set(bytes ?? new Uint8Array(this.out!, 0, length), w.pos)
    w.pos += length
    return matrixTail(w, tail)
  }

  /** Where the thread's part begins, or undefined to write the answer on the main thread alone (starting the thread for the next ones when it is worth it). */
  private splitOf(series: readonly RangeSeries[]): number | undefined {
    if (series.length < 2 || this.closed || this.failed !== undefined) return undefined
    let samples = 0
    for (const s of series) {
      if (!(s instanceof StepSeries)) return undefined
      samples += s.values.length
    }
    if (samples < this.minSamples) return undefined
    if (!this.worker) this.spawn()
    if (!this.ready || this.waiting) return undefined
    if (this.skip > 0) {
      this.skip--
      return undefined
    }
    // the first series up to about the main thread's share, and at least one for each
    let split = 0
    for (let mine = 0; split < series.length - 1 && mine + (series[split] as StepSeries).values.length / 2 <= samples * MAIN_SHARE; split++) mine += (series[split] as StepSeries).values.length
    return Math.max(1, split)
  }

  /** Series written by the thread (each after a comma): the bytes' length in `out`, or the bytes. */
  private write(series: StepSeries[], size: number): Promise<{length: number; bytes?: Uint8Array}> {
    const worker = this.worker!
    if (!this.out || this.out.byteLength < size) this.out = new SharedArrayBuffer(Math.max(1 << 20, Math.ceil(size * 1.25)))
    let bytes = 0
    for (const s of series) bytes += Math.ceil((s.values.length * 9) / 8) * 8
    if (!this.input || this.input.byteLength < bytes) this.input = new SharedArrayBuffer(Math.max(1 << 16, Math.ceil(bytes * 1.25)))
    const input = this.input
    const parts: JsonRequest['series'] = []
    let at = 0
    for (const s of series) {
      const n = s.values.length
      new Float64Array(input, at, n).set(s.values)
      new Uint8Array(input, at + n * 8, n).set(s.present)
      parts.push({labels: s.labels, start: s.start, step: s.step, n, at})
      at += Math.ceil((n * 9) / 8) * 8
    }
    const id = this.nextId++
    this.idle.clear()
    worker.ref()
    this.shared++
    return new Promise((resolve, reject) => {
      this.waiting = {id, resolve, reject}
      const req: JsonRequest = {kind: 'json', id, out: this.out!, input, series: parts}
      worker.postMessage(req)
    })
  }

  /**
   * GroupHelper: the groups marked `theirs` accumulated by the thread while `mine()` runs here,
   * when the thread is ready and not writing an answer; blocks until it is done (the store's read
   * is synchronous). A group it could not do (it threw, or took too long) is left out of the
   * answer: the caller accumulates it itself, so an error is thrown where it would have been.
   */
  accumulate(q: AccumulatePlan, groups: ReadonlyArray<readonly SeriesInput[]>, theirs: readonly boolean[], mine: () => void): Map<number, {ts: Float64Array; values: Float64Array}> | undefined {
    const worker = this.worker
    if (!worker || !this.ready || this.waiting || this.closed || this.skip > 0) return undefined
    const picked: number[] = []
    for (let i = 0; i < groups.length; i++) if (theirs[i]) picked.push(i)
    const slots = bucketSlots(q)
    const stride = 1 + 2 * slots
    const bytes = 8 * stride * picked.length
    const out = this.groupsOut && this.groupsOut.byteLength >= bytes ? this.groupsOut : new SharedArrayBuffer(bytes)
    this.groupsOut = undefined
    const signal = new Int32Array(new SharedArrayBuffer(4))
    const input = (this.input = packGroups(
      picked.map((i) => groups[i]!),
      this.input,
    ))
    const req: GroupsRequest = {kind: 'groups', plan: {start: q.start, end: q.end, every: q.every, offset: q.offset, aggregate: q.aggregate}, input, slots, out, signal: signal.buffer as SharedArrayBuffer}
    worker.postMessage(req)
    this.idle.clear()
    this.helped++
    const t0 = performance.now()
    try {
      mine()
    } finally {
      // the thread is done before this returns or throws: nothing writes into `out` after
      const t1 = performance.now()
      const state = Atomics.wait(signal, 0, 0, GROUPS_WAIT_MS)
      this.timed(t1 - t0, performance.now() - t1)
      if (state !== 'timed-out') this.groupsOut = out
      else {
        this.input = undefined
        void this.stop().catch(() => {})
      }
      if (this.worker) this.idle.arm()
    }
    const done = new Map<number, {ts: Float64Array; values: Float64Array}>()
    if (Atomics.load(signal, 0) !== 1) return done
    const f = new Float64Array(out)
    for (let j = 0; j < picked.length; j++) {
      const at = j * stride
      const n = f[at]!
      done.set(picked[j]!, {ts: f.slice(at + 1, at + 1 + n), values: f.slice(at + 1 + slots, at + 1 + slots + n)})
    }
    return done
  }

  /** One part's times: the main thread's own (ms) and its wait for the thread's after it. */
  private timed(own: number, waited: number): void {
    this.lag = 0.75 * this.lag + 0.25 * (waited / Math.max(own, 0.05))
    if (this.lag <= this.lagLimit) return
    this.lag = 0
    this.skip = LAG_BACKOFF
    this.behind++
  }

  /** Starts the thread now (it otherwise starts with a large answer); resolves once it is ready to write, false if it could not start. */
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
    this.gone(worker, new Error('the JSON thread was stopped before it answered'))
    await worker.terminate()
  }

  private spawn(): void {
    // loaded now, not with this module: node:worker_threads costs ~1.6 MiB resident, which an
    // idle daemon (that never starts the thread) should not pay
    const {Worker} = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')
    const worker = new Worker(new URL('./json-worker.js', import.meta.url))
    this.worker = worker
    this.ready = false
    this.starts++
    // an idle thread never keeps the process alive
    worker.unref()
    worker.on('message', (reply: JsonReply) => this.settle(worker, reply))
    worker.on('error', (err) => this.gone(worker, err))
    worker.on('exit', (code) => this.gone(worker, new Error(`the JSON thread exited (code ${code}) before answering`)))
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
    const w = this.waiting
    this.waiting = undefined
    w?.reject(err)
    for (const r of this.readyWaiters.splice(0)) r(false)
  }

  private settle(worker: Worker, reply: JsonReply): void {
    if (this.worker !== worker) return
    if ('ready' in reply) {
      this.ready = true
      this.idle.arm()
      for (const r of this.readyWaiters.splice(0)) r(true)
      return
    }
    const w = this.waiting
    if (!w || w.id !== reply.id) return
    this.waiting = undefined
    worker.unref()
    this.idle.arm()
    if (reply.ok) w.resolve({length: reply.length, bytes: reply.bytes})
    else w.reject(deserializeError(reply.error))
  }

}

