import {StepSeries, type RangeSeries} from '../query/eval/engine.js'

/**
 * Prometheus' JSON for a range query's matrix, written as bytes: the answer of a day at 1 min × 10
 * series is 14,400 `[seconds,"value"]` pairs (0.45 MB). Written as a string it cost a string per
 * value (String(v)), a rope of ~30,000 pieces that V8 flattens before node can send it, and the
 * UTF-8 encoding of all of it; here each value's digits go straight into one Buffer.
 */

/**
 * A sample value as Prometheus writes it (Go's strconv.FormatFloat(v, 'f', -1, 64)): the shortest
 * digits that read back as the same double, never an exponent; `+Inf`, `-Inf`, `NaN`. The
 * reference: {@link writeValue} writes the same bytes faster, and falls back to this.
 */
export function formatValue(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  if (Object.is(v, -0)) return '-0'
  const s = String(v)
  const e = s.indexOf('e')
  if (e < 0) return s
  // JavaScript switches to an exponent below 1e-6 and from 1e21: spell the digits out
  const negative = s.startsWith('-')
  const mantissa = s.slice(negative ? 1 : 0, e)
  const exponent = Number(s.slice(e + 1))
  const dot = mantissa.indexOf('.')
  const digits = mantissa.replace('.', '')
  const point = (dot < 0 ? mantissa.length : dot) + exponent
  let out: string
  if (point <= 0) out = `0.${'0'.repeat(-point)}${digits}`
  else if (point >= digits.length) out = digits + '0'.repeat(point - digits.length)
  else out = `${digits.slice(0, point)}.${digits.slice(point)}`
  return negative ? `-${out}` : out
}

/** Bytes written into one growing Buffer. */
export class JsonBytes {
  buf: Buffer
  pos = 0

  /** a new buffer of `size` bytes, or writes into `over` (a view of memory the caller owns, replaced by a new buffer if it runs out) */
  constructor(size = 4096, over?: Buffer) {
    this.buf = over ?? Buffer.allocUnsafe(Math.max(64, size))
  }

  /** room for `n` more bytes */
  room(n: number): void {
    if (this.pos + n <= this.buf.length) return
    const grown = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n))
    this.buf.copy(grown, 0, 0, this.pos)
    this.buf = grown
  }

  /** text of characters below 0x80 only (JSON punctuation, digits) */
  ascii(s: string): void {
    this.room(s.length)
    const buf = this.buf
    let pos = this.pos
    for (let i = 0; i < s.length; i++) buf[pos++] = s.charCodeAt(i)
    this.pos = pos
  }

  /** any text, as UTF-8 */
  utf8(s: string): void {
    this.room(Buffer.byteLength(s))
    this.pos += this.buf.write(s, this.pos, 'utf8')
  }

  /** what was written (a view of the buffer) */
  bytes(): Buffer {
    return this.buf.subarray(0, this.pos)
  }
}

/**
 * `{"resultType":"matrix","result":[…]}`: the bytes JSON.stringify gives for {metric, values:
 * [[seconds, "value"], …]} per series (with {@link formatValue}'s values), wrapped in `head` and
 * `tail` (the API's `{"status":"success","data":` and `}`). Written into `into` when given (its
 * buffer reused: the answer is a view of it, valid until `into` is written again).
 */
export function matrixJsonBytes(series: readonly RangeSeries[], head = '', tail = '', into?: JsonBytes): Buffer {
  const w = matrixHead(series, head, tail, into)
  writeMatrixSeries(w, series, 0, series.length, true)
  return matrixTail(w, tail)
}

/**
 * {@link matrixJsonBytes}' bytes in parts: each time at least `part` bytes of whole series are
 * written, they go to `write` (a view of w's buffer, left as it is until the answer is done) while
 * the next series are written; returns the rest. The parts joined are matrixJsonBytes' bytes.
 */
