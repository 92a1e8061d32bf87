/**
 * The disk spool between collection and the store: append-only segment files under
 * `<data_dir>/spool/`, each a magic header followed by framed records:
 *
 *   u32 body length | u32 CRC-32 of the body | body
 *   body = f64 appended-at (ms) | u32 points | u8 precision | u8 input-name length | input name | line protocol
 *
 * A torn write (SIGKILL or power loss mid-append) leaves a short tail, found and truncated when
 * the spool is opened. A damaged record anywhere (bad length or CRC) costs that record only: the
 * reader resynchronises on the next valid record and counts what was skipped. The acknowledged
 * position — everything before it is in the store — is kept in `ack.json`, replaced atomically
 * (write + rename) at most every `ackPersistMs` (1 s) while the writer acknowledges, and on close.
 * (Once per store write it cost ~0.16 ms of blocked event loop each, dozens of times a second at
 * full speed; a position that lags a little only means a little more replay.) So a restart replays from an acknowledged
 * record, not from the start of a segment: what was in flight plus at most the last second's
 * acknowledgements. The file never gets ahead of what the store has, so nothing is skipped; the
 * store's overwrite of the same series + field + timestamp makes the replay harmless, and records
 * keep the points' own timestamps.
 *
 * The writer usually takes records right after they were appended: the last ones (up to 32 MiB)
 * are kept in memory and handed over as they were appended (one appended in parts, a request body
 * as it arrived, in those parts: SpoolRecord.parts), without reading them back; older
 * ones are read from the file a chunk at a time, the chunk kept for the records after it.
 *
 * Durability (`spool.fsync`): `always` fdatasyncs every append before it resolves; `batch`
 * resolves appends after a shared fdatasync (group commit: appends made while one is running
 * share the next); `never` leaves flushing to the OS (survives a process crash, not a power cut).
 *
 * Bounded by `max_bytes`: beyond it (`when_full: drop_oldest`) the oldest whole segments are
 * deleted and what they held is counted as dropped, per input; with `when_full: reject` an append
 * that does not fit is refused (SpoolFullError) and nothing taken is dropped. Fully acknowledged
 * segments are deleted as the writer goes, the active one too once it holds {@link RECLAIM_BYTES}
 * and all of it is stored (a new one is started): stored bytes are not kept until the segment fills up.
 *
 * A full disk: a reserve file (`reserve`, `reserveBytes`) is taken while there is room and
 * released on the first ENOSPC, so the spool can still record its position, roll and reclaim,
 * and a restart can create its lock; it is taken again once the disk has room for it twice.
 * Appends fail with a {@link DiskFullError} meanwhile (the listener answers 503, the batcher
 * keeps its points) and work again by themselves as soon as space returns.
 */
