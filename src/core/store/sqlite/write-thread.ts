/**
 * The embedded store's write thread: a worker_thread (write-worker.ts) with its own connection to
 * mon.db that takes every write of a {@link SqliteStore} while it runs, so that the process's main
 * thread (the daemon's HTTP, the listener's check, the spool) does not also parse, encode and
 * commit what it takes in. WAL lets the main thread's connection keep answering queries meanwhile:
 * each query is a read transaction that sees every commit made before it began.
 *
 * One write connection at a time: while the thread runs, the store sends it every write (spooled
 * batches, points, maintenance) in the order they were asked for, and writes nothing on its own
 * connection; when it is not running, the store writes on the main thread as before. So the
 * process never competes with itself for SQLite's write lock (no SQLITE_BUSY between its own
 * writes; other processes — `mon write` — still take turns through the busy timeout).
 *
 * The thread starts with the first spooled batch of at least {@link WriteThreadOptions.startBytes}
 * (a sustained push through the listener, not an idle daemon's few hundred points every 10 s: a
 * V8 isolate of its own costs ~10 MiB resident), and stops after {@link
 * WriteThreadOptions.idleMs} without a write. A write resolves only after the thread committed it
 * (the writer acknowledges spool records only then); a thread that fails or exits rejects what it
 * was given (the writer retries it: the points are in the spool).
 */
import {createRequire} from 'node:module'
import {setFlagsFromString} from 'node:v8'
import type {Worker} from 'node:worker_threads'
import type {Clock} from '../../clock.js'
import {InputError, PartialWriteError, UserError, errorMessage} from '../../errors.js'
import type {Point} from '../../model/point.js'
import type {Precision} from '../../model/line-protocol/index.js'
import {IdleTimer, systemTimer, type Timer} from '../../scheduler/timer.js'
import type {MaintenanceReport, WriteOutcome} from '../types.js'

export interface WriteThreadOptions {
  /** a spooled batch of at least this many bytes starts the thread (default 256 KiB) */
  startBytes?: number
  /** the thread stops after this long (ms) without a write; 0 keeps it until the store closes (default 60 s) */
  idleMs?: number
  timer?: Timer
}

/** What the thread opens its store with (the main thread's SqliteStore options that matter to writes). */
export interface WriteThreadStoreConfig {
  path: string
  chunkMax: number
  directMin: number
  autoCompactEvery: number
  retention?: Readonly<Record<string, string>>
  cacheKiB?: number
}

/** main → thread */
export type WriteRequest =
  | {id: number; op: 'lines'; now: number; bytes: SharedArrayBuffer; ends: number[]; precision: Precision}
  | {id: number; op: 'points'; now: number; points: Point[]}
  | {id: number; op: 'maintain'; now: number}
  | {id: number; op: 'close'}

/** thread → main */
export type WriteReply = {id: number; ok: true; value?: unknown} | {id: number; ok: false; error: SerializedError}

/** An error as it crosses the thread boundary: its class by name and the fields the writer reads. */
export interface SerializedError {
  name: string
  message: string
  stack?: string
  hint?: string
  details?: string
  exitCode?: number
  code?: string
  rejectedPoints?: number
  rejectedIndexes?: number[]
}

export function serializeError(err: unknown): SerializedError {
  if (!(err instanceof Error)) return {name: 'Error', message: errorMessage(err)}
  const e = err as Error & Partial<SerializedError>
  return {
    name: e.name,
    message: e.message,
    stack: e.stack,
    hint: e.hint,
    details: e.details,
    exitCode: e.exitCode,
    code: typeof e.code === 'string' ? e.code : undefined,
    rejectedPoints: e instanceof PartialWriteError ? e.rejectedPoints : undefined,
    rejectedIndexes: e instanceof PartialWriteError ? [...e.rejectedIndexes] : undefined,
  }
}

/**
 * The error the thread threw, as the class the writer tells apart (isPermanentWriteError,
 * rejectedPointsOf in pipeline/writer.ts): a partial write stays a partial write, bad input stays
 * an InputError (a dropped batch), anything else (SQLITE_BUSY, a full disk) a plain error (retried).
 */