export function matrixJsonParts(series: readonly RangeSeries[], head: string, tail: string, w: JsonBytes, write: (part: Buffer) => void, part = 32_768): Buffer {
  matrixHead(series, head, tail, w)
  let sent = 0
  for (let i = 0; i < series.length; i++) {
    writeMatrixSeries(w, series, i, i + 1, i === 0)
    if (w.pos - sent < part) continue
    // a buffer outgrown since keeps the parts sent before (they are views of the old one)
    write(w.buf.subarray(sent, w.pos))
    sent = w.pos
  }

  return matrixTail(w, tail).subarray(sent)
}

/** The bytes' size estimate of a matrix answer, for one allocation up front. */
export function matrixSize(series: readonly RangeSeries[], from = 0, to = series.length): number {
  let samples = 0
  for (let i = from; i < to; i++) {
    const s = series[i]!
    samples += s instanceof StepSeries ? s.values.length : s.samples.length
  }
  // a pair is `[1764028800,"21.836416666666668"],`: ~40 bytes
  return 64 + (to - from) * 128 + samples * 40
}

/** {@link matrixJsonBytes}' start: `into` (or a new JsonBytes) emptied, with room for the whole answer, `head` and the matrix's opening written. */
export function matrixHead(series: readonly RangeSeries[], head: string, tail: string, into?: JsonBytes): JsonBytes {
  const size = head.length + tail.length + matrixSize(series)
  const w = into ?? new JsonBytes(size)
  w.pos = 0
  w.room(size)
  w.ascii(head)
  w.ascii('{"resultType":"matrix","result":[')
  return w
}

/** {@link matrixJsonBytes}' end: the matrix closed, `tail` written; the answer (a view of w's buffer). */
export function matrixTail(w: JsonBytes, tail: string): Buffer {
  w.ascii(']}')
  w.ascii(tail)
  return w.bytes()
}

/**
 * Series [from, to) of a matrix answer, each `{"metric":…,"values":[…]}` after a comma unless it is
 * the answer's first (`first` and i = from): the same bytes whichever part of the answer is
 * written where (json-thread.ts writes one part in a worker thread).
 */
export function writeMatrixSeries(w: JsonBytes, series: readonly RangeSeries[], from: number, to: number, first: boolean): void {
  let times = lastTimes
  for (let i = from; i < to; i++) {
    const s = series[i]!
    if (i > from || !first) w.ascii(',')
    w.ascii('{"metric":')
    w.utf8(JSON.stringify(s.labels))
    w.ascii(',"values":[')
    if (s instanceof StepSeries) {
      // the columns read in place (no call per sample); each step's `[seconds,"` written once for
      // all the series (a range query's series share their steps)
      const {start, step, values, present} = s
      if (!times || times.start !== start || times.step !== step || times.steps < values.length) lastTimes = times = stepTimes(start, step, values.length)
      const {text, length} = times
      let first = true
      for (let k = 0; k < values.length; k++) {
        if (!present[k]) continue
        if (times.steps === 0) {
          writePair(w, first, start + k * step, values[k]!)
          first = false
          continue
        }
        w.room(TIME_ROOM + 1)
        const buf = w.buf
        let pos = w.pos
        if (!first) buf[pos++] = 0x2c
        first = false
        for (let i = k * TIME_ROOM, end = i + length[k]!; i < end; i++) buf[pos++] = text[i]!
        w.pos = pos
        writeValue(w, values[k]!)
        w.room(2)
        w.buf[w.pos++] = 0x22
        w.buf[w.pos++] = 0x5d
      }
    } else {
      const samples = s.samples
      for (let k = 0; k < samples.length; k++) writePair(w, k === 0, samples[k]!.t, samples[k]!.v)
    }
    w.ascii(']}')
  }
}

/**
 * The step times of the last series written: kept for the next one, in this answer or the next
 * (a dashboard asks the same range again; json-thread.ts writes an answer a series at a time).
 */
let lastTimes: StepTimes | undefined

/** Room for one step's `[seconds,"` (a time within ±10^15 ms is at most 19 bytes; others are written as they come). */
const TIME_ROOM = 24