import {DiskReserve, asDiskFull, isDiskFull, type DiskFullError} from '../disk.js'
import {acquireLock, type Lock} from '../lock.js'
import {closeSync, fdatasync, fdatasyncSync, ftruncateSync, fstatSync, mkdirSync, openSync, readFileSync, readSync, readdirSync, renameSync, rmSync, statSync, unlinkSync, writeFileSync, writevSync} from 'node:fs'
import {open as openFile, type FileHandle} from 'node:fs/promises'
import {join} from 'node:path'
import {promisify} from 'node:util'
import type {Clock} from '../clock.js'
import {UserError, errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import {crc32} from './crc32.js'
import {DropTally, type DropCounts, type DropReason} from './drops.js'

const fdatasyncAsync = promisify(fdatasync)

export type FsyncPolicy = 'always' | 'batch' | 'never'
/**
 * What a full spool (`max_bytes`) does with a new append: `drop_oldest` makes room by deleting
 * the oldest segments (their points counted as dropped); `reject` refuses the append with a
 * {@link SpoolFullError}, so nothing already taken is lost and the sender is told to wait.
 */
export type WhenFull = 'drop_oldest' | 'reject'

/** The spool is full and `when_full: reject`: nothing was appended; try again once the store catches up. */
export class SpoolFullError extends UserError {
  /** how long a sender should wait before trying again */
  readonly retryAfterMs = 5000

  constructor(
    readonly dir: string,
    readonly maxBytes: number,
  ) {
    super(`the spool in ${dir} is full (spool.max_bytes ${maxBytes} bytes) and spool.when_full is reject: the points were not taken`, {
      hint: 'the store is not keeping up (see `mon status`); senders retry later, or raise spool.max_bytes',
    })
    this.name = 'SpoolFullError'
  }
}
/** Timestamp precision of a record's line protocol (the ones every InfluxDB write API accepts). */
export type SpoolPrecision = 'ns' | 'us' | 'ms' | 's'

const PRECISION_CODES: readonly SpoolPrecision[] = ['ns', 'us', 'ms', 's']
export const SEGMENT_MAGIC = Buffer.from('MONSPL1\n')
const MAGIC_LEN = SEGMENT_MAGIC.length
const PREFIX_LEN = 8
const FIXED_BODY_LEN = 14
/** larger than any sane record: a length beyond it is corruption, not a record */
const MAX_RECORD_BYTES = 1 << 30
const READ_CHUNK = 4 << 20
const MIN_SEGMENT_BYTES = 4096
const NO_BYTES = Buffer.alloc(0)
/**
 * Most bytes of just-appended records kept in memory for the writer. Not more: with 128 MiB the
 * listener bench (which pushes ~3× faster than influxd writes, so ~100 MB of backlog a run) read
 * nothing back, yet mon spent the same CPU per point (paired A/B over 6 runs: 0.998×) — reading
 * back is a few % of it, and the bodies kept longer grew the heap onto fresh pages (page faults)
 * — for ~15 MiB more high-water RSS.
 */
const RECENT_BYTES = 32 << 20
/**
 * A fully acknowledged active segment at least this large is replaced by a new one and deleted.
 * (Not at every acknowledgement: a writer that keeps up would start a file per batch.) While
 * the disk is full, any size is. 8 MiB, not 1: each replacement is an fdatasync, a directory sync,
 * a close and an unlink, and at 1 MiB a listener taking 540 KB bodies paid them every other body
 * (~⅙ of the daemon's busy time under the peer-ingest bench); at most 8 MiB of stored points stay
 * on disk a while longer.
 */
export const RECLAIM_BYTES = 8 << 20
/** Default size of the reserve file. */
export const RESERVE_BYTES = 1 << 20
export const RESERVE_FILE = 'reserve'

export interface SpoolRecordInput {
  /** the input the points came from (counts in mon_internal), at most 255 bytes */
  input: string
  points: number
  precision: SpoolPrecision
  /**
   * line protocol, every line ending with `\n`; or its bytes in parts (a request body as it
   * arrived), written together and joined only if the writer takes the record from memory
   */
  payload: Buffer | string | readonly Buffer[]
}

export interface SpoolRecord {
  input: string
  points: number
  precision: SpoolPrecision
  appendedAt: number
  /** the line protocol (a record appended in parts is joined when this is first read) */
  readonly payload: Buffer
  /**
   * The payload in the parts it was appended in (a request body as it arrived), when the writer
   * took the record from memory: a sender that can write parts (src/core/store/influx/http.ts) or
   * a reader that copies the bytes anyway (the embedded store's write thread) takes these and
   * nothing is joined; `payload` joins them the first time it is read.
   */
  readonly parts?: readonly Buffer[]
}

/** The payload of a record as buffers to send in order: its parts when it has them (no join). */
export function payloadParts(record: SpoolRecord): readonly Buffer[] {
  return record.parts ?? [record.payload]
}

/** A record kept in memory in the parts it was appended in; its payload is joined only if read. */
class PartedRecord implements SpoolRecord {
  private joined?: Buffer

  constructor(
    readonly input: string,
    readonly points: number,
    readonly precision: SpoolPrecision,
    readonly appendedAt: number,
    readonly parts: readonly Buffer[],
    /** bytes of the parts together */
    readonly bytes: number,
  ) {}

  get payload(): Buffer {
    return (this.joined ??= this.parts.length === 1 ? this.parts[0]! : Buffer.concat(this.parts, this.bytes))
  }
}

/** Bytes of a record's line protocol, without joining its parts. */
export function payloadBytes(record: SpoolRecord): number {
  return record instanceof PartedRecord ? record.bytes : record.payload.length
}

export interface SpoolPosition {
  segment: number
  offset: number
}

/** Records handed to the writer; give it back with {@link Spool.ack} once stored. */
export interface SpoolBatch {
  readonly id: number
  readonly records: SpoolRecord[]
  readonly points: number
  readonly bytes: number
  readonly precision: SpoolPrecision
  readonly start: SpoolPosition
  readonly end: SpoolPosition
  readonly firstAppendedAt: number
}

export interface SpoolCounts {
  records: number
  points: number
}

export interface SpoolStatus {
  dir: string
  /** bytes of segment files on disk */
  bytes: number
  segments: number
  /** appended and not yet acknowledged */
  records: number
  points: number
  /** age of the oldest unacknowledged record, 0 when there is none */
  oldestAgeMs: number
  /** dropped because the spool was full, or unreadable (corrupt) */
  dropped: SpoolCounts & {segments: number; corruptBytes: number}
  droppedByInput: Record<string, number>
  /** the same, by reason (spool_full, spool_corrupt, store_rejected) */
  droppedByReason: Record<string, DropCounts>
  /** since this process opened the spool */
  appended: SpoolCounts
  acked: SpoolCounts
  /** unacknowledged records found when the spool was opened (left by an earlier run) */
  recovered: SpoolCounts
  maxBytes: number
  whenFull: WhenFull
  /** appends refused because the spool was full (`when_full: reject`), each refusal counted (a resent push again) */
  refused: SpoolCounts
  /** the last append was refused for want of room, and no room has been made since */
  full: boolean
  /** the last append failed because the disk (not the spool's max_bytes) was full; clears on the next append that works */
  diskFull: boolean
}

export interface SpoolOptions {
  dir: string
  maxBytes: number
  segmentBytes: number
  fsync: FsyncPolicy
  /** default `drop_oldest` */
  whenFull?: WhenFull
  clock: Clock
  log?: Logger
  /**
   * Longest time (ms, real time) the acknowledged position may go unrecorded after it moved: 0
   * writes ack.json on every acknowledgement. Default {@link ACK_PERSIST_MS}.
   */
  ackPersistMs?: number
  /** bytes of the reserve file released when the disk fills; 0 keeps none. Default {@link RESERVE_BYTES}. */
  reserveBytes?: number
}

/** How often, at most, ack.json is rewritten while the writer acknowledges. */
export const ACK_PERSIST_MS = 1000

interface Tally {
  records: number
  points: number
  byInput: Map<string, number>
}

interface Segment {
  id: number
  path: string
  size: number
  /** records not yet handed to the writer */
  pending: Tally
  /** byte ranges of damaged records, already counted: the reader steps over them */
  damaged: Array<{from: number; to: number}>
}

interface Recent {
  segment: number
  offset: number
  end: number
  record: SpoolRecord
}

interface Outstanding {
  batch: SpoolBatch
  done: boolean
}

const newTally = (): Tally => ({records: 0, points: 0, byInput: new Map()})

function addTally(t: Tally, input: string, points: number, sign = 1): void {
  t.records += sign
  t.points += sign * points
  const v = (t.byInput.get(input) ?? 0) + sign * points
  if (v === 0) t.byInput.delete(input)
  else t.byInput.set(input, v)
}

const cmp = (a: SpoolPosition, b: SpoolPosition) => a.segment - b.segment || a.offset - b.offset
const segmentName = (id: number) => `${String(id).padStart(16, '0')}.seg`

export class Spool {
  readonly dir: string
  private readonly log: Logger
  private readonly clock: Clock
  private fsync: FsyncPolicy
  private whenFull: WhenFull
  private full = false
  private readonly refused = {records: 0, points: 0}
  private maxBytes: number
  private segmentBytes: number
  private segments: Segment[] = []
  private writeFd = -1
  private ackPos: SpoolPosition = {segment: 0, offset: MAGIC_LEN}
  private readPos: SpoolPosition = {segment: 0, offset: MAGIC_LEN}
  private outstanding: Outstanding[] = []
  private nextBatchId = 1
  private readHandle?: {segment: number; handle: FileHandle}
  /**
   * The last chunk read, for the next batch: a chunk holds several records, and reading it again
   * for each one read (and allocated) it several times over. Records never change once written.
   */
  private readChunk?: {segment: number; at: number; bytes: Buffer}
  /**
   * The records appended last, as they were appended, for the writer to take without reading
   * them back from the file (nor checking their CRC: they never left memory). Bounded by
   * {@link RECENT_BYTES}; a writer that falls behind reads the older ones from the file.
   */
  private recent: Recent[] = []
  private recentBytes = 0
  private syncing?: Promise<void>
  private nextSync?: Promise<void>
  private waiters: Array<() => void> = []
  private closed = false
  private readonly ackPersistMs: number
  /** when ack.json was last written (performance.now()) */
  private ackPersistedAt = Number.NEGATIVE_INFINITY
  /** a later write of ack.json, for a position that moved within ackPersistMs of the last one */
  private ackTimer?: NodeJS.Timeout
  private unacked = {records: 0, points: 0}
  private readonly appended = {records: 0, points: 0}
  private readonly acked = {records: 0, points: 0}
  private readonly recovered = {records: 0, points: 0}
  private readonly dropped = {records: 0, points: 0, segments: 0, corruptBytes: 0}
  private readonly droppedByInput = new Map<string, number>()
  private readonly droppedByReason = new DropTally()
  private lockPath: string
  private lock?: Lock
  private readonly reserve: DiskReserve
  private reserveHeld = false
  /** an append failed for want of space and none succeeded since */
  private diskFull = false

  private constructor(opts: SpoolOptions) {
    this.dir = opts.dir
    this.log = opts.log ?? silentLogger
    this.clock = opts.clock
    this.fsync = opts.fsync
    this.whenFull = opts.whenFull ?? 'drop_oldest'
    this.maxBytes = opts.maxBytes
    this.segmentBytes = effectiveSegmentBytes(opts.segmentBytes, opts.maxBytes)
    this.lockPath = join(this.dir, 'LOCK')
    this.ackPersistMs = opts.ackPersistMs ?? ACK_PERSIST_MS
    this.reserve = new DiskReserve(join(this.dir, RESERVE_FILE), opts.reserveBytes ?? RESERVE_BYTES)
  }

  /** Opens (creating if needed) the spool in `dir`: takes its lock, checks every segment, truncates a torn tail. */
  static open(opts: SpoolOptions): Spool {
    const spool = new Spool(opts)
    try {
      mkdirSync(opts.dir, {recursive: true})
    } catch (err) {
      throw asDiskFull(err, 'create the spool directory', opts.dir) ?? new UserError(`cannot create spool directory ${opts.dir}: ${errorMessage(err)}`, {hint: 'set data_dir (or MON_DATA_DIR) to a writable directory'})
    }
    // on a full disk, the reserve left by the previous run makes room for the lock and the recovery
    spool.lock = acquireLock(
      spool.lockPath,
      (pid) => ({
        message: `another mon process (pid ${pid}) is using the spool in ${opts.dir}`,
        hint: 'stop it first (only one `mon collect` or `mon daemon` per data directory), or give this one another data_dir',
      }),
      {onDiskFull: () => spool.releaseReserve()},
    )
    try {
      spool.recover()
      // a new segment needs room: on a full disk the reserve makes it
      spool.withReserveOnDiskFull(() => spool.openForAppend())
    } catch (err) {
      spool.lock.release()
      throw err
    }
    spool.reserveHeld = spool.reserve.take()
    return spool
  }

  /** Runs `fn`; if the disk is full, releases the reserve and runs it once more. */
  private withReserveOnDiskFull<T>(fn: () => T): T {
    try {
      return fn()
    } catch (err) {
      if (!isDiskFull(err) || !this.releaseReserve()) throw err
      return fn()
    }
  }

  /** Frees the reserve file (disk full); returns whether there was one to free. */
  private releaseReserve(): boolean {
    this.reserveHeld = false
    const had = this.reserve.release()
    if (had) this.log.warn('disk full: released the spool reserve so that mon can keep its position and restart', {file: this.reserve.path, bytes: this.reserve.bytes})
    return had
  }

  // -------------------------------------------------------------------------------------------
  // Appending

  /**
   * Appends records (one write) and resolves once they are as durable as the fsync policy asks.
   * Throws (e.g. ENOSPC) without having appended anything the writer could see.
   */
  async append(records: readonly SpoolRecordInput[]): Promise<void> {
    if (this.closed) throw new Error('spool is closed')
    if (records.length === 0) return
    const now = this.clock.now()
    const buffers: Buffer[] = []
    const fresh: Array<{record: SpoolRecord; size: number}> = []
    let total = 0
    for (const r of records) {
      const parts = Array.isArray(r.payload) ? (r.payload as readonly Buffer[]) : undefined
      const payload = parts ? NO_BYTES : typeof r.payload === 'string' ? Buffer.from(r.payload) : (r.payload as Buffer)
      const payloadLength = parts ? parts.reduce((n, b) => n + b.length, 0) : payload.length
      const name = Buffer.from(r.input.slice(0, 255))
      const nameBytes = name.subarray(0, 255)
      const head = Buffer.allocUnsafe(PREFIX_LEN + FIXED_BODY_LEN + nameBytes.length)
      head.writeUInt32LE(FIXED_BODY_LEN + nameBytes.length + payloadLength, 0)
      head.writeDoubleLE(now, 8)
      head.writeUInt32LE(r.points, 16)
      head.writeUInt8(PRECISION_CODES.indexOf(r.precision), 20)
      head.writeUInt8(nameBytes.length, 21)
      nameBytes.copy(head, 22)
      let crc = crc32(head.subarray(PREFIX_LEN))
      if (parts) for (const part of parts) crc = crc32(part, crc)
      else crc = crc32(payload, crc)
      head.writeUInt32LE(crc, 4)
      buffers.push(head)
      if (parts) for (const part of parts) buffers.push(part)
      else buffers.push(payload)
      const size = head.length + payloadLength
      const input = nameBytes.toString('utf8')
      fresh.push({record: parts ? new PartedRecord(input, r.points, r.precision, now, parts, payloadLength) : {input, points: r.points, precision: r.precision, appendedAt: now, payload}, size})
      total += size
    }

    if (this.whenFull === 'reject' && this.totalBytes() + total > this.maxBytes) {
      // refused before anything is written: whoever sent the points still holds them
      this.full = true
      this.refused.records += records.length
      for (const r of records) this.refused.points += r.points
      throw new SpoolFullError(this.dir, this.maxBytes)
    }
    this.full = false
    let active: Segment
    try {
      active = this.active()
      if (active.size > MAGIC_LEN && active.size + total > this.segmentBytes) active = this.roll()
    } catch (err) {
      throw this.appendFailed(err, join(this.dir, segmentName((this.segments.at(-1)?.id ?? this.ackPos.segment) + 1)))
    }
    const at = active.size
    let written = 0
    try {
      while (written < total) written += writevSync(this.writeFd, written === 0 ? buffers : sliceBuffers(buffers, written), at + written)
    } catch (err) {
      // leave no half record behind for the reader to trip on
      try {
        ftruncateSync(this.writeFd, at)
      } catch {}
      throw this.appendFailed(err, active.path)
    }
    active.size += total
    if (this.diskFull) this.diskRecovered()
    let offset = at
    for (const {record, size} of fresh) {
      this.recent.push({segment: active.id, offset, end: offset + size, record})
      this.recentBytes += size
      offset += size
    }
    while (this.recentBytes > RECENT_BYTES && this.recent.length > 1) {
      const old = this.recent.shift()!
      this.recentBytes -= old.end - old.offset
    }
    for (const r of records) {
      addTally(active.pending, r.input, r.points)
      this.appended.records++
      this.appended.points += r.points
      this.unacked.records++
      this.unacked.points += r.points
    }
    this.enforceLimit()
    const durable = this.fsync === 'always' ? fdatasyncAsync(this.writeFd) : this.fsync === 'batch' ? this.groupSync() : undefined
    this.wake()
    if (durable) await durable
  }

  /** The error an append throws; a full disk also releases the reserve (room to roll, reclaim and restart). */
  private appendFailed(err: unknown, path: string): UserError {
    const full = asDiskFull(err, 'append to the spool segment', path)
    if (!full) return new UserError(`cannot write to the spool in ${this.dir}: ${errorMessage(err)}`, {hint: 'check free disk space and permissions of the data directory', cause: err})
    if (!this.diskFull) this.log.error('disk full: the spool cannot take more points until there is room', {file: path, freeBytes: full.freeBytes})
    this.diskFull = true
    if (this.reserveHeld) this.releaseReserve()
    return full
  }

  /** An append worked again after a full disk: take the reserve back when there is room for it. */
  private diskRecovered(): void {
    this.diskFull = false
    this.log.info('the spool can write again (disk space returned)')
    this.reserveHeld = this.reserve.take()
  }

  private groupSync(): Promise<void> {
    if (this.nextSync) return this.nextSync
    const previous = this.syncing
    const run = (async () => {
      await previous?.catch(() => {})
      this.nextSync = undefined
      const current = fdatasyncAsync(this.writeFd)
      this.syncing = current
      try {
        await current
      } finally {
        if (this.syncing === current) this.syncing = undefined
      }
    })()
    this.nextSync = run
    return run
  }

  private active(): Segment {
    const last = this.segments.at(-1)
    if (last && this.writeFd >= 0) return last
    return this.roll()
  }

  /**
   * Starts a new segment file; the previous one is made durable and closed. The new file is made
   * first, so a failure (disk full) leaves the spool appending where it was. `stored`: everything
   * in the previous one is in the store and it is deleted next, so its bytes need not reach the
   * disk (a synchronous fdatasync of a file about to go, on the event loop, once per MiB).
   */
  private roll(stored = false): Segment {
    const id = (this.segments.at(-1)?.id ?? this.ackPos.segment) + 1
    const path = join(this.dir, segmentName(id))
    let fd = -1
    try {
      fd = openSync(path, 'w+')
      writevSync(fd, [SEGMENT_MAGIC], 0)
    } catch (err) {
      if (fd >= 0) closeSync(fd)
      rmSync(path, {force: true})
      throw err
    }
    const previousFd = this.writeFd
    if (previousFd >= 0) {
      if (this.fsync !== 'never' && !stored) fdatasyncSync(previousFd)
      const inFlight = this.syncing
      if (inFlight) void inFlight.finally(() => closeSync(previousFd)).catch(() => {})
      else closeSync(previousFd)
    }
    this.writeFd = fd
    if (this.fsync !== 'never') syncDir(this.dir)
    const seg: Segment = {id, path, size: MAGIC_LEN, pending: newTally(), damaged: []}
    this.segments.push(seg)
    return seg
  }

  /** Over `max_bytes` (`drop_oldest`): drop the oldest whole segments, counting what was never handed to the writer. */
  private enforceLimit(): void {
    let total = this.totalBytes()
    if (total <= this.maxBytes || this.whenFull === 'reject') return
    while (total > this.maxBytes && this.segments.length > 0) {
      if (this.segments.length === 1) this.roll()
      const victim = this.segments.shift()!
      total -= victim.size
      this.dropped.segments++
      this.dropped.records += victim.pending.records
      this.dropped.points += victim.pending.points
      this.unacked.records -= victim.pending.records
      this.unacked.points -= victim.pending.points
      for (const [input, n] of victim.pending.byInput) this.countDropped(input, n, 'spool_full')
      const next = {segment: this.segments[0]!.id, offset: MAGIC_LEN}
      if (cmp(this.readPos, next) < 0) this.readPos = next
      if (cmp(this.ackPos, next) < 0) this.ackPos = next
      this.removeFile(victim)
      this.log.warn('spool full: dropped the oldest segment', {points: victim.pending.points, maxBytes: this.maxBytes})
    }
    this.persistAck()
  }

  // -------------------------------------------------------------------------------------------
  // Reading and acknowledging

  /** Resolves when there may be records to read (or the spool closes, or `signal` aborts). */
  waitForData(signal?: AbortSignal): Promise<void> {
    if (this.closed || this.hasPending()) return Promise.resolve()
    return new Promise((resolve) => {
      const done = () => {
        signal?.removeEventListener('abort', done)
        this.waiters = this.waiters.filter((w) => w !== done)
        resolve()
      }
      this.waiters.push(done)
      signal?.addEventListener('abort', done, {once: true})
    })
  }

  private wake(): void {
    const waiters = this.waiters
    this.waiters = []
    for (const w of waiters) w()
  }

  /** Whether records wait to be handed to the writer. */
  hasPending(): boolean {
    for (const seg of this.segments) if (seg.pending.records > 0) return true
    return false
  }

  /**
   * The next records after the ones already handed out: up to `maxPoints` points (at least one
   * record), `maxBytes` of payload, one precision and one segment. Undefined when nothing waits.
   */
  async readBatch(maxPoints: number, maxBytes = 16 << 20): Promise<SpoolBatch | undefined> {
    for (;;) {
      if (this.closed) return undefined
      const seg = this.segments.find((s) => s.id >= this.readPos.segment)
      if (!seg) return undefined
      if (seg.id !== this.readPos.segment) this.readPos = {segment: seg.id, offset: MAGIC_LEN}
      const isActive = seg === this.segments.at(-1)
      if (this.readPos.offset >= seg.size) {
        if (seg.pending.records > 0) this.settleLost(seg)
        if (isActive) return undefined
        this.readPos = {segment: seg.id + 1, offset: MAGIC_LEN}
        continue
      }
      const batch = await this.readFrom(seg, maxPoints, maxBytes)
      if (batch) return batch
    }
  }

  private async readFrom(seg: Segment, maxPoints: number, maxBytes: number): Promise<SpoolBatch | undefined> {
    const start = {...this.readPos}
    const end = seg.size
    let pos = start.offset
    const records: SpoolRecord[] = []
    let points = 0
    let bytes = 0
    let precision: SpoolPrecision | undefined
    let chunk: Buffer = NO_BYTES
    let chunkAt = pos
    const cached = this.readChunk
    if (cached && cached.segment === seg.id && pos >= cached.at && pos < cached.at + cached.bytes.length) {
      chunk = cached.bytes
      chunkAt = cached.at
    }
    try {
      const handle = await this.readHandleFor(seg)
      while (pos < end && (records.length === 0 || (points < maxPoints && bytes < maxBytes))) {
        const kept = this.recentAt(seg.id, pos)
        if (kept) {
          if (precision !== undefined && kept.record.precision !== precision) break
          precision = kept.record.precision
          records.push(kept.record)
          points += kept.record.points
          bytes += payloadBytes(kept.record)
          pos = kept.end
          continue
        }
        const known = seg.damaged.find((d) => d.from === pos)
        if (known) {
          pos = known.to // counted when it was found
          continue
        }
        if (pos + PREFIX_LEN > chunkAt + chunk.length) {
          chunk = await readAt(handle, pos, Math.min(end - pos, READ_CHUNK))
          chunkAt = pos
        }
        const rel = pos - chunkAt
        const bodyLen = chunk.length - rel >= PREFIX_LEN ? chunk.readUInt32LE(rel) : -1
        let record: SpoolRecord | undefined
        if (bodyLen >= FIXED_BODY_LEN && bodyLen <= MAX_RECORD_BYTES && pos + PREFIX_LEN + bodyLen <= end) {
          if (pos + PREFIX_LEN + bodyLen > chunkAt + chunk.length) {
            chunk = await readAt(handle, pos, PREFIX_LEN + bodyLen)
            chunkAt = pos
          }
          record = decodeRecord(chunk, pos - chunkAt, bodyLen)
        }
        if (!record) {
          // damaged since the spool was opened (it checked every record then): step over it to the
          // next valid record; what it held is counted when the reader reaches the segment's end
          pos = this.stepOverDamage(seg, pos, end, bodyLen < 0 ? 'bad record length' : 'checksum mismatch')
          continue
        }
        if (precision !== undefined && record.precision !== precision) break
        precision = record.precision
        records.push(record)
        points += record.points
        bytes += record.payload.length
        pos += PREFIX_LEN + bodyLen
      }
    } catch (err) {
      // the segment was dropped (spool full) while we read it: its records are counted as dropped
      if (!this.segments.includes(seg) || this.closed) return undefined
      throw err
    }
    // dropped while we awaited the reads?
    if (!this.segments.includes(seg) || cmp(this.readPos, start) !== 0) return undefined
    if (chunk.length > 0) this.readChunk = {segment: seg.id, at: chunkAt, bytes: chunk}
    for (const r of records) addTally(seg.pending, r.input, r.points, -1)
    this.readPos = {segment: seg.id, offset: pos}
    if (records.length === 0) return undefined
    const batch: SpoolBatch = {
      id: this.nextBatchId++,
      records,
      points,
      bytes,
      precision: precision!,
      start,
      end: {segment: seg.id, offset: pos},
      firstAppendedAt: records[0]!.appendedAt,
    }
    this.outstanding.push({batch, done: false})
    return batch
  }

  /**
   * The record appended at `offset` of `segment`, if it is still in memory. Entries before it are
   * let go: the reader moves forward (after a rewind it reads them from the file).
   */
  private recentAt(segment: number, offset: number): Recent | undefined {
    const recent = this.recent
    while (recent.length > 0 && (recent[0]!.segment < segment || (recent[0]!.segment === segment && recent[0]!.offset < offset))) {
      const old = recent.shift()!
      this.recentBytes -= old.end - old.offset
    }
    const first = recent[0]
    return first && first.segment === segment && first.offset === offset ? first : undefined
  }

  private countDropped(input: string, points: number, reason: DropReason): void {
    this.droppedByInput.set(input, (this.droppedByInput.get(input) ?? 0) + points)
    this.droppedByReason.add(input, reason, points)
  }

  /**
   * A record at `from` failed its checks while reading: finds the next valid record (before
   * `end`), remembers the damaged range so a re-read steps over it, and counts its bytes.
   */
  private stepOverDamage(seg: Segment, from: number, end: number, why: string): number {
    let next = end
    const fd = openSync(seg.path, 'r')
    try {
      next = findNextRecord(fd, from + 1, end)
    } finally {
      closeSync(fd)
    }
    seg.damaged.push({from, to: next})
    this.dropped.corruptBytes += next - from
    this.log.error('spool record is damaged; skipped to the next valid record', {segment: seg.path, offset: from, bytes: next - from, why})
    return next
  }

  /**
   * The reader passed the end of a segment: whatever its tally still holds was never handed to
   * the writer, i.e. was in records damaged after the spool was opened. Counted per input.
   */
  private settleLost(seg: Segment): void {
    const lost = seg.pending
    this.dropped.records += lost.records
    this.dropped.points += lost.points
    this.unacked.records -= lost.records
    this.unacked.points -= lost.points
    for (const [input, n] of lost.byInput) this.countDropped(input, n, 'spool_corrupt')
    this.log.error('points lost to damaged spool records', {segment: seg.path, records: lost.records, points: lost.points})
    seg.pending = newTally()
  }

  private async readHandleFor(seg: Segment): Promise<FileHandle> {
    if (this.readHandle?.segment === seg.id) return this.readHandle.handle
    const old = this.readHandle
    this.readHandle = undefined
    await old?.handle.close().catch(() => {})
    const handle = await openFile(seg.path, 'r')
    this.readHandle = {segment: seg.id, handle}
    return handle
  }

  /**
   * The batch is in the store. Batches may be acknowledged out of order; the persisted position
   * only moves over a contiguous run of acknowledged batches.
   */
  ack(batch: SpoolBatch): void {
    if (this.closed) return // a write that finished after close: replayed next time, overwritten
    const entry = this.outstanding.find((o) => o.batch.id === batch.id)
    if (!entry || entry.done) return
    entry.done = true
    this.acked.records += batch.records.length
    this.acked.points += batch.points
    this.unacked.records -= batch.records.length
    this.unacked.points -= batch.points
    let moved = false
    while (this.outstanding.length > 0 && this.outstanding[0]!.done) {
      const {end} = this.outstanding.shift()!.batch
      if (cmp(end, this.ackPos) > 0) {
        this.ackPos = end
        moved = true
      }
    }
    if (!moved) return
    const reclaimed = this.reclaimActive()
    // fully acknowledged segments go
    while (this.segments.length > 1) {
      const first = this.segments[0]!
      if (this.ackPos.segment > first.id || (this.ackPos.segment === first.id && this.ackPos.offset >= first.size)) {
        this.segments.shift()
        this.removeFile(first)
        this.full = false // there is room again
        if (this.ackPos.segment === first.id) this.ackPos = {segment: this.segments[0]!.id, offset: MAGIC_LEN}
      } else break
    }
    // the reserve could not be taken (little room): try again now that space was freed
    if (reclaimed && !this.reserveHeld && !this.diskFull && this.reserve.bytes > 0) this.reserveHeld = this.reserve.take()
    this.persistAckSoon()
  }

  /**
   * Everything in the active segment is stored: start a new one so that this one can be deleted
   * now rather than when it fills up (16 MiB of stored points kept on disk for nothing, on a full
   * disk the difference between recovering and not).
   */
  private reclaimActive(): boolean {
    const active = this.segments.at(-1)
    if (!active || this.segments.length > 1 || this.ackPos.segment !== active.id || this.ackPos.offset < active.size) return false
    const tight = this.diskFull || (this.reserve.bytes > 0 && !this.reserveHeld)
    if (active.size < (tight ? MAGIC_LEN + 1 : RECLAIM_BYTES)) return false
    try {
      this.roll(true)
    } catch (err) {
      this.log.warn('cannot start a new spool segment to free the stored one', {error: errorMessage(err)})
      return false
    }
    return true
  }

  /**
   * The store refused points of a batch for good and kept the rest (or refused it whole, the
   * default): the batch is acknowledged and the refused points, per input, counted as dropped.
   */
  reject(batch: SpoolBatch, refused: ReadonlyMap<string, number> = pointsByInput(batch)): void {
    let points = 0
    for (const [input, n] of refused) {
      this.countDropped(input, n, 'store_rejected')
      points += n
    }
    const whole = points >= batch.points
    if (whole) this.dropped.records += batch.records.length
    this.dropped.points += points
    this.ack(batch)
    if (whole) this.acked.records -= batch.records.length
    this.acked.points -= points
  }

  /**
   * Hands the outstanding (read, unacknowledged) batches back: the next read starts at the
   * acknowledged position again. For a writer that abandons its in-flight batches.
   */
  rewind(): void {
    if (this.outstanding.length === 0) return
    for (const o of this.outstanding) {
      if (o.done) continue
      const seg = this.segments.find((s) => s.id === o.batch.end.segment)
      if (seg) for (const r of o.batch.records) addTally(seg.pending, r.input, r.points)
    }
    this.outstanding = []
    this.readPos = {...this.ackPos}
    this.wake()
  }

  /**
   * Records the acknowledged position now if it was not recorded within `ackPersistMs`, else once
   * that much time has passed. Until then ack.json holds an older position: a crash replays a
   * little more, and loses nothing.
   */
  private persistAckSoon(): void {
    if (this.ackTimer) return
    const wait = this.ackPersistedAt + this.ackPersistMs - performance.now()
    if (wait <= 0) return this.persistAck()
    this.ackTimer = setTimeout(() => {
      this.ackTimer = undefined
      if (!this.closed) this.persistAck()
    }, wait)
    this.ackTimer.unref()
  }

  private persistAck(): void {
    if (this.ackTimer) {
      clearTimeout(this.ackTimer)
      this.ackTimer = undefined
    }
    this.ackPersistedAt = performance.now()
    const tmp = join(this.dir, 'ack.json.tmp')
    try {
      writeFileSync(tmp, JSON.stringify(this.ackPos) + '\n')
      renameSync(tmp, join(this.dir, 'ack.json'))
    } catch (err) {
      // A stale position only means more replay after a restart, never loss.
      this.log.warn('cannot record the spool position', {error: errorMessage(err)})
    }
  }

  private removeFile(seg: Segment): void {
    if (this.readChunk?.segment === seg.id) this.readChunk = undefined
    while (this.recent.length > 0 && this.recent[0]!.segment <= seg.id) {
      const old = this.recent.shift()!
      this.recentBytes -= old.end - old.offset
    }
    if (this.readHandle?.segment === seg.id) {
      const h = this.readHandle.handle
      this.readHandle = undefined
      void h.close().catch(() => {})
    }
    try {
      unlinkSync(seg.path)
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'ENOENT') this.log.warn('cannot delete spool segment', {segment: seg.path, error: errorMessage(err)})
    }
  }

  // -------------------------------------------------------------------------------------------
  // Status, settings, lifecycle

  private totalBytes(): number {
    let n = 0
    for (const s of this.segments) n += s.size
    return n
  }

  /** The last append was refused for want of room and none has been made since (cheap). */
  isFull(): boolean {
    return this.full
  }

  /** {@link close} was called: nothing more can be read or appended. */
  isClosed(): boolean {
    return this.closed
  }

  /** appended and not yet acknowledged (cheap; {@link status} has everything) */
  backlog(): SpoolCounts {
    return {...this.unacked}
  }

  status(): SpoolStatus {
    return {
      dir: this.dir,
      bytes: this.totalBytes(),
      segments: this.segments.length,
      records: this.unacked.records,
      points: this.unacked.points,
      oldestAgeMs: this.oldestAgeMs(),
      dropped: {...this.dropped},
      droppedByInput: Object.fromEntries(this.droppedByInput),
      droppedByReason: this.droppedByReason.toJSON(),
      appended: {...this.appended},
      acked: {...this.acked},
      recovered: {...this.recovered},
      maxBytes: this.maxBytes,
      whenFull: this.whenFull,
      refused: {...this.refused},
      full: this.full,
      diskFull: this.diskFull,
    }
  }

  private oldestAgeMs(): number {
    if (this.unacked.records <= 0) return 0
    const now = this.clock.now()
    const first = this.outstanding.find((o) => !o.done)
    if (first) return Math.max(0, now - first.batch.firstAppendedAt)
    const seg = this.segments.find((s) => s.id >= this.readPos.segment && s.pending.records > 0)
    if (!seg) return 0
    const offset = seg.id === this.readPos.segment ? this.readPos.offset : MAGIC_LEN
    try {
      const fd = openSync(seg.path, 'r')
      try {
        const head = Buffer.alloc(16)
        if (readSync(fd, head, 0, 16, offset) < 16) return 0
        return Math.max(0, now - head.readDoubleLE(8))
      } finally {
        closeSync(fd)
      }
    } catch {
      return 0
    }
  }

  /** New limits, fsync and full policy (config reload). */
  configure(opts: {maxBytes?: number; segmentBytes?: number; fsync?: FsyncPolicy; whenFull?: WhenFull}): void {
    if (opts.fsync) this.fsync = opts.fsync
    if (opts.whenFull) this.whenFull = opts.whenFull
    if (opts.maxBytes !== undefined) this.maxBytes = opts.maxBytes
    if (opts.segmentBytes !== undefined || opts.maxBytes !== undefined) this.segmentBytes = effectiveSegmentBytes(opts.segmentBytes ?? this.segmentBytes, this.maxBytes)
    this.enforceLimit()
  }

  /** Makes everything appended durable, closes the files and releases the lock. */
  async close(): Promise<void> {
    if (this.closed) return
    this.closed = true
    this.wake()
    await this.syncing?.catch(() => {})
    await this.nextSync?.catch(() => {})
    if (this.writeFd >= 0) {
      try {
        fdatasyncSync(this.writeFd)
      } catch {}
      closeSync(this.writeFd)
      this.writeFd = -1
    }
    await this.readHandle?.handle.close().catch(() => {})
    this.readHandle = undefined
    this.readChunk = undefined
    this.recent = []
    this.recentBytes = 0
    this.persistAck()
    this.lock?.release()
  }

  // -------------------------------------------------------------------------------------------
  // Recovery

  private recover(): void {
    const ids = readdirSync(this.dir)
      .filter((f) => /^\d{16}\.seg$/.test(f))
      .map((f) => Number(f.slice(0, 16)))
      .sort((a, b) => a - b)
    const ack = this.readAckFile()
    let ackPos: SpoolPosition | undefined = ack
    for (const id of ids) {
      const path = join(this.dir, segmentName(id))
      if (ackPos && id < ackPos.segment) {
        rmSync(path, {force: true})
        continue
      }
      const seg = this.scanSegment(id, path, ackPos && ackPos.segment === id ? ackPos.offset : MAGIC_LEN)
      if (!seg) continue
      if (ackPos && ackPos.segment === id && ackPos.offset > seg.size) ackPos = {segment: id, offset: seg.size}
      this.segments.push(seg)
    }
    const first = this.segments[0]
    if (!ackPos || !first || ackPos.segment < first.id || !this.segments.some((s) => s.id === ackPos!.segment)) {
      ackPos = first ? {segment: first.id, offset: MAGIC_LEN} : {segment: ack?.segment ?? 0, offset: MAGIC_LEN}
    }
    this.ackPos = ackPos
    this.readPos = {...ackPos}
    for (const s of this.segments) {
      this.recovered.records += s.pending.records
      this.recovered.points += s.pending.points
    }
    this.unacked = {...this.recovered}
  }

  /** After {@link recover}: the segment to append to — the last one while it has room, else a new one. */
  private openForAppend(): void {
    const last = this.segments.at(-1)
    if (this.writeFd >= 0) {
      // a second try (disk full the first time): the segment is open already
    } else if (last && last.size < this.segmentBytes) this.writeFd = openSync(last.path, 'r+')
    else this.roll()
    this.enforceLimit()
    if (this.recovered.records > 0) this.log.info('spool has unsent points from an earlier run', {points: this.recovered.points, segments: this.segments.length})
  }

  private readAckFile(): SpoolPosition | undefined {
    let text: string
    try {
      text = readFileSync(join(this.dir, 'ack.json'), 'utf8')
    } catch {
      return undefined
    }
    try {
      const v = JSON.parse(text) as SpoolPosition
      if (Number.isSafeInteger(v.segment) && Number.isSafeInteger(v.offset) && v.segment >= 0 && v.offset >= MAGIC_LEN) return {segment: v.segment, offset: v.offset}
    } catch {}
    this.log.warn('spool position file is unreadable; replaying every segment (the store overwrites duplicates)', {file: join(this.dir, 'ack.json')})
    return undefined
  }

  /**
   * Reads a segment end to end, checking every record. Records before `consumedTo` are already
   * acknowledged; the rest are pending. A damaged record (bad length or checksum) costs that
   * record only: scanning resumes at the next valid record, the range is remembered for the
   * reader, and what it held is counted from its header. A write torn by a crash (a frame running
   * past the end of the file) is cut off; a damaged last record is copied to
   * `<segment>.<offset>.damaged` before the segment is cut there to be appended to again. A damaged magic header in front of valid records is
   * rewritten; a file with no valid record at all is moved aside (`.corrupt`).
   */
  private scanSegment(id: number, path: string, consumedTo: number): Segment | undefined {
    let fd: number
    try {
      fd = openSync(path, 'r+')
    } catch (err) {
      throw new UserError(`cannot open spool segment ${path}: ${errorMessage(err)}`, {hint: 'check the permissions of the data directory'})
    }
    try {
      const size = fstatSync(fd).size
      const magic = Buffer.alloc(MAGIC_LEN)
      if (size < MAGIC_LEN || readSync(fd, magic, 0, MAGIC_LEN, 0) < MAGIC_LEN || !magic.equals(SEGMENT_MAGIC)) {
        if (size <= MAGIC_LEN) {
          closeSync(fd)
          rmSync(path, {force: true})
          return undefined
        }
        if (findNextRecord(fd, MAGIC_LEN, size) !== MAGIC_LEN) {
          closeSync(fd)
          renameSync(path, path + '.corrupt')
          this.log.error('not a spool segment; moved aside', {file: path + '.corrupt'})
          return undefined
        }
        // only the header is damaged: the records behind it are intact
        writevSync(fd, [SEGMENT_MAGIC], 0)
        this.dropped.corruptBytes += MAGIC_LEN
        this.log.error('spool segment header was damaged; rewrote it and kept the records', {segment: path, was: magic.toString('hex')})
      }
      const seg: Segment = {id, path, size: MAGIC_LEN, pending: newTally(), damaged: []}
      let consumed = consumedTo
      let pos = MAGIC_LEN
      let chunk: Buffer = Buffer.alloc(0)
      let chunkAt = pos
      while (pos < size) {
        if (pos + PREFIX_LEN > chunkAt + chunk.length) {
          chunk = readRange(fd, pos, Math.min(size - pos, READ_CHUNK))
          chunkAt = pos
        }
        const bodyLen = pos + PREFIX_LEN <= size ? chunk.readUInt32LE(pos - chunkAt) : -1
        let record: SpoolRecord | undefined
        if (bodyLen >= FIXED_BODY_LEN && bodyLen <= MAX_RECORD_BYTES && pos + PREFIX_LEN + bodyLen <= size) {
          if (pos + PREFIX_LEN + bodyLen > chunkAt + chunk.length) {
            chunk = readRange(fd, pos, Math.max(PREFIX_LEN + bodyLen, Math.min(size - pos, READ_CHUNK)))
            chunkAt = pos
          }
          record = decodeRecord(chunk, pos - chunkAt, bodyLen)
        }
        if (!record) {
          const next = findNextRecord(fd, pos + 1, size)
          const region = readRange(fd, pos, next - pos)
          // a frame running past the end of the file is a write a crash cut short (never
          // acknowledged), unless the bytes there are a whole record whose length field broke
          const wholeFrame = region.length >= PREFIX_LEN + FIXED_BODY_LEN && decodeRecord(region, 0, region.length - PREFIX_LEN) !== undefined
          const torn = next === size && (bodyLen < 0 || pos + PREFIX_LEN + bodyLen > size) && !wholeFrame
          this.dropped.corruptBytes += next - pos
          if (pos >= consumed && !torn) {
            // acknowledged once (an append resolved): its loss is counted
            const lost = damagedRecordCounts(region)
            this.dropped.records++
            this.dropped.points += lost.points
            this.droppedByInput.set(lost.input, (this.droppedByInput.get(lost.input) ?? 0) + lost.points)
          }
          if (next === size) {
            // cut so that appends continue after the last good record; damaged (not torn) bytes are kept
            const keep = torn ? undefined : `${path}.${pos}.damaged`
            if (keep) writeFileSync(keep, region)
            ftruncateSync(fd, pos)
            if (this.fsync !== 'never') fdatasyncSync(fd)
            if (torn) this.log.warn('spool segment had an incomplete tail (interrupted write); truncated', {segment: path, offset: pos, bytes: next - pos})
            else this.log.error('spool segment had a damaged last record; cut it off and kept its bytes', {segment: path, offset: pos, bytes: next - pos, keptIn: keep})
            break
          }
          this.log.error('spool record is damaged; skipped to the next valid record', {segment: path, offset: pos, bytes: next - pos})
          seg.damaged.push({from: pos, to: next})
          if (pos < consumed && next > consumed) consumed = next
          pos = next
          continue
        }
        if (pos >= consumed) addTally(seg.pending, record.input, record.points)
        else if (pos + PREFIX_LEN + bodyLen > consumed) consumed = pos // the ack position was not on a record boundary
        pos += PREFIX_LEN + bodyLen
      }
      if (consumed > pos) consumed = pos
      seg.size = pos
      return seg
    } finally {
      try {
        closeSync(fd)
      } catch {}
    }
  }
}

