import {deflateRawSync, inflateRawSync} from 'node:zlib'

/**
 * Chunk encoding for the embedded store: a run of (timestamp, value) pairs of one series field,
 * sorted by time, stored as one compressed blob.
 *
 *   header:  version byte, value mode byte, point count (varint)
 *   times:   first timestamp (zigzag varint), first delta (varint), then delta-of-deltas (zigzag
 *            varints) — a regular interval costs one zero byte per point before compression
 *   values:  DECIMAL: a scale k (values are exact multiples of 10^-k: counters, percentages with
 *                     few decimals) then zigzag deltas of the scaled integers
 *            FLOAT:   the 64-bit patterns XORed with the previous value (Gorilla's idea without
 *                     bit packing: equal leading bytes become zeros that deflate removes)
 *            STRING:  JSON array of strings
 *   then the whole thing is deflated (raw, level 1: fast, and it squeezes the zero runs), behind a
 *   one-byte packing tag.
 *
 * Numbers are JS doubles throughout; integers are exact up to 2^53.
 */
const VERSION = 3
const MODE_DECIMAL = 0
const MODE_FLOAT = 1
const MODE_STRING = 2
const MAX_SCALE = 9
const POW10 = Array.from({length: MAX_SCALE + 1}, (_, i) => 10 ** i)

class Writer {
  buf: Uint8Array
  pos = 0

  constructor(size: number) {
    this.buf = new Uint8Array(Math.max(64, size))
  }

  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const next = new Uint8Array(Math.max(this.buf.length * 2, this.pos + n))
    next.set(this.buf.subarray(0, this.pos))
    this.buf = next
  }

  byte(b: number): void {
    this.ensure(1)
    this.buf[this.pos++] = b
  }

  /** unsigned varint of a non-negative safe integer */
  uvarint(v: number): void {
    this.ensure(8)
    const buf = this.buf
    let pos = this.pos
    while (v >= 0x80) {
      buf[pos++] = (v % 0x80) | 0x80
      v = Math.floor(v / 0x80)
    }

    buf[pos++] = v
    this.pos = pos
  }

  varint(v: number): void {
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1)
  }

  bytes(b: Uint8Array): void {
    this.ensure(b.length)
    this.buf.set(b, this.pos)
    this.pos += b.length
  }
}

class Reader {
  pos = 0
  constructor(readonly buf: Uint8Array) {}

  byte(): number {
    return this.buf[this.pos++]
  }

  uvarint(): number {
    const buf = this.buf
    let pos = this.pos
    let b = buf[pos++]
    let v = b & 0x7f
    let mul = 0x80
    while (b & 0x80) {
      b = buf[pos++]
      v += (b & 0x7f) * mul
      mul *= 0x80
    }

    this.pos = pos
    return v
  }

  varint(): number {
    const z = this.uvarint()
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2
  }
}

/** Smallest k such that every value is an exact multiple of 10^-k with safe scaled deltas, or -1. */
function decimalScale(values: ArrayLike<number>, n: number): number {
  let k = 0
  let p = 1
  for (let i = 0; i < n; i++) {
    const v = values[i]
    for (;;) {
      const s = Math.round(v * p)
      if (s / p === v && Math.abs(s) <= 2 ** 50) break
      if (++k > MAX_SCALE || !Number.isFinite(v)) return -1
      p = POW10[k]
      i = -1 // rescan from the start at the new scale
      break
    }
  }

  return k
}

/** First byte of a stored blob: how the rest is packed. Small write-time chunks skip deflate (it
 * costs ~15 µs a call); compaction rewrites them compressed. */
const PACK_PLAIN = 0
const PACK_DEFLATE = 1

function writeTimestamps(w: Writer, ts: ArrayLike<number>): void {
  const n = ts.length
  w.uvarint(n)
  if (n === 0) return
  w.varint(ts[0])
  let prevDelta = 0
  for (let i = 1; i < n; i++) {
    const delta = ts[i] - ts[i - 1]
    if (i === 1) w.uvarint(delta)
    else w.varint(delta - prevDelta)
    prevDelta = delta
  }
}

function readTimestamps(r: Reader): Float64Array {
  const n = r.uvarint()
  const ts = new Float64Array(n)
  if (n === 0) return ts
  ts[0] = r.varint()
  let delta = 0
  for (let i = 1; i < n; i++) {
    delta = i === 1 ? r.uvarint() : delta + r.varint()
    ts[i] = ts[i - 1] + delta
  }

  return ts
}

/** One value column: a mode byte, then decimal-scaled deltas, XORed doubles or a JSON string array. */
function writeValues(w: Writer, values: ArrayLike<number> | string[], n: number): void {
  if (n > 0 && typeof values[0] === 'string') {
    w.byte(MODE_STRING)
    const json = Buffer.from(JSON.stringify(Array.prototype.slice.call(values, 0, n)), 'utf8')
    w.uvarint(json.length)
    w.bytes(json)
    return
  }

  const nums = values as ArrayLike<number>
  const scale = decimalScale(nums, n)
  if (scale >= 0) {
    w.byte(MODE_DECIMAL)
    w.byte(scale)
    const p = POW10[scale]
    let prev = 0
    for (let i = 0; i < n; i++) {
      const v = Math.round(nums[i] * p)
      w.varint(v - prev)
      prev = v
    }

    return
  }

  w.byte(MODE_FLOAT)
  const f = new Float64Array(n)
  for (let i = 0; i < n; i++) f[i] = nums[i]
  const words = new Uint32Array(f.buffer)
  for (let i = words.length - 1; i >= 2; i--) words[i] ^= words[i - 2]
  w.bytes(new Uint8Array(f.buffer))
}

