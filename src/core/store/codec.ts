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
const VERSION = 1
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

export function encodeChunk(ts: ArrayLike<number>, values: ArrayLike<number> | string[], opts: {compress?: boolean} = {}): Buffer {
  const n = ts.length
  const w = new Writer(n * 4 + 16)
  const isString = n > 0 && typeof values[0] === 'string'
  let mode = MODE_STRING
  let scale = 0
  if (!isString) {
    scale = decimalScale(values as ArrayLike<number>, n)
    mode = scale >= 0 ? MODE_DECIMAL : MODE_FLOAT
  }

  w.byte(VERSION)
  w.byte(mode)
  w.uvarint(n)
  if (n > 0) {
    w.varint(ts[0])
    let prevDelta = 0
    for (let i = 1; i < n; i++) {
      const delta = ts[i] - ts[i - 1]
      if (i === 1) w.uvarint(delta)
      else w.varint(delta - prevDelta)
      prevDelta = delta
    }
  }

  if (mode === MODE_DECIMAL) {
    const nums = values as ArrayLike<number>
    const p = POW10[scale]
    w.byte(scale)
    let prev = 0
    for (let i = 0; i < n; i++) {
      const s = Math.round(nums[i] * p)
      w.varint(s - prev)
      prev = s
    }
  } else if (mode === MODE_FLOAT) {
    const f = new Float64Array(n)
    for (let i = 0; i < n; i++) f[i] = (values as ArrayLike<number>)[i]
    const words = new Uint32Array(f.buffer)
    for (let i = words.length - 1; i >= 2; i--) words[i] ^= words[i - 2]
    w.bytes(new Uint8Array(f.buffer))
  } else {
    w.bytes(Buffer.from(JSON.stringify(Array.prototype.slice.call(values, 0, n)), 'utf8'))
  }

  const body = w.buf.subarray(0, w.pos)
  if (opts.compress === false) {
    const out = Buffer.allocUnsafe(body.length + 1)
    out[0] = PACK_PLAIN
    out.set(body, 1)
    return out
  }

  const packed = deflateRawSync(body, {level: 1})
  const out = Buffer.allocUnsafe(packed.length + 1)
  out[0] = PACK_DEFLATE
  out.set(packed, 1)
  return out
}

export function isCompressed(blob: Uint8Array): boolean {
  return blob[0] === PACK_DEFLATE
}

export interface DecodedChunk {
  ts: Float64Array
  values: Float64Array | string[]
}

export function decodeChunk(blob: Uint8Array): DecodedChunk {
  const raw = blob[0] === PACK_DEFLATE ? inflateRawSync(blob.subarray(1)) : blob.subarray(1)
  const r = new Reader(raw)
  const version = r.byte()
  if (version !== VERSION) throw new Error(`unknown chunk encoding version ${version}`)
  const mode = r.byte()
  const n = r.uvarint()
  const ts = new Float64Array(n)
  if (n > 0) {
    ts[0] = r.varint()
    let delta = 0
    for (let i = 1; i < n; i++) {
      delta = i === 1 ? r.uvarint() : delta + r.varint()
      ts[i] = ts[i - 1] + delta
    }
  }

  if (mode === MODE_DECIMAL) {
    const p = POW10[r.byte()]
    const values = new Float64Array(n)
    let s = 0
    for (let i = 0; i < n; i++) {
      s += r.varint()
      values[i] = s / p
    }

    return {ts, values}
  }

  if (mode === MODE_FLOAT) {
    const bytes = new Uint8Array(n * 8)
    bytes.set(raw.subarray(r.pos, r.pos + n * 8))
    const words = new Uint32Array(bytes.buffer)
    for (let i = 2; i < words.length; i++) words[i] ^= words[i - 2]
    return {ts, values: new Float64Array(bytes.buffer)}
  }

  if (mode === MODE_STRING) {
    return {ts, values: JSON.parse(raw.subarray(r.pos).toString('utf8')) as string[]}
  }

  throw new Error(`unknown chunk value mode ${mode}`)
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

const BUCKET_COLUMNS = ['n', 'sum', 'min', 'max', 'first', 'last'] as const

/**
 * A run of rollup buckets: each column encoded as a chunk over the same bucket timestamps (the
 * repeated timestamps cost next to nothing once deflated), length-prefixed, behind the packing tag.
 */
export function encodeRollup(ts: number[], buckets: Bucket[], opts: {compress?: boolean} = {}): Buffer {
  const parts = BUCKET_COLUMNS.map((col) => encodeChunk(ts, buckets.map((b) => b[col]), {compress: false}))
  const body = Buffer.allocUnsafe(parts.reduce((n, p) => n + 4 + p.length, 0))
  let pos = 0
  for (const p of parts) {
    body.writeUInt32LE(p.length, pos)
    p.copy(body, pos + 4)
    pos += 4 + p.length
  }

  const packed = opts.compress === false ? body : deflateRawSync(body, {level: 1})
  const out = Buffer.allocUnsafe(packed.length + 1)
  out[0] = opts.compress === false ? PACK_PLAIN : PACK_DEFLATE
  out.set(packed, 1)
  return out
}

export function decodeRollup(blob: Uint8Array): {ts: number[]; values: Bucket[]} {
  const body = Buffer.from(blob[0] === PACK_DEFLATE ? inflateRawSync(blob.subarray(1)) : blob.subarray(1))
  const columns: Float64Array[] = []
  let ts: Float64Array = new Float64Array(0)
  let pos = 0
  for (let i = 0; i < BUCKET_COLUMNS.length; i++) {
    const len = body.readUInt32LE(pos)
    const d = decodeChunk(body.subarray(pos + 4, pos + 4 + len))
    ts = d.ts
    columns.push(d.values as Float64Array)
    pos += 4 + len
  }

  const values: Bucket[] = []
  for (let i = 0; i < ts.length; i++) values.push({n: columns[0][i], sum: columns[1][i], min: columns[2][i], max: columns[3][i], first: columns[4][i], last: columns[5][i]})
  return {ts: Array.from(ts), values}
}
