import {deflateRawSync, inflateRawSync} from 'node:zlib'
import {inflateCached} from './inflated.js'

/**
 * Chunk encoding for the embedded store: a run of (timestamp, value) pairs of one series field,
 * sorted by time, stored as one blob behind a one-byte packing tag (plain or raw deflate).
 *
 * Version 5 (written now):
 *   header:  version byte, then the timestamps, then one value column
 *   times:   point count (varint), a mode byte; mode 0: first timestamp (zigzag varint), first
 *            delta (zigzag varint), then the delta-of-deltas bit-packed (a regular interval costs
 *            nothing: a block of 128 zeros is two bytes); mode 1 (timestamps beyond ±2^49):
 *            every timestamp as a zigzag varint
 *   values:  a mode byte, then
 *            SCALED:   values are exact integers s once multiplied by 10^k or 2^k (counters, byte
 *                      counts, gauges with a few decimals, fractions with a power-of-two
 *                      denominator): the scale, s₀, the greatest common divisor g of the deltas,
 *                      then the deltas ÷ g bit-packed
 *            RATIO:    values that are exact fractions 100 × p / q of one denominator q (Telegraf's
 *                      mem used_percent = 100 × used / total; order byte 1: p / q × 100, as disk
 *                      used_percent): the order, q, p₀, the gcd of the deltas, the deltas bit-packed
 *            RESIDUAL: values close to a k-decimal number (a ratio such as 100 × Δa / Δb that
 *                      float arithmetic left with noise in its last digits): the k-decimal
 *                      numbers as SCALED, then how many representable doubles (ULPs) each value
 *                      lies from its decimal, bit-packed
 *            SCALED and RESIDUAL end with where the values are -0 (a count, then index deltas).
 *            FLOAT:    the 64-bit patterns XORed with the previous value (Gorilla's idea without
 *                      bit packing); any double, NaN payloads included
 *            STRING:   JSON array of strings
 *   Bit-packing: blocks of 128 signed integers, each block its minimum (zigzag varint) and a bit
 *   width, then every value minus the minimum in that many bits. Compaction (`compress`) tries
 *   every coding that applies and keeps the smallest, checks that it decodes to the same 64-bit
 *   patterns (else stores the XORed doubles), then deflates (level 6) when that is smaller still;
 *   write-time chunks take the first coding that applies and skip deflate.
 * Version 3 (read only): timestamps as varint delta-of-deltas, values DECIMAL (k ≤ 9, zigzag varint
 *   deltas), FLOAT or STRING; deflated at level 1.
 *
 * Numbers are JS doubles throughout; integers are exact up to 2^53.
 */
const VERSION = 5
const VERSION_V3 = 3
const MODE_DECIMAL = 0
const MODE_FLOAT = 1
const MODE_STRING = 2
const MODE_SCALED = 3
const MODE_RESIDUAL = 4
const MODE_RATIO = 5
const MAX_SCALE = 9
const POW10 = Array.from({length: 23}, (_, i) => 10 ** i)
/** powers of two: exact */
const POW2 = Array.from({length: 64}, (_, i) => 2 ** i)
/** largest scaled integer the v5 codings take: deltas and block ranges stay exact doubles */
const SCALED_LIMIT = 2 ** 51
/** scale codes: 0–15 → 10^k, 64 + k → 2^k */
const MAX_DECIMAL = 15
const BINARY = 64
const BLOCK = 128
/** RESIDUAL's scale byte: this bit set when the residuals are stored as deltas */
const RESIDUAL_DELTAS = 0x80
/** values the residual scales are ranked on before the best two are tried on all of them */
const RESIDUAL_SAMPLE = 256

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

const EMPTY_F64 = new Float64Array(0)

/**
 * Reusable output arrays for decoding (decodeChunk's `scratch`): a query that reads chunk after
 * chunk and is done with each before the next decodes them all into the same few buffers instead
 * of allocating (and later collecting) arrays of up to 8,192 doubles per chunk. What a decode
 * returns are views of these buffers, valid until the next decode into the same scratch.
 */