/**
 * The offset of the first valid record at or after `from` (before `end`), or `end`. A valid
 * record: a sane length that fits, a known precision, an input name inside the body, and a
 * matching CRC-32 — the checksum makes a false match about one in four billion per candidate.
 */
function findNextRecord(fd: number, from: number, end: number): number {
  const WINDOW = 1 << 20
  for (let base = from; base < end; base += WINDOW) {
    const buf = readRange(fd, base, Math.min(end - base, WINDOW + PREFIX_LEN + FIXED_BODY_LEN))
    const candidates = Math.min(buf.length, WINDOW)
    for (let i = 0; i < candidates; i++) {
      const at = base + i
      if (i + PREFIX_LEN + FIXED_BODY_LEN > buf.length) break
      const bodyLen = buf.readUInt32LE(i)
      if (bodyLen < FIXED_BODY_LEN || bodyLen > MAX_RECORD_BYTES || at + PREFIX_LEN + bodyLen > end) continue
      if (buf[i + PREFIX_LEN + 12]! >= PRECISION_CODES.length || FIXED_BODY_LEN + buf[i + PREFIX_LEN + 13]! > bodyLen) continue
      const frame = i + PREFIX_LEN + bodyLen <= buf.length ? buf : readRange(fd, at, PREFIX_LEN + bodyLen)
      if (decodeRecord(frame, frame === buf ? i : 0, bodyLen)) return at
    }
  }
  return end
}