export function deserializeError(s: SerializedError): Error {
  let err: Error
  if (s.name === 'PartialWriteError') err = new PartialWriteError(s.message, s.rejectedPoints ?? 0, s.rejectedIndexes ?? [], {hint: s.hint, details: s.details})
  else if (s.name === 'InputError' || s.name === 'LocatedError') err = new InputError(s.message, {hint: s.hint, details: s.details})
  else if (s.exitCode !== undefined) err = new UserError(s.message, {hint: s.hint, details: s.details, exitCode: s.exitCode})
  else {
    err = new Error(s.message)
    err.name = s.name
  }
  if (s.code !== undefined) (err as Error & {code?: string}).code = s.code
  if (s.stack) err.stack = s.stack
  return err
}

interface Waiting {
  resolve: (value: unknown) => void
  reject: (err: Error) => void
  /** the shared buffer the request's bytes are in, free again once it is answered */
  shared?: SharedArrayBuffer
}

/**
 * Shared buffers for the bytes of spooled batches, used again and again: a buffer made for each
 * batch (and handed over) cost the main thread its zeroing and a page fault per 4 KiB — ~0.3 µs a
 * line under peer-ingest, more than the copy itself — and the thread a collection now and then
 * for the external memory it received.
 */
class SharedBuffers {
  private readonly free: SharedArrayBuffer[] = []

  take(bytes: number): SharedArrayBuffer {
    let best = -1
    for (let i = 0; i < this.free.length; i++) if (this.free[i]!.byteLength >= bytes && (best < 0 || this.free[i]!.byteLength < this.free[best]!.byteLength)) best = i
    if (best >= 0) return this.free.splice(best, 1)[0]!
    return new SharedArrayBuffer(Math.max(1 << 20, Math.ceil(bytes * 1.25)))
  }

  give(buffer: SharedArrayBuffer): void {
    // a batch of huge bodies (up to the spool's 16 MiB a read, or one body of listener.max_body) is a one-off
    if (this.free.length < SHARED_BUFFERS_KEPT && buffer.byteLength <= SHARED_BUFFER_KEPT_BYTES) this.free.push(buffer)
  }

  clear(): void {
    this.free.length = 0
  }
}

/** free shared buffers kept: the writer's batches in flight and a few */
const SHARED_BUFFERS_KEPT = 6
/** the largest kept (a batch of 4 × agent.batch_size lines of ~120 bytes is ~2.4 MB) */
const SHARED_BUFFER_KEPT_BYTES = 8 << 20

export type WriteRoute = 'thread' | 'main'

export const WRITE_THREAD_START_BYTES = 256 << 10
export const WRITE_THREAD_IDLE_MS = 60_000
/** V8's default for a 64-bit process (MiB) */
const WRITE_THREAD_SEMI_SPACE_MB = 16

export class WriteThread {
  readonly startBytes: number
  private worker?: Worker
  private readonly waiting = new Map<number, Waiting>()
  private readonly shared = new SharedBuffers()
  private nextId = 1
  /** the thread is closing its connection; writes wait for it to be gone */
  private stopping?: Promise<void>
  /** stops the thread after idleMs without work */
  private readonly idle: IdleTimer
  private closed = false
  /** the running thread has answered a request (it started) */
  private answered = false
  /** why the thread could not start: writes stay on the main thread's connection */
  failed?: string
  /** how many times the thread was started (status, tests) */
  starts = 0

  constructor(
    private readonly config: WriteThreadStoreConfig,
    private readonly clock: Clock,
    opts: WriteThreadOptions = {},
  ) {
    this.startBytes = opts.startBytes ?? WRITE_THREAD_START_BYTES
    this.idle = new IdleTimer(opts.timer ?? systemTimer, opts.idleMs ?? WRITE_THREAD_IDLE_MS, () => {
      if (this.waiting.size === 0) void this.stop().catch(() => {})
    })
  }

  get running(): boolean {
    return this.worker !== undefined
  }

  /**
   * Where the next write goes: `thread` when it runs, or `start` asks for it (it starts now);
   * else `main` (the main thread's connection). The caller sends it at once, so writes reach the
   * thread in the order they were asked for. While a stopping thread is not gone yet, a promise:
   * no write of the main thread's connection overlaps one of the thread's.
   */
  route(start: boolean): WriteRoute | Promise<WriteRoute> {
    if (this.stopping) return this.stopping.then(() => this.route(start))
    if (this.worker) return 'thread'
    if (!start || this.closed || this.failed !== undefined) return 'main'
    this.spawn()
    return 'thread'
  }