export class DecodeScratch {
  private readonly buffers: Float64Array[] = [EMPTY_F64, EMPTY_F64, EMPTY_F64]

  /** `n` doubles of buffer `slot` (0 timestamps, 1 values, 2 residuals); contents undefined. */
  take(slot: number, n: number): Float64Array {
    let b = this.buffers[slot]
    if (b.length < n) this.buffers[slot] = b = new Float64Array(Math.max(n, b.length * 2, 1024))
    return b.length === n ? b : b.subarray(0, n)
  }
}

function f64(n: number, scratch: DecodeScratch | undefined, slot: number): Float64Array {
  return scratch ? scratch.take(slot, n) : new Float64Array(n)
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

function readTimestamps(r: Reader, scratch?: DecodeScratch): Float64Array {
  const n = r.uvarint()
  const ts = f64(n, scratch, 0)
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

function readValues(r: Reader, n: number, scratch?: DecodeScratch): Float64Array | string[] {
  const mode = r.byte()
  if (mode === MODE_DECIMAL) {
    const p = POW10[r.byte()]
    const values = f64(n, scratch, 1)
    let v = 0
    for (let i = 0; i < n; i++) {
      v += r.varint()
      values[i] = v / p
    }

    return values
  }

  if (mode === MODE_FLOAT) {
    const out = f64(n, scratch, 1)
    new Uint8Array(out.buffer, out.byteOffset, n * 8).set(r.buf.subarray(r.pos, r.pos + n * 8))
    r.pos += n * 8
    const words = new Uint32Array(out.buffer, out.byteOffset, n * 2)
    for (let i = 2; i < words.length; i++) words[i] ^= words[i - 2]
    return out
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

/** Version 5 packing: plain, or deflated (level 6: level 9 saves under 0.1 % here and costs a third more time) when `tryDeflate` and that is smaller. */
function packSmallest(body: Uint8Array, tryDeflate: boolean): Buffer {
  if (tryDeflate) {
    const d = deflateRawSync(body, {level: 6})
    if (d.length < body.length) {
      const out = Buffer.allocUnsafe(d.length + 1)
      out[0] = PACK_DEFLATE
      out.set(d, 1)
      return out
    }
  }

  const out = Buffer.allocUnsafe(body.length + 1)
  out[0] = PACK_PLAIN
  out.set(body, 1)
  return out
}

function unpackAny(blob: Uint8Array): Reader {
  return new Reader(blob[0] === PACK_DEFLATE ? inflateRawSync(blob.subarray(1)) : blob.subarray(1))
}

function unpack(blob: Uint8Array, kind: number): Reader {
  const r = unpackAny(blob)
  const version = r.byte()
  if (version !== kind) throw new Error(`unknown chunk encoding version ${version}`)
  return r
}

// ---------------------------------------------------------------- version 5: bit-packed integers

/** Bits needed for a non-negative integer up to 2^53. */
function bitWidth(range: number): number {
  let w = 0
  while (w < 54 && POW2[w] <= range) w++
  return w
}

function varintBytes(z: number): number {
  let n = 1
  while (z >= 0x80) {
    z = Math.floor(z / 0x80)
    n++
  }

  return n
}

/** Bytes writePacked would take for xs[from, to). */
function packedSize(xs: ArrayLike<number>, from: number, to: number): number {
  let size = 0
  for (let b = from; b < to; b += BLOCK) {
    const end = Math.min(to, b + BLOCK)
    let min = xs[b]
    let max = xs[b]
    for (let i = b + 1; i < end; i++) {
      const x = xs[i]
      if (x < min) min = x
      else if (x > max) max = x
    }

    size += varintBytes(min >= 0 ? min * 2 : -min * 2 - 1) + 1 + Math.ceil(((end - b) * bitWidth(max - min)) / 8)
  }

  return size
}

/** Signed integers xs[from, to) (|x| ≤ 2^52) in blocks of 128: minimum, bit width, then x − minimum in that many bits. */
function writePacked(w: Writer, xs: ArrayLike<number>, from: number, to: number): void {
  for (let b = from; b < to; b += BLOCK) {
    const end = Math.min(to, b + BLOCK)
    let min = xs[b]
    let max = xs[b]
    for (let i = b + 1; i < end; i++) {
      const x = xs[i]
      if (x < min) min = x
      else if (x > max) max = x
    }

    const width = bitWidth(max - min)
    w.varint(min)
    w.byte(width)
    if (width === 0) continue
    w.ensure(Math.ceil(((end - b) * width) / 8) + 8)
    const buf = w.buf
    let pos = w.pos
    let acc = 0
    let nb = 0
    if (width <= 24) {
      for (let i = b; i < end; i++) {
        acc |= (xs[i] - min) << nb
        nb += width
        while (nb >= 8) {
          buf[pos++] = acc & 0xff
          acc >>>= 8
          nb -= 8
        }
      }
    } else {
      for (let i = b; i < end; i++) {
        let v = xs[i] - min
        for (let left = width; left > 0; ) {
          const take = left < 16 ? left : 16
          const piece = v % POW2[take]
          v = (v - piece) / POW2[take]
          acc |= piece << nb
          nb += take
          left -= take
          while (nb >= 8) {
            buf[pos++] = acc & 0xff
            acc >>>= 8
            nb -= 8
          }
        }
      }
    }

    if (nb > 0) buf[pos++] = acc & 0xff
    w.pos = pos
  }
}

/** Reads what writePacked wrote into out[from, to); true when all of it is 0 (every block a 0 with no bits). */
function readPacked(r: Reader, out: Float64Array, from: number, to: number): boolean {
  const buf = r.buf
  let zeros = true
  for (let b = from; b < to; b += BLOCK) {
    const end = Math.min(to, b + BLOCK)
    const min = r.varint()
    const width = r.byte()
    if (width === 0) {
      out.fill(min, b, end)
      if (min !== 0) zeros = false
      continue
    }

    zeros = false

    let pos = r.pos
    let acc = 0
    let nb = 0
    if (width <= 24) {
      const mask = POW2[width] - 1
      for (let i = b; i < end; i++) {
        while (nb < width) {
          acc |= buf[pos++] << nb
          nb += 8
        }

        out[i] = min + ((acc & mask) >>> 0)
        acc >>>= width
        nb -= width
      }
    } else {
      for (let i = b; i < end; i++) {
        let v = 0
        let mul = 1
        for (let left = width; left > 0; ) {
          const take = left < 16 ? left : 16
          while (nb < take) {
            acc |= buf[pos++] << nb
            nb += 8
          }

          v += (acc & (POW2[take] - 1)) * mul
          acc >>>= take
          nb -= take
          mul *= POW2[take]
          left -= take
        }

        out[i] = min + v
      }
    }

    r.pos = pos
  }

  return zeros
}

// ---------------------------------------------------------------- version 5: timestamps

const TS_DOD = 0
const TS_PLAIN = 1
const TS_LIMIT = 2 ** 49

function writeTimestamps5(w: Writer, ts: ArrayLike<number>): void {
  const n = ts.length
  w.uvarint(n)
  if (n === 0) return
  let small = true
  for (let i = 0; i < n; i++) if (!(Math.abs(ts[i]) <= TS_LIMIT)) small = false
  if (!small) {
    w.byte(TS_PLAIN)
    for (let i = 0; i < n; i++) w.varint(ts[i])
    return
  }

  w.byte(TS_DOD)
  w.varint(ts[0])
  if (n === 1) return
  w.varint(ts[1] - ts[0])
  const dod = new Float64Array(n)
  for (let i = 2; i < n; i++) dod[i] = ts[i] - ts[i - 1] - (ts[i - 1] - ts[i - 2])
  writePacked(w, dod, 2, n)
}

function readTimestamps5(r: Reader, scratch?: DecodeScratch): Float64Array {
  const n = r.uvarint()
  const ts = f64(n, scratch, 0)
  if (n === 0) return ts
  if (r.byte() === TS_PLAIN) {
    for (let i = 0; i < n; i++) ts[i] = r.varint()
    return ts
  }

  const t0 = r.varint()
  ts[0] = t0
  if (n === 1) return ts
  let delta = r.varint()
  ts[1] = t0 + delta
  if (readPacked(r, ts, 2, n)) {
    // every delta-of-delta 0 (a regular interval, as a collector writes): each time on its own,
    // not one after the other (the same integers: all exact below TS_LIMIT)
    for (let i = 2; i < n; i++) ts[i] = t0 + i * delta
    return ts
  }
  for (let i = 2; i < n; i++) {
    delta += ts[i]
    ts[i] = ts[i - 1] + delta
  }

  return ts
}

// ---------------------------------------------------------------- version 5: values

const F64 = new Float64Array(1)
const U32 = new Uint32Array(F64.buffer)

function scaleOf(code: number): number {
  return code >= BINARY ? POW2[code - BINARY] : POW10[code]
}

/** The scaled integers of every value at this scale (as a decoder would divide them back, -0 as 0), or false when one is not exact. */
function scaled(values: ArrayLike<number>, n: number, code: number, out: Float64Array): boolean {
  const f = scaleOf(code)
  for (let i = 0; i < n; i++) {
    const v = values[i]
    const s = Math.round(v * f) + 0 // +0: never -0
    if (!(Math.abs(s) <= SCALED_LIMIT) || s / f !== v) return false
    out[i] = s
  }

  return true
}

/** Where the values are -0 (SCALED and RESIDUAL decode them as 0, then put these back). */
function negativeZeros(values: ArrayLike<number>, n: number): number[] {
  const out: number[] = []
  for (let i = 0; i < n; i++) if (values[i] === 0 && 1 / values[i] < 0) out.push(i)
  return out
}

function writeNegativeZeros(w: Writer, at: number[]): void {
  w.uvarint(at.length)
  let prev = 0
  for (const i of at) {
    w.uvarint(i - prev)
    prev = i
  }
}

function readNegativeZeros(r: Reader, out: Float64Array): void {
  let i = 0
  for (let k = r.uvarint(); k > 0; k--) {
    i += r.uvarint()
    out[i] = -0
  }
}

/** Deltas of s (from index 1) divided by their greatest common divisor, into d; returns the divisor. */
function deltasOver(s: Float64Array, n: number, d: Float64Array): number {
  let g = 0
  for (let i = 1; i < n; i++) {
    let a = Math.abs(s[i] - s[i - 1])
    let b = g
    while (b !== 0) {
      const t = a % b
      a = b
      b = t
    }

    g = a
    if (g === 1) break
  }

  if (g === 0) g = 1
  for (let i = 1; i < n; i++) d[i] = (s[i] - s[i - 1]) / g
  return g
}

interface Coding {
  size: number
  write(w: Writer): void
}

function scaledCoding(code: number, s: Float64Array, n: number, negZeros: number[]): Coding {
  const d = new Float64Array(n)
  const g = deltasOver(s, n, d)
  return {
    size: 12 + packedSize(d, 1, n) + negZeros.length * 2,
    write(w) {
      w.byte(MODE_SCALED)
      w.byte(code)
      w.varint(s[0])
      w.uvarint(g)
      writePacked(w, d, 1, n)
      writeNegativeZeros(w, negZeros)
    },
  }
}

/** Distances in ULPs of each value from s/10^k, or undefined when one is not close (or not finite, or of the other sign). */
function residualCoding(values: ArrayLike<number>, n: number, k: number, negZeros: number[]): Coding | undefined {
  const f = POW10[k]
  const s = new Float64Array(n)
  const res = new Float64Array(n)
  for (let i = 0; i < n; i++) {
    const v = values[i] + 0 // -0 is put back from the list
    if (!Number.isFinite(v)) return undefined
    const si = Math.round(v * f) + 0
    if (!(Math.abs(si) <= SCALED_LIMIT)) return undefined
    F64[0] = v
    const hv = U32[1]
    const lv = U32[0]
    F64[0] = si / f
    const hb = U32[1]
    const lb = U32[0]
    if ((hv ^ hb) & 0x80000000) return undefined
    const r = ((hv & 0x7fffffff) - (hb & 0x7fffffff)) * 4_294_967_296 + (lv - lb)
    if (!(Math.abs(r) <= SCALED_LIMIT)) return undefined
    s[i] = si
    res[i] = r
  }

  const d = new Float64Array(n)
  const g = deltasOver(s, n, d)
  // residuals as they are, or as deltas (repeated values repeat their residual)
  const resDelta = new Float64Array(n)
  resDelta[0] = res[0]
  for (let i = 1; i < n; i++) resDelta[i] = res[i] - res[i - 1]
  const plainSize = packedSize(res, 0, n)
  const deltaSize = packedSize(resDelta, 0, n)
  const useDelta = deltaSize < plainSize
  return {
    size: 12 + packedSize(d, 1, n) + Math.min(plainSize, deltaSize) + negZeros.length * 2,
    write(w) {
      w.byte(MODE_RESIDUAL)
      w.byte(useDelta ? k | RESIDUAL_DELTAS : k)
      w.varint(s[0])
      w.uvarint(g)
      writePacked(w, d, 1, n)
      writePacked(w, useDelta ? resDelta : res, 0, n)
      writeNegativeZeros(w, negZeros)
    },
  }
}

/** RATIO: the denominator limit, and the numerators' (100 × p stays exact). */
const RATIO_Q_LIMIT = 2 ** 40
const RATIO_P_LIMIT = 2 ** 44

/** 100 × p / q (order 0: Telegraf's mem used_percent) or p / q × 100 (order 1: disk used_percent), as the writer computed it. */
function ratioValue(p: number, q: number, order: number): number {
  return order === 0 ? (100 * p) / q : (p / q) * 100
}

/** A finite double as an exact fraction num / den (den a power of two). */
function exactRational(v: number): [bigint, bigint] {
  F64[0] = v
  const hi = U32[1]
  const lo = U32[0]
  const biased = (hi >>> 20) & 0x7ff
  let mant = (BigInt(hi & 0xfffff) << 32n) | BigInt(lo)
  let e = -1074
  if (biased !== 0) {
    mant |= 1n << 52n
    e = biased - 1075
  }

  const num = hi >>> 31 ? -mant : mant
  return e >= 0 ? [num << BigInt(e), 1n] : [num, 1n << BigInt(-e)]
}

/**
 * The smallest denominator q (≤ 2^40) of a fraction p / q that gives exactly v through
 * ratioValue: the continued-fraction convergents of v / 100, in exact arithmetic, tried in turn.
 */
function ratioDenominator(v: number, order: number): number | undefined {
  let [n, d] = exactRational(v)
  d *= 100n
  let h0 = 0n
  let h1 = 1n
  let k0 = 1n
  let k1 = 0n
  while (d !== 0n) {
    let a = n / d
    if (n < 0n && a * d !== n) a -= 1n // floor
    const rest = n - a * d
    n = d
    d = rest
    const h = a * h1 + h0
    const k = a * k1 + k0
    h0 = h1
    h1 = h
    k0 = k1
    k1 = k
    if (k > BigInt(RATIO_Q_LIMIT)) return undefined
    const p = Number(h)
    const q = Number(k)
    if (Math.abs(p) <= RATIO_P_LIMIT && ratioValue(p, q, order) === v) return q
  }

  return undefined
}

function gcd(a: number, b: number): number {
  while (b !== 0) {
    const t = a % b
    a = b
    b = t
  }

  return a
}

/**
 * Values that are exact fractions p / q × 100 of one denominator q (mem used_percent = 100 × used /
 * total, disk used / (used + free) × 100): q found from the first values' continued fractions
 * (their least common multiple when they reduce differently), then the numerators as integers.
 */
function ratioCoding(values: ArrayLike<number>, n: number, negZeros: number[]): Coding | undefined {
  for (const order of [0, 1]) {
    const p = new Float64Array(n)
    let q = 1
    let restarts = 0
    let ok = true
    for (let i = 0; i < n; i++) {
      const v = values[i] + 0 // -0 is put back from the list
      if (!Number.isFinite(v)) return undefined
      const guess = Math.round((v * q) / 100)
      let found = false
      for (const pi of [guess, guess - 1, guess + 1]) {
        if (Math.abs(pi) <= RATIO_P_LIMIT && ratioValue(pi, q, order) === v) {
          p[i] = pi + 0
          found = true
          break
        }
      }

      if (found) continue
      const qi = ratioDenominator(v, order)
      if (qi === undefined || ++restarts > 8) {
        ok = false
        break
      }

      const step = qi / gcd(q, qi)
      if (step > RATIO_Q_LIMIT / q) {
        ok = false
        break
      }

      q *= step
      i = -1 // again from the start with the common denominator
    }

    if (!ok) continue
    const d = new Float64Array(n)
    const g = deltasOver(p, n, d)
    return {
      size: 16 + packedSize(d, 1, n) + negZeros.length * 2,
      write(w) {
        w.byte(MODE_RATIO)
        w.byte(order)
        w.uvarint(q)
        w.varint(p[0])
        w.uvarint(g)
        writePacked(w, d, 1, n)
        writeNegativeZeros(w, negZeros)
      },
    }
  }

  return undefined
}

function floatCoding(values: ArrayLike<number>, n: number): Coding {
  return {
    size: 1 + n * 8,
    write(w) {
      w.byte(MODE_FLOAT)
      const f = new Float64Array(n)
      for (let i = 0; i < n; i++) f[i] = values[i]
      const words = new Uint32Array(f.buffer)
      for (let i = words.length - 1; i >= 2; i--) words[i] ^= words[i - 2]
      w.bytes(new Uint8Array(f.buffer))
    },
  }
}

/**
 * The value column, version 5. Quick (write time): the first decimal scale that is exact, else the
 * XORed doubles. Thorough (compaction): the exact decimal and binary scales, an exact ratio of one
 * denominator, else the residual scales, by their exact packed size; then that or the XORed
 * doubles, whichever is smaller after deflate.
 */
function writeValues5(w: Writer, values: ArrayLike<number> | string[], n: number, thorough: boolean): Writer[] {
  if (n > 0 && typeof values[0] === 'string') {
    writeValues(w, values, n)
    return [w]
  }

  const nums = values as ArrayLike<number>
  if (n === 0) {
    w.byte(MODE_FLOAT)
    return [w]
  }

  const s = new Float64Array(n)
  const negZeros = negativeZeros(nums, n)
  let best: Coding | undefined
  let decimal = -1
  for (let k = 0; k <= MAX_DECIMAL; k++) {
    if (scaled(nums, n, k, s)) {
      best = scaledCoding(k, s, n, negZeros)
      decimal = k
      break
    }
  }

  if (thorough && n > 1) {
    let exact = -1
    // the smallest binary scale: a fraction with a power-of-two denominator (integers took scale 10^0)
    const b = new Float64Array(n)
    for (let k = 1; k <= 60 && exact < 0 && decimal !== 0; k++) if (scaled(nums, n, BINARY + k, b)) exact = k
    if (exact > 0) {
      const c = scaledCoding(BINARY + exact, b, n, negZeros)
      if (!best || c.size < best.size) best = c
    }

    if (!best || decimal > 2) {
      const c = ratioCoding(nums, n, negZeros)
      if (c && (!best || c.size < best.size)) best = c
    }

    if (!best) {
      // every scale on a sample of the first values, then the two best on all of them
      const sample = Math.min(n, RESIDUAL_SAMPLE)
      const ranked: Array<[number, number]> = []
      for (let k = 0; k <= 12; k++) {
        const c = residualCoding(nums, sample, k, [])
        if (c) ranked.push([c.size, k])
      }

      ranked.sort((a, b) => a[0] - b[0])
      for (const [, k] of sample < n ? ranked.slice(0, 2) : ranked.slice(0, 1)) {
        const c = residualCoding(nums, n, k, negZeros)
        if (c && (!best || c.size < best.size)) best = c
      }
    }
  }

  const candidates = best ? [best] : []
  // the XORed doubles deflate well when values repeat or move slowly: let deflate decide
  if (!best || thorough) candidates.push(floatCoding(nums, n))
  if (candidates.length === 1) {
    w.ensure(candidates[0].size + 16)
    candidates[0].write(w)
    return [w]
  }

  return candidates.map((c) => {
    const cw = new Writer(w.pos + c.size + 16)
    cw.bytes(w.buf.subarray(0, w.pos))
    c.write(cw)
    return cw
  })
}

function readValues5(r: Reader, n: number, scratch?: DecodeScratch): Float64Array | string[] {
  const mode = r.buf[r.pos]
  if (mode === MODE_RATIO) return readRatio(r, n, scratch)
  if (mode !== MODE_SCALED && mode !== MODE_RESIDUAL) return readValues(r, n, scratch)
  r.pos++
  const code = r.byte()
  const f = mode === MODE_SCALED ? scaleOf(code) : POW10[code & ~RESIDUAL_DELTAS]
  const out = f64(n, scratch, 1)
  if (n === 0) return out
  out[0] = r.varint()
  const g = r.uvarint()
  readPacked(r, out, 1, n)
  if (mode === MODE_SCALED) {
    // the running integer and its scaling in one pass (the same operations as two passes)
    let s = out[0]
    out[0] = s / f
    for (let i = 1; i < n; i++) {
      s += out[i] * g
      out[i] = s / f
    }
    readNegativeZeros(r, out)
    return out
  }

  for (let i = 1; i < n; i++) out[i] = out[i - 1] + out[i] * g

  const res = f64(n, scratch, 2)
  readPacked(r, res, 0, n)
  if (code & RESIDUAL_DELTAS) for (let i = 1; i < n; i++) res[i] += res[i - 1]
  for (let i = 0; i < n; i++) {
    F64[0] = out[i] / f
    const lo = U32[0] + res[i]
    const carry = Math.floor(lo / 4_294_967_296)
    U32[0] = lo - carry * 4_294_967_296
    U32[1] += carry
    out[i] = F64[0]
  }

  readNegativeZeros(r, out)
  return out
}

function readRatio(r: Reader, n: number, scratch?: DecodeScratch): Float64Array {
  r.pos++
  const order = r.byte()
  const q = r.uvarint()
  const out = f64(n, scratch, 1)
  out[0] = r.varint()
  const g = r.uvarint()
  readPacked(r, out, 1, n)
  for (let i = 1; i < n; i++) out[i] = out[i - 1] + out[i] * g
  if (order === 0) for (let i = 0; i < n; i++) out[i] = (100 * out[i]) / q
  else for (let i = 0; i < n; i++) out[i] = (out[i] / q) * 100
  readNegativeZeros(r, out)
  return out
}

export function encodeChunk(ts: ArrayLike<number>, values: ArrayLike<number> | string[], opts: {compress?: boolean} = {}): Buffer {
  const thorough = opts.compress !== false
  const w = new Writer(ts.length * 4 + 16)
  w.byte(VERSION)
  writeTimestamps5(w, ts)
  const candidates = writeValues5(w, values, ts.length, thorough).map((cw) => cw.buf.subarray(0, cw.pos))
  if (!thorough) return packSmallest(candidates[0], false)
  // rank the candidates by a fast deflate (level 1), then pack the winner as small as it goes
  let body = candidates[0]
  if (candidates.length > 1) {
    let smallest = Number.POSITIVE_INFINITY
    for (const c of candidates) {
      const size = Math.min(c.length, deflateRawSync(c, {level: 1}).length)
      if (size < smallest) {
        smallest = size
        body = c
      }
    }
  }

  if (typeof values[0] !== 'string' && !reproduces(body, ts, values as ArrayLike<number>)) {
    // never store what would not read back bit for bit: the XORed doubles always do
    fallbacks++
    const fw = new Writer(ts.length * 10 + 16)
    fw.byte(VERSION)
    writeTimestamps5(fw, ts)
    floatCoding(values as ArrayLike<number>, ts.length).write(fw)
    body = fw.buf.subarray(0, fw.pos)
  }

  return packSmallest(body, true)
}

let fallbacks = 0

/** How many chunks compaction stored as XORed doubles because their chosen coding did not read back exactly (tests expect 0). */
export function codecFallbacks(): number {
  return fallbacks
}

/** Whether a version 5 body decodes to exactly these timestamps and values (64-bit patterns compared). */
function reproduces(body: Uint8Array, ts: ArrayLike<number>, values: ArrayLike<number>): boolean {
  const r = new Reader(body)
  r.byte()
  const gotTs = readTimestamps5(r)
  const got = readValues5(r, gotTs.length) as Float64Array
  if (gotTs.length !== ts.length || got.length !== ts.length) return false
  for (let i = 0; i < ts.length; i++) if (gotTs[i] !== ts[i]) return false
  const want = new Float64Array(values.length)
  for (let i = 0; i < values.length; i++) want[i] = values[i]
  const a = new Uint32Array(got.buffer, got.byteOffset, got.length * 2)
  const b = new Uint32Array(want.buffer)
  for (let i = 0; i < b.length; i++) if (a[i] !== b[i]) return false
  return true
}

/** The version 3 encoding (what stores written before version 5 hold): for tests of old stores. */
export function encodeChunkV3(ts: ArrayLike<number>, values: ArrayLike<number> | string[], opts: {compress?: boolean} = {}): Buffer {
  const w = new Writer(ts.length * 4 + 16)
  w.byte(VERSION_V3)
  writeTimestamps(w, ts)
  writeValues(w, values, ts.length)
  return pack(w, opts.compress !== false)
}

export function isCompressed(blob: Uint8Array): boolean {
  return blob[0] === PACK_DEFLATE
}

/** The encoding version of a chunk blob (3 or 5). */
export function chunkVersion(blob: Uint8Array): number {
  return unpackAny(blob).byte()
}

export interface DecodedChunk {
  ts: Float64Array
  values: Float64Array | string[]
}

/**
 * A chunk's timestamps and values. With `scratch` the arrays are views of its buffers (see
 * {@link DecodeScratch}): read them before the next decode into it.
 */
export function decodeChunk(blob: Uint8Array, scratch?: DecodeScratch): DecodedChunk {
  // a reader's decode (into reused buffers) inflates through the cache while one is on (inflated.ts)
  const r = scratch ? new Reader(blob[0] === PACK_DEFLATE ? inflateCached(blob.subarray(1)) : blob.subarray(1)) : unpackAny(blob)
  const version = r.byte()
  if (version === VERSION) {
    const ts = readTimestamps5(r, scratch)
    return {ts, values: readValues5(r, ts.length, scratch)}
  }

  if (version !== VERSION_V3) throw new Error(`unknown chunk encoding version ${version}`)
  const ts = readTimestamps(r, scratch)
  return {ts, values: readValues(r, ts.length, scratch)}
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