/**
 * What a damaged record held, from its header: the frame's input name and point count when they
 * look sound (a name of printable characters, no more points than payload bytes), else the
 * payload's lines (one point each) under the input `(damaged)`.
 */
function damagedRecordCounts(region: Buffer): {input: string; points: number} {
  const lines = (from: number) => {
    let n = 0
    for (let i = from; i < region.length; i++) if (region[i] === 10) n++
    return n
  }
  if (region.length < PREFIX_LEN + FIXED_BODY_LEN) return {input: '(damaged)', points: lines(0)}
  const points = region.readUInt32LE(PREFIX_LEN + 8)
  const nameLen = region[PREFIX_LEN + 13]!
  const payloadAt = PREFIX_LEN + FIXED_BODY_LEN + nameLen
  const name = region.toString('utf8', PREFIX_LEN + FIXED_BODY_LEN, Math.min(region.length, payloadAt))
  const payloadBytes = region.length - payloadAt
  if (payloadBytes > 0 && points > 0 && points <= payloadBytes && /^[\x21-\x7e]{1,255}$/.test(name)) return {input: name, points}
  return {input: '(damaged)', points: lines(Math.min(region.length, payloadAt))}
}

/** Points of a batch per input. */
export function pointsByInput(batch: SpoolBatch): Map<string, number> {
  const byInput = new Map<string, number>()
  for (const r of batch.records) byInput.set(r.input, (byInput.get(r.input) ?? 0) + r.points)
  return byInput
}