function readValues(r: Reader, n: number): Float64Array | string[] {
  const mode = r.byte()
  if (mode === MODE_DECIMAL) {
    const p = POW10[r.byte()]
    const values = new Float64Array(n)
    let v = 0
    for (let i = 0; i < n; i++) {
      v += r.varint()
      values[i] = v / p
    }

    return values
  }

  if (mode === MODE_FLOAT) {
    const bytes = new Uint8Array(n * 8)
    bytes.set(r.buf.subarray(r.pos, r.pos + n * 8))
    r.pos += n * 8
    const words = new Uint32Array(bytes.buffer)
    for (let i = 2; i < words.length; i++) words[i] ^= words[i - 2]
    return new Float64Array(bytes.buffer)
  }

  if (mode === MODE_STRING) {
    const len = r.uvarint()
    const json = Buffer.from(r.buf.buffer, r.buf.byteOffset + r.pos, len).toString('utf8')
    r.pos += len
    return JSON.parse(json) as string[]
  }

  throw new Error(`unknown chunk value mode ${mode}`)
}

function pack(w: Writer, compress: boolean): Buffer {
  const body = w.buf.subarray(0, w.pos)
  const packed = compress ? deflateRawSync(body, {level: 1}) : body
  const out = Buffer.allocUnsafe(packed.length + 1)
  out[0] = compress ? PACK_DEFLATE : PACK_PLAIN
  out.set(packed, 1)
  return out
}

function unpack(blob: Uint8Array, kind: number): Reader {
  const r = new Reader(blob[0] === PACK_DEFLATE ? inflateRawSync(blob.subarray(1)) : blob.subarray(1))
  const version = r.byte()
  if (version !== kind) throw new Error(`unknown chunk encoding version ${version}`)
  return r
}

export function encodeChunk(ts: ArrayLike<number>, values: ArrayLike<number> | string[], opts: {compress?: boolean} = {}): Buffer {
  const w = new Writer(ts.length * 4 + 16)
  w.byte(VERSION)
  writeTimestamps(w, ts)
  writeValues(w, values, ts.length)
  return pack(w, opts.compress !== false)
}

export function isCompressed(blob: Uint8Array): boolean {
  return blob[0] === PACK_DEFLATE
}

export interface DecodedChunk {
  ts: Float64Array
  values: Float64Array | string[]
}

export function decodeChunk(blob: Uint8Array): DecodedChunk {
  const r = unpack(blob, VERSION)
  const ts = readTimestamps(r)
  return {ts, values: readValues(r, ts.length)}
}

/** One rollup bucket: enough to answer mean, sum, count, min, max, first, last and spread exactly. */
export interface Bucket {
  n: number
  sum: number
  min: number
  max: number
  first: number
  last: number
}

/** Rollup buckets column by column (what queries iterate without building an object per bucket). */
export interface BucketColumns {
  ts: Float64Array
  n: Float64Array
  sum: Float64Array
  min: Float64Array
  max: Float64Array
  first: Float64Array
  last: Float64Array
}

const BUCKET_COLUMNS = ['n', 'sum', 'min', 'max', 'first', 'last'] as const
const ROLLUP_VERSION = 4

export type BucketColumn = (typeof BUCKET_COLUMNS)[number]

/**
 * A run of rollup buckets: the bucket timestamps once, then one value column per aggregate, each
 * behind its byte length so a query decodes only the columns its function needs.
 */
export function encodeRollup(ts: number[], buckets: Bucket[], opts: {compress?: boolean} = {}): Buffer {
  const w = new Writer(ts.length * 12 + 16)
  w.byte(ROLLUP_VERSION)
  writeTimestamps(w, ts)
  for (const col of BUCKET_COLUMNS) {
    const cw = new Writer(ts.length * 2 + 8)
    writeValues(cw, buckets.map((b) => b[col]), ts.length)
    w.uvarint(cw.pos)
    w.bytes(cw.buf.subarray(0, cw.pos))
  }

  return pack(w, opts.compress !== false)
}

const EMPTY = new Float64Array(0)

/** Decodes the bucket timestamps and the requested columns (the others are left empty). */
export function decodeRollupColumns(blob: Uint8Array, need: ReadonlySet<BucketColumn> = ALL_BUCKET_COLUMNS): BucketColumns {
  const r = unpack(blob, ROLLUP_VERSION)
  const ts = readTimestamps(r)
  const out: BucketColumns = {ts, n: EMPTY, sum: EMPTY, min: EMPTY, max: EMPTY, first: EMPTY, last: EMPTY}
  for (const col of BUCKET_COLUMNS) {
    const len = r.uvarint()
    const next = r.pos + len
    if (need.has(col)) out[col] = readValues(r, ts.length) as Float64Array
    r.pos = next
  }

  return out
}

export const ALL_BUCKET_COLUMNS: ReadonlySet<BucketColumn> = new Set(BUCKET_COLUMNS)

export function decodeRollup(blob: Uint8Array): {ts: number[]; values: Bucket[]} {
  const c = decodeRollupColumns(blob)
  const values: Bucket[] = []
  for (let i = 0; i < c.ts.length; i++) values.push({n: c.n[i], sum: c.sum[i], min: c.min[i], max: c.max[i], first: c.first[i], last: c.last[i]})
  return {ts: Array.from(c.ts), values}
}