/** `[seconds,"` of every step start + k × step, each at k × TIME_ROOM in `text`, `length[k]` bytes long. */
interface StepTimes {
  start: number
  step: number
  steps: number
  text: Uint8Array
  length: Uint8Array
}

function stepTimes(start: number, step: number, steps: number): StepTimes {
  const text = new Uint8Array(steps * TIME_ROOM)
  const length = new Uint8Array(steps)
  const w = new JsonBytes(64)
  for (let k = 0; k < steps; k++) {
    w.pos = 0
    w.buf[w.pos++] = 0x5b
    writeSeconds(w, start + k * step)
    w.ascii(',"')
    // longer only for times past ±10^15 ms (JSON.stringify's exponent): such a series is written pair by pair
    if (w.pos > TIME_ROOM) return {start: Number.NaN, step, steps: 0, text, length}
    for (let i = 0, at = k * TIME_ROOM; i < w.pos; i++) text[at + i] = w.buf[i]!
    length[k] = w.pos
  }

  return {start, step, steps, text, length}
}

/** `[seconds,"value"]`, after a comma unless first (each writer makes its own room: w.buf is read after it) */
function writePair(w: JsonBytes, first: boolean, t: number, v: number): void {
  w.room(4)
  if (!first) w.buf[w.pos++] = 0x2c
  w.buf[w.pos++] = 0x5b
  writeSeconds(w, t)
  w.room(2)
  w.buf[w.pos++] = 0x2c
  w.buf[w.pos++] = 0x22
  writeValue(w, v)
  w.room(2)
  w.buf[w.pos++] = 0x22
  w.buf[w.pos++] = 0x5d
}

/** A time in ms as Prometheus writes it: Unix seconds, a JSON number (JSON.stringify(t / 1000)). */
export function writeSeconds(w: JsonBytes, t: number): void {
  if (!Number.isInteger(t) || t <= -1e15 || t >= 1e15) {
    w.ascii(JSON.stringify(t / 1000))
    return
  }
  // an integer count of ms: t / 1000 has at most 15 significant digits, so its shortest form is
  // the decimal itself (the double nearest it reads back as it, and no shorter decimal is that near)
  w.room(24)
  let a = t
  if (a < 0) {
    w.buf[w.pos++] = 0x2d
    a = -a
  }
  let whole = Math.floor(a / 1000)
  let ms = a - whole * 1000
  if (ms < 0) {
    whole--
    ms += 1000
  } else if (ms >= 1000) {
    whole++
    ms -= 1000
  }
  writeUint(w, whole)
  if (ms !== 0) {
    const buf = w.buf
    buf[w.pos++] = 0x2e
    buf[w.pos++] = 0x30 + Math.floor(ms / 100)
    const rest = ms % 100
    if (rest !== 0) {
      buf[w.pos++] = 0x30 + Math.floor(rest / 10)
      if (rest % 10 !== 0) buf[w.pos++] = 0x30 + (rest % 10)
    }
  }
}

/** Writes a non-negative integer below 2^53 (room for 16 bytes is the caller's). */
function writeUint(w: JsonBytes, a: number): void {
  const buf = w.buf
  if (a < 1e9) {
    let n = a | 0
    let len = 1
    for (let x = n; x >= 10; x = (x / 10) | 0) len++
    let end = w.pos + len
    w.pos = end
    do {
      const q = (n / 10) | 0
      buf[--end] = 0x30 + n - q * 10
      n = q
    } while (n > 0)
    return
  }
  // two parts of up to 9 digits (hi · 10⁹ is exact: hi · 5⁹ < 2^53)
  const hi = Math.floor(a / 1e9)
  let lo = a - hi * 1e9
  let h = hi
  if (lo < 0) {
    h--
    lo += 1e9
  } else if (lo >= 1e9) {
    h++
    lo -= 1e9
  }
  writeUint(w, h)
  writeNine(buf, w.pos, lo | 0)
  w.pos += 9
}