function effectiveSegmentBytes(segmentBytes: number, maxBytes: number): number {
  // dropping works on whole segments: keep several per max_bytes so a drop loses a small part
  return Math.max(MIN_SEGMENT_BYTES, Math.min(segmentBytes, Math.floor(maxBytes / 4)))
}

function decodeRecord(buf: Buffer, at: number, bodyLen: number): SpoolRecord | undefined {
  const body = buf.subarray(at + PREFIX_LEN, at + PREFIX_LEN + bodyLen)
  if (crc32(body) !== buf.readUInt32LE(at + 4)) return undefined
  const precision = PRECISION_CODES[body.readUInt8(12)]
  const nameLen = body.readUInt8(13)
  if (!precision || FIXED_BODY_LEN + nameLen > bodyLen) return undefined
  return {
    appendedAt: body.readDoubleLE(0),
    points: body.readUInt32LE(8),
    precision,
    input: body.toString('utf8', FIXED_BODY_LEN, FIXED_BODY_LEN + nameLen),
    payload: body.subarray(FIXED_BODY_LEN + nameLen),
  }
}

function sliceBuffers(buffers: Buffer[], skip: number): Buffer[] {
  const out: Buffer[] = []
  for (const b of buffers) {
    if (skip >= b.length) {
      skip -= b.length
      continue
    }
    out.push(skip > 0 ? b.subarray(skip) : b)
    skip = 0
  }
  return out
}