  /** `payloads`: each a record's bytes, or the parts it arrived in (copied one after the other, never joined first) */
  writeLines(payloads: ReadonlyArray<Buffer | readonly Buffer[]>, precision: Precision, total: number): Promise<WriteOutcome | undefined> {
    // one copy into shared memory the thread reads in place: the payloads are views of listener
    // bodies and pooled buffers, which cannot be handed over as they are
    const bytes = this.shared.take(total)
    const view = new Uint8Array(bytes)
    const ends: number[] = []
    let at = 0
    for (const p of payloads) {
      if (Buffer.isBuffer(p)) {
        view.set(p, at)
        at += p.length
      } else {
        for (const part of p as readonly Buffer[]) {
          view.set(part, at)
          at += part.length
        }
      }
      ends.push(at)
    }
    return this.call({id: 0, op: 'lines', now: this.clock.now(), bytes, ends, precision}, bytes) as Promise<WriteOutcome | undefined>
  }

  writePoints(points: Point[]): Promise<WriteOutcome> {
    return this.call({id: 0, op: 'points', now: this.clock.now(), points}) as Promise<WriteOutcome>
  }

  maintain(now: number): Promise<MaintenanceReport> {
    return this.call({id: 0, op: 'maintain', now}) as Promise<MaintenanceReport>
  }

  /** Stops the thread after the writes it was given (they commit first); resolves once it is gone. */
  async stop(): Promise<void> {
    while (this.stopping) await this.stopping
    const worker = this.worker
    if (!worker) return
    this.idle.clear()
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()))
    // closing is the last request: the thread answers it after every write before it
    const closing = this.call({id: 0, op: 'close'}).catch(() => {})
    this.stopping = (async () => {
      await closing
      await exited
    })().finally(() => (this.stopping = undefined))
    await this.stopping
  }

  /** Stops the thread for good: later writes go to the main thread's connection. */
  async close(): Promise<void> {
    this.closed = true
    await this.stop()
  }

  private spawn(): void {
    // V8's default young generation for the new isolate: a long-running process started under
    // lean.js's --optimize-for-size has it at its smallest, and the thread (which allocates a
    // batch's runs and chunks) then scavenged ~12× as often, ~¼ of its time under peer-ingest
    setFlagsFromString(`--max-semi-space-size=${WRITE_THREAD_SEMI_SPACE_MB}`)
    // loaded now, not with this module: node:worker_threads costs ~1.6 MiB resident, which an
    // idle daemon (that never starts the thread) should not pay
    const {Worker} = createRequire(import.meta.url)('node:worker_threads') as typeof import('node:worker_threads')
    const worker = new Worker(new URL('./write-worker.js', import.meta.url), {workerData: this.config})
    this.worker = worker
    this.answered = false
    this.starts++
    worker.on('message', (reply: WriteReply) => this.settle(reply))
    // an uncaught error or an exit ends the thread: what it held is rejected (the writer retries)
    worker.on('error', (err) => this.gone(worker, err))
    worker.on('exit', (code) => this.gone(worker, new Error(`the store's write thread exited (code ${code}) before answering`)))
  }

  private gone(worker: Worker, err: Error): void {
    if (this.worker !== worker) return
    this.worker = undefined
    // one that never answered cannot start here (its script, opening the file): not again
    if (!this.answered && !this.stopping) this.failed = err.message
    this.idle.clear()
    const waiting = [...this.waiting.values()]
    this.waiting.clear()
    // a thread that is gone may not have finished reading: its buffers are not used again
    this.shared.clear()
    for (const w of waiting) w.reject(err)
  }

  private call(req: WriteRequest, shared?: SharedArrayBuffer): Promise<unknown> {
    const worker = this.worker
    if (!worker) {
      if (shared) this.shared.give(shared)
      return Promise.reject(new Error("the store's write thread is not running"))
    }
    req.id = this.nextId++
    this.idle.clear()
    worker.ref()
    return new Promise((resolve, reject) => {
      this.waiting.set(req.id, {resolve, reject, shared})
      worker.postMessage(req)
    })
  }

  private settle(reply: WriteReply): void {
    const w = this.waiting.get(reply.id)
    if (!w) return
    this.answered = true
    this.waiting.delete(reply.id)
    // answered: the thread has read the bytes (what it keeps of them are strings and numbers)
    if (w.shared) this.shared.give(w.shared)
    if (reply.ok) w.resolve(reply.value)
    else w.reject(deserializeError(reply.error))
    if (this.waiting.size === 0 && this.worker && !this.stopping) {
      // an idle thread does not keep the process alive (a stopping one does, until it is gone), and goes after idleMs
      this.worker.unref()
      this.idle.arm()
    }
  }

}