/** `n` (< 10⁹) as exactly nine digits at `pos` */
function writeNine(buf: Uint8Array, pos: number, n: number): void {
  for (let i = pos + 8; i >= pos; i--) {
    const q = (n / 10) | 0
    buf[i] = 0x30 + n - q * 10
    n = q
  }
}

/** 10^0 … 10^22: the powers of ten a double holds exactly */
const POW10 = Array.from({length: 23}, (_, i) => Number(`1e${i}`))
/** Dekker's splitter, 2^27 + 1 */
const SPLIT = 134_217_729
const bits = new Float64Array(1)
const words = new Uint32Array(bits.buffer)
/** which 32-bit word holds the sign, exponent and top of the mantissa */
const HI = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1 ? 1 : 0
const LO = 1 - HI
/** digits of the decimal {@link shortest} found, most significant first */
const digits = new Uint8Array(24)
/** the two digits of 0 … 99, at 2n and 2n + 1: half the divisions of one digit at a time (~35 → ~22 ns a value) */
const DIGIT_PAIRS = Uint8Array.from({length: 200}, (_, i) => (i & 1 ? (i >> 1) % 10 : Math.floor((i >> 1) / 10)))

/**
 * {@link formatValue}'s text for `v`, written into `w` — the same bytes, without making a string:
 * integers below 2^53 digit by digit, other values from 1e-6 to 1e14 by {@link shortest}, and the
 * rest (and the rare values shortest cannot decide) through formatValue.
 */
export function writeValue(w: JsonBytes, v: number): void {
  w.room(32)
  let a = v
  if (v < 0) {
    a = -v
  } else if (!(v > 0)) {
    if (v === 0) w.ascii(Object.is(v, -0) ? '-0' : '0')
    else w.ascii('NaN')
    return
  }
  if (a < 9_007_199_254_740_992 && Math.floor(a) === a) {
    if (v < 0) w.buf[w.pos++] = 0x2d
    writeUint(w, a)
    return
  }
  if (a >= 1e-6 && a < 1e14) {
    const n = shortest(a)
    if (n > 0) {
      if (v < 0) w.buf[w.pos++] = 0x2d
      writeDigits(w, n, shortestPoint)
      return
    }
  }
  w.ascii(formatValue(v))
}

/** where the decimal point goes in {@link digits}: that many digits from the right */
let shortestPoint = 0

/**
 * The shortest decimal that reads back as `a` (1e-6 ≤ a < 1e14, not an integer), as ECMAScript's
 * Number::toString chooses it: the fewest significant digits, and of those the one nearest to a.
 * Returns how many digits it put in {@link digits} ({@link shortestPoint} of them after the point),
 * or 0 when it cannot tell (the caller falls back to String).
 *
 * A double has 15 to 17 significant digits. For n = 15, 16, 17 it takes the n-digit decimal D
 * nearest to a — the integer nearest to X = a · 10^k with X in [10^(n−1), 10^n) — and D reads
 * back as a when |D − X| is under half a's spacing to its neighbours (times 10^k). X is exact as
 * p + err (Dekker's product of two doubles); a's half-spacing times 10^k is a power of two times
 * 5^k, exact too, so every comparison is decided on exact values, or rounded once with the
 * rounding unable to cross the boundary it is compared with — when it could (a tie), it gives up.
 * The first n that works is the shortest: 15-digit decimals are spaced wider than a double's
 * rounding interval (10^-15 against 2^-52 relative), so at most one of them (the nearest, D) reads
 * back as a, and one with fewer digits is the same decimal with trailing zeros dropped.
 */