function readRange(fd: number, pos: number, len: number): Buffer {
  const buf = Buffer.allocUnsafe(len)
  let got = 0
  while (got < len) {
    const n = readSync(fd, buf, got, len - got, pos + got)
    if (n === 0) break
    got += n
  }
  return buf.subarray(0, got)
}

async function readAt(handle: FileHandle, pos: number, len: number): Promise<Buffer> {
  const buf = Buffer.allocUnsafe(len)
  let got = 0
  while (got < len) {
    const {bytesRead} = await handle.read(buf, got, len - got, pos + got)
    if (bytesRead === 0) break
    got += bytesRead
  }
  return buf.subarray(0, got)
}

function syncDir(dir: string): void {
  try {
    const fd = openSync(dir, 'r')
    try {
      fdatasyncSync(fd)
    } finally {
      closeSync(fd)
    }
  } catch {
    // not every filesystem lets a directory be synced
  }
}

// ---------------------------------------------------------------------------------------------
// One process per spool

/** Where the spool of a data directory lives. */
export function spoolDir(dataDir: string): string {
  return join(dataDir, 'spool')
}

/**
 * Frees the spool reserve of a data directory (a process starting on a full disk, before it has a
 * spool: the daemon's own lock); returns whether there was one.
 */
export function releaseDiskReserve(dataDir: string): boolean {
  return new DiskReserve(join(spoolDir(dataDir), RESERVE_FILE), 0).release()
}

/** Bytes of a file, 0 when missing (tests, status). */
export function fileBytes(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}