function shortest(a: number): number {
  bits[0] = a
  const hi = words[HI]!
  const exponent = (hi >>> 20) & 0x7ff
  // the decade: 10^e ≤ a < 10^(e+1) for e = ⌊log10 2^(exponent − 1023)⌋ or one more; then for
  // sure from X17 = a · 10^k in [10^16, 10^17)
  let k = Math.min(22, 16 - Math.floor((exponent - 1023) * 0.30102999566398120))
  const x17 = a * POW10[k]!
  if (x17 >= 1e17) k--
  else if (x17 < 1e16) return 0
  if (k > 22 || k < 2) return 0
  // half the distance to the next double up, and to the next down (half that at a power of two)
  const powerOfTwo = (hi & 0xf_ffff) === 0 && words[LO] === 0
  words[LO] = 0
  words[HI] = (exponent - 53) << 20
  const halfUlp = bits[0]!
  const lowerHalf = powerOfTwo ? halfUlp / 2 : halfUlp

  // a's halves, split once for every product
  let t = SPLIT * a
  const ah = t - (t - a)
  const al = a - ah
  for (let n = 15; n <= 17; n++) {
    const kn = k - (17 - n)
    const P = POW10[kn]!
    const p = a * P
    t = SPLIT * P
    const bh = t - (t - P)
    const bl = P - bh
    const err = ah * bh - p + ah * bl + al * bh + al * bl
    // D = floor(p) + c, c the integer nearest to frac(p) + err
    const fp = Math.floor(p)
    const f = p - fp
    const s = f + err
    if (s - Math.floor(s) === 0.5) return 0
    const c = Math.round(s)
    // D − X, rounded once; compared with the half-spacing on its side
    const d = c - f - err
    const limit = (d < 0 ? lowerHalf : halfUlp) * P
    const ad = Math.abs(d)
    if (ad === limit) return 0
    if (ad > limit) continue
    // D's digits: fp + c in two parts of nine digits
    let high = Math.floor(fp / 1e9)
    let low = fp - high * 1e9 + c
    while (low < 0) {
      high--
      low += 1e9
    }
    while (low >= 1e9) {
      high++
      low -= 1e9
    }
    // both below 2^31 (D < 10^18), written two digits a division (DIGIT_PAIRS): high without
    // leading zeros, then low's nine
    let h = high | 0
    let len = h >= 1e8 ? 9 : h >= 1e7 ? 8 : h >= 1e6 ? 7 : h >= 1e5 ? 6 : h >= 1e4 ? 5 : h >= 1e3 ? 4 : h >= 100 ? 3 : h >= 10 ? 2 : h >= 1 ? 1 : 0
    let i = len
    while (i >= 2) {
      const q = (h / 100) | 0
      const r = (h - q * 100) << 1
      digits[--i] = DIGIT_PAIRS[r + 1]!
      digits[--i] = DIGIT_PAIRS[r]!
      h = q
    }
    if (i === 1) digits[0] = h
    let l = low | 0
    for (let j = len + 9; j > len + 1; ) {
      const q = (l / 100) | 0
      const r = (l - q * 100) << 1
      digits[--j] = DIGIT_PAIRS[r + 1]!
      digits[--j] = DIGIT_PAIRS[r]!
      l = q
    }
    digits[len] = l
    len += 9
    // drop trailing zeros after the point
    let point = kn
    while (point > 0 && digits[len - 1] === 0) {
      len--
      point--
    }
    shortestPoint = point
    return len
  }

  return 0
}

/** {@link digits}[0, len) with the point `point` digits from the right (room is the caller's) */
function writeDigits(w: JsonBytes, len: number, point: number): void {
  const buf = w.buf
  let pos = w.pos
  if (point >= len) {
    buf[pos++] = 0x30
    buf[pos++] = 0x2e
    for (let i = point - len; i > 0; i--) buf[pos++] = 0x30
    for (let i = 0; i < len; i++) buf[pos++] = 0x30 + digits[i]!
  } else {
    const whole = len - point
    for (let i = 0; i < whole; i++) buf[pos++] = 0x30 + digits[i]!
    if (point > 0) {
      buf[pos++] = 0x2e
      for (let i = whole; i < len; i++) buf[pos++] = 0x30 + digits[i]!
    }
  }
  w.pos = pos
}
