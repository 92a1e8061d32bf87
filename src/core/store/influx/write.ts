/**
 * The write side shared by the 1.x and 2.x backends: points → line protocol → batches (by count
 * and by bytes) → a sender, several batches in flight, and when InfluxDB answers 400 the rejected
 * lines picked out of its message.
 */
import {InputError} from '../../errors.js'
import {PointSerializer, parseLineProtocol} from '../../model/line-protocol/index.js'
import {fieldType, type Point} from '../../model/point.js'

/** The timestamp precisions both InfluxDB write APIs accept. */
export type WritePrecision = 'ns' | 'us' | 'ms' | 's'

/**
 * A request body: text, bytes, or bytes in parts sent one after the other (a spooled request body
 * as it arrived: written to the socket as they are, never joined).
 */
export type Body = string | Buffer | readonly Buffer[]

/** Bytes of a body. */
export function bodyBytes(body: Body): number {
  if (typeof body === 'string') return Buffer.byteLength(body)
  if (!Array.isArray(body)) return (body as Buffer).length
  let n = 0
  for (const part of body as readonly Buffer[]) n += part.length
  return n
}

/** A body as one string or buffer (parts joined: only where the whole is needed, e.g. gzip or a 400's lines). */
export function wholeBody(body: Body): string | Buffer {
  if (!Array.isArray(body)) return body as string | Buffer
  const parts = body as readonly Buffer[]
  return parts.length === 1 ? parts[0]! : Buffer.concat(parts)
}

export interface Batch {
  /** line protocol, one point per entry, newline-terminated (bytes when the text came as bytes, parts when it came in parts) */
  body: Body
  /** how many entries (points) the body holds */
  count: number
  precision: WritePrecision
  /** the entries (a string field may hold a newline, so an entry can span physical lines); see {@link linesOf} */
  lines?: string[]
  /** the points, when the batch was made from points; parsed from the lines when a 400 needs them */
  points?: Point[]
}

export function makeBatch(lines: string[], precision: WritePrecision, points?: Point[]): Batch {
  // joined with an empty last line: one flat string, not a rope of the text and a newline
  lines.push('')
  const body = lines.join('\n')
  lines.pop()
  return {body, count: lines.length, lines, precision, points}
}

/** The entries of a batch (split from the body when it was made from text). */
export function linesOf(batch: Batch): string[] {
  batch.lines ??= splitLineProtocol(wholeBody(batch.body).toString())
  return batch.lines
}

/** The points of a batch, aligned with its lines (undefined where a line does not parse). */
export function pointsOf(batch: Batch): Array<Point | undefined> {
  if (batch.points) return batch.points
  return linesOf(batch).map((line) => parseLineProtocol(line, {precision: batch.precision}).points[0])
}

export interface BatchLimits {
  /** most lines in one batch */
  maxLines: number
  /** most bytes of line protocol in one batch (a single longer line still goes, alone) */
  maxBytes: number
}

/**
 * Index ranges [from, to) of `lines` such that each holds at most `maxLines` lines and
 * `maxBytes` bytes (counting the newline after each line).
 */
export function planBatches(lines: readonly string[], limits: BatchLimits): Array<[number, number]> {
  const out: Array<[number, number]> = []
  let from = 0
  let bytes = 0
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]
    const size = utf8Size(line) + 1
    if (i > from && (i - from >= limits.maxLines || bytes + size > limits.maxBytes)) {
      out.push([from, i])
      from = i
      bytes = 0
    }

    bytes += size
  }

  if (from < lines.length) out.push([from, lines.length])
  return out
}

/** UTF-8 bytes of a string: its length for ASCII (nearly always, and cheaper to check than to count). */
function utf8Size(s: string): number {
  // eslint-disable-next-line no-control-regex
  return /[^\u0000-\u007f]/.test(s) ? Buffer.byteLength(s) : s.length
}

/**
 * Points → batches, serialized one batch at a time as the senders ask for them, so that the next
 * batch is being serialized while the previous ones are on the wire. A point line protocol cannot
 * carry (NaN, a name ending in a backslash…) is set aside in `unwritable` and the others go on, as
 * InfluxDB itself does with a partial write.
 */
export class PointBatches implements Iterable<Batch> {
  readonly unwritable: RejectedLine[] = []
  private next = 0

  /** `opts.bytes`: bodies as UTF-8 bytes, written line by line (no joined string to encode later) */
  constructor(
    private readonly points: readonly Point[],
    private readonly precision: WritePrecision,
    private readonly limits: BatchLimits,
    private readonly opts: {bytes?: boolean} = {},
  ) {}

  *[Symbol.iterator](): Iterator<Batch> {
    const {points, precision, limits} = this
    const serializer = new PointSerializer(precision)
    // the point serialized but not yet placed (it did not fit the previous batch)
    let pendingLine: string | undefined
    let pendingPoint: Point | undefined
    let pendingSize = 0
    while (pendingLine !== undefined || this.next < points.length) {
      const lines: string[] = []
      const batchPoints: Point[] = []
      let bytes = 0
      let ascii = true
      for (;;) {
        if (pendingLine === undefined) {
          if (this.next >= points.length) break
          const point = points[this.next++]
          try {
            pendingLine = serializer.line(point)
            pendingPoint = point
            pendingSize = serializer.bytes + 1
          } catch (error) {
            this.unwritable.push({line: describePoint(point), reason: (error as Error).message})
            continue
          }
        }

        if (lines.length > 0 && (lines.length >= limits.maxLines || bytes + pendingSize > limits.maxBytes)) break
        lines.push(pendingLine)
        batchPoints.push(pendingPoint!)
        bytes += pendingSize
        if (pendingSize !== pendingLine.length + 1) ascii = false
        pendingLine = undefined
      }

      if (lines.length === 0) continue
      if (!this.opts.bytes) {
        yield makeBatch(lines, precision, batchPoints)
        continue
      }
      // one copy of each line into the body, instead of joining them into a string and encoding that
      const body = Buffer.allocUnsafe(bytes)
      let at = 0
      for (const line of lines) {
        at += body.write(line, at, ascii ? 'latin1' : 'utf8')
        body[at++] = 10
      }
      yield {body, count: lines.length, lines, precision, points: batchPoints}
    }
  }

  /** The points set aside, as a rejection (undefined when there are none). */
  rejection(): Rejection | undefined {
    if (this.unwritable.length === 0) return undefined
    return {message: UNWRITABLE, rejected: this.unwritable, partial: true, dropped: this.unwritable.length}
  }
}

function describePoint(p: Point): string {
  try {
    return `${String(p.measurement)} ${JSON.stringify(p.tags)} ${JSON.stringify(p.fields, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}i` : v))} ${p.ts}`
  } catch {
    return String(p.measurement)
  }
}

/** All batches at once (tests, and callers that want to look before sending). */
export function toBatches(points: readonly Point[], precision: WritePrecision, limits: BatchLimits): Batch[] {
  const batches = new PointBatches(points, precision, limits)
  const out = [...batches]
  const rejection = batches.rejection()
  if (rejection) throw new InputError(`${rejection.rejected.length} point(s) ${rejection.message}: ${rejection.rejected[0].reason}`)
  return out
}

/**
 * Line protocol text (from the spool, from a file) in batches, sent as it is: each batch body is
 * a slice of the text, found by walking the entries without copying them (blank lines and
 * comments ride along; InfluxDB skips them). Batches are cut as the senders ask for them, so the
 * first request leaves before the whole text is walked. Text with a carriage return or a
 * non-ASCII character takes the exact way (entries split out, bytes counted in UTF-8). Bytes whose
 * count of entries is known (`entries`: a spool record's points) and that fit one request are that
 * request as they are, parts and all ({@link wholeParts}); parts that do not are joined first.
 */
export function* textBatches(input: string | Buffer | readonly Buffer[], precision: WritePrecision, limits: BatchLimits, entries?: number): Generator<Batch> {
  let text: string | Buffer
  if (typeof input === 'string') text = input
  else {
    const parts: readonly Buffer[] = Buffer.isBuffer(input) ? [input] : (input as readonly Buffer[])
    const whole = entries === undefined ? undefined : wholeParts(parts, entries, precision, limits)
    if (whole) {
      if (whole.count > 0) yield whole
      return
    }
    text = parts.length === 1 ? parts[0]! : Buffer.concat(parts)
  }
  if (typeof text !== 'string') {
    // a carriage return needs the exact way (it is dropped from the entries)
    if (text.indexOf(13) < 0) {
      yield* byteBatches(text, precision, limits)
      return
    }

    text = text.toString('utf8')
  }

  // eslint-disable-next-line no-control-regex
  if (/[^\u0000-\u007f]|\r/.test(text)) {
    const lines = splitLineProtocol(text)
    for (const [from, to] of planBatches(lines, limits)) yield makeBatch(lines.slice(from, to), precision)
    return
  }

  const n = text.length
  const cut = (from: number, to: number, count: number): Batch => {
    const body = text.slice(from, to)
    return {body: body.endsWith('\n') ? body : body + '\n', count, precision}
  }

  let start = 0
  let count = 0
  let quote = -1
  for (let i = 0; i < n; ) {
    let nl = text.indexOf('\n', i)
    if (nl < 0) nl = n
    if (quote < i) {
      quote = text.indexOf('"', i)
      if (quote < 0) quote = n
    }

    const end = quote > nl || quote >= n ? nl : entryEnd(text, i)
    const c = text.charCodeAt(i)
    const isEntry = end > i && c !== 35 && !((c === 32 || c === 9) && text.slice(i, end).trim() === '')
    if (isEntry) {
      if (count > 0 && (count >= limits.maxLines || end + 1 - start > limits.maxBytes)) {
        yield cut(start, i, count)
        start = i
        count = 0
      }

      count++
    }

    i = end + 1
  }

  if (count > 0) yield cut(start, n, count)
}

/**
 * Splits line protocol into its entries, the way InfluxDB finds them: a newline ends an entry
 * unless it is inside a quoted string field value (a `"` right after a field's unescaped `=`);
 * a backslash escapes the next character. Blank lines and `#` comments are left out, and so is
 * a trailing `\r`.
 */
export function splitLineProtocol(text: string): string[] {
  const out: string[] = []
  const n = text.length
  let i = 0
  let quote = -1
  while (i < n) {
    let nl = text.indexOf('\n', i)
    if (nl < 0) nl = n
    // nearly every line has no double quote: then the physical line is the entry
    if (quote < i) {
      quote = text.indexOf('"', i)
      if (quote < 0) quote = n
    }

    const end = quote > nl || quote >= n ? nl : entryEnd(text, i)
    let entry = text.slice(i, end)
    if (entry.charCodeAt(entry.length - 1) === 13) entry = entry.slice(0, -1)
    const c = entry.charCodeAt(0)
    if (c === 32 || c === 9 || c === 35 || entry === '') {
      const head = entry.trimStart()
      if (head !== '' && !head.startsWith('#')) out.push(entry)
    } else {
      out.push(entry)
    }

    i = end + 1
  }

  return out
}

/**
 * Bytes in parts whose count of entries is known (the spool's records: a request body as it
 * arrived, and how many points it holds), as one batch of those parts, when they fit one request
 * and need nothing done: no walk over the entries, no join. Undefined when they do not fit the
 * limits, hold a carriage return (the exact way drops it), or lack the last newline.
 */
function wholeParts(parts: readonly Buffer[], entries: number, precision: WritePrecision, limits: BatchLimits): Batch | undefined {
  if (entries > limits.maxLines) return undefined
  let bytes = 0
  for (const part of parts) {
    bytes += part.length
    if (part.indexOf(13) >= 0) return undefined
  }
  if (bytes > limits.maxBytes) return undefined
  const last = parts.findLast((p) => p.length > 0)
  if (last && last[last.length - 1] !== 10) return undefined
  return {body: parts.length === 1 ? parts[0]! : parts, count: bytes === 0 ? 0 : entries, precision}
}

/**
 * {@link textBatches} over bytes (the spool's records, a file): entries found with the same rules
 * (all the characters that matter are ASCII, and UTF-8 never uses ASCII bytes inside a longer
 * character), bodies are views of the bytes, limits are exact.
 */
function* byteBatches(buf: Buffer, precision: WritePrecision, limits: BatchLimits): Generator<Batch> {
  const n = buf.length
  const cut = (from: number, to: number, count: number): Batch => {
    const body = buf.subarray(from, to)
    return {body: body[body.length - 1] === 10 ? body : Buffer.concat([body, NEWLINE]), count, precision}
  }

  let start = 0
  let count = 0
  let quote = -1
  for (let i = 0; i < n; ) {
    let nl = buf.indexOf(10, i)
    if (nl < 0) nl = n
    if (quote < i) {
      quote = buf.indexOf(34, i)
      if (quote < 0) quote = n
    }

    const end = quote > nl || quote >= n ? nl : entryEnd(buf, i)
    const c = buf[i]
    const isEntry = end > i && c !== 35 && !((c === 32 || c === 9) && buf.toString('latin1', i, end).trim() === '')
    if (isEntry) {
      if (count > 0 && (count >= limits.maxLines || end + 1 - start > limits.maxBytes)) {
        yield cut(start, i, count)
        start = i
        count = 0
      }

      count++
    }

    i = end + 1
  }

  if (count > 0) yield cut(start, n, count)
}

const NEWLINE = Buffer.from('\n')

/** Where the entry starting at `i` ends (its newline, or the end of the text), quotes considered. */
function entryEnd(text: string | Buffer, i: number): number {
  const code = typeof text === 'string' ? (k: number) => text.charCodeAt(k) : (k: number) => text[k]
  const n = text.length
  // 0: measurement and tags, 1: fields, 2: timestamp
  let section = 0
  let quoted = false
  let afterEquals = false
  let j = i
  for (; j < n; j++) {
    const c = code(j)
    if (quoted) {
      if (c === 92) j++
      else if (c === 34) quoted = false
      continue
    }

    if (c === 10) break
    if (c === 92 && j + 1 < n && code(j + 1) !== 10) {
      j++
      afterEquals = false
      continue
    }

    if (section === 0 && c === 32) section = 1
    else if (section === 1) {
      if (c === 34 && afterEquals) quoted = true
      else if (c === 32) section = 2
    }

    afterEquals = section === 1 && c === 61
  }

  return Math.min(j, n)
}

/**
 * Runs `send` over the batches with at most `concurrency` in flight; batches are taken from the
 * iterable only when a sender is free. A rejected batch (an {@link InfluxWriteRejected}) does not
 * stop the others — their points are good and InfluxDB writes are idempotent; any other failure
 * stops new batches from starting. Throws the first failure after the batches in flight have
 * settled; rejections (and `extra`, points rejected before sending) are merged into one.
 */
export async function sendBatches(
  batches: Iterable<Batch>,
  concurrency: number,
  send: (b: Batch) => Promise<void>,
  opts: {url?: string; extra?: () => Rejection | undefined} = {},
): Promise<void> {
  const source = batches[Symbol.iterator]()
  let fatal: unknown
  let total = 0
  let done = false
  // one batch serialized ahead, while the others are on the wire, so a free sender never waits
  let ahead: Batch | undefined
  const pull = (): Batch | undefined => {
    if (ahead) {
      const b = ahead
      ahead = undefined
      return b
    }

    if (done) return undefined
    const next = source.next()
    if (next.done) {
      done = true
      return undefined
    }

    return next.value
  }

  const rejections: InfluxWriteRejected[] = []
  const worker = async (): Promise<void> => {
    while (fatal === undefined) {
      const batch = pull()
      if (!batch) return
      total += batch.count
      const sending = send(batch)
      setImmediate(() => {
        if (!ahead && fatal === undefined) ahead = pull()
      })
      try {
        await sending
      } catch (error) {
        if (error instanceof InfluxWriteRejected) rejections.push(error)
        else fatal ??= error
      }
    }
  }

  await Promise.all(Array.from({length: Math.max(1, concurrency)}, worker))
  if (fatal !== undefined) throw fatal
  const extra = opts.extra?.()
  if (extra) {
    total += extra.rejected.length
    rejections.push(new InfluxWriteRejected(opts.url ?? rejections[0]?.url ?? 'InfluxDB', [extra], total))
  }

  // one batch of several refused: merged, so that the error counts against all the points
  if (rejections.length === 1 && !extra && rejections[0].totalPoints === total) throw rejections[0]
  if (rejections.length > 0) throw InfluxWriteRejected.merge(rejections, total)
}

// ---------------------------------------------------------------------------------------------
// 400: which lines were rejected

export interface RejectedLine {
  line: string
  reason: string
}

export interface Rejection {
  /** InfluxDB's message */
  message: string
  rejected: RejectedLine[]
  /** InfluxDB wrote the other points of the batch ("partial write") */
  partial: boolean
  /** points InfluxDB says it dropped (`dropped=N`), when it says */
  dropped?: number
}

/** The message of points set aside before sending. */
const UNWRITABLE = 'cannot be written as line protocol'
const UNABLE_TO_PARSE = "unable to parse '"
const TYPE_CONFLICT = /field type conflict: input field "((?:[^"\\]|\\.)*)" on measurement "((?:[^"\\]|\\.)*)" is type (\w+), already exists as type (\w+)/

/**
 * Reads InfluxDB's 400 message (1.x `{"error"}`, 2.x `{"message", "line"}`) and finds the lines of
 * the batch it refers to: the quoted lines of "unable to parse '…'", the points that carry the
 * conflicting field type, or the line number 2.x gives. When nothing can be pinned down every
 * line of the batch is reported, with InfluxDB's message as the reason.
 */
export function analyzeRejection(message: string, batch: Batch, lineNumber?: number): Rejection {
  const partial = /partial write/i.test(message)
  const droppedMatch = / dropped=(\d+)\s*$/.exec(message)
  const dropped = droppedMatch ? Number(droppedMatch[1]) : undefined
  const text = droppedMatch ? message.slice(0, droppedMatch.index) : message
  const rejected: RejectedLine[] = []

  if (text.includes(UNABLE_TO_PARSE)) {
    for (const part of text.split(UNABLE_TO_PARSE).slice(1)) {
      const end = part.lastIndexOf("': ")
      if (end < 0) continue
      rejected.push({line: part.slice(0, end), reason: part.slice(end + 3).replace(/\n+$/, '')})
    }
  }

  const conflict = TYPE_CONFLICT.exec(text)
  if (conflict) {
    const [, field, measurement, type] = conflict
    const reason = conflict[0]
    pointsOf(batch).forEach((p, i) => {
      if (p?.measurement !== unquote(measurement)) return
      const v = p.fields[unquote(field)]
      // the point model's type names are InfluxDB's (float, integer, unsigned, boolean, string)
      if (v !== undefined && fieldType(v) === type) rejected.push({line: linesOf(batch)[i], reason})
    })
  }

  const lines = linesOf(batch)
  if (rejected.length === 0 && lineNumber !== undefined && lines[lineNumber - 1] !== undefined) {
    rejected.push({line: lines[lineNumber - 1], reason: text})
  }

  if (rejected.length === 0) for (const line of lines) rejected.push({line, reason: text})
  return {message, rejected, partial, dropped}
}

function unquote(s: string): string {
  return s.replace(/\\(.)/g, '$1')
}

/** How many rejected lines an error shows. */
const SHOWN_LINES = 10

/**
 * InfluxDB refused (some) points of a write with a 400: bad line protocol, a field type conflict,
 * points outside the retention policy. Never retried (the same points would be refused again).
 */
export class InfluxWriteRejected extends InputError {
  readonly retriable = false

  /** 400, as the pipeline reads it: a permanent failure */
  readonly status: number | undefined

  /**
   * `refusedPoints`: of `totalPoints`, how many InfluxDB did not store, given when merging the
   * rejections of several batches (else read from the rejections: {@link rejectedPoints}).
   */
  constructor(
    readonly url: string,
    readonly rejections: Rejection[],
    readonly totalPoints: number,
    private readonly refusedPoints?: number,
  ) {
    const server = rejections.filter((r) => r.message !== UNWRITABLE)
    const local = rejections.filter((r) => r.message === UNWRITABLE)
    const count = (rs: Rejection[]) => rs.reduce((n, r) => n + (r.dropped ?? r.rejected.length), 0)
    const of = `of ${totalPoints} point${totalPoints === 1 ? '' : 's'}`
    const first = (server[0] ?? local[0])?.message.replace(/ dropped=\d+\s*$/, '').replace(/^partial write: /, '') ?? ''
    const rejected = [...server, ...local].flatMap((r) => r.rejected)
    const shown = rejected.slice(0, SHOWN_LINES).map((r) => `  rejected: ${clip(r.line)}${r.reason && !first.includes(r.reason) ? `  (${r.reason})` : ''}`)
    if (rejected.length > SHOWN_LINES) shown.push(`  … and ${rejected.length - SHOWN_LINES} more`)
    const message =
      server.length > 0
        ? `InfluxDB at ${url} rejected ${count(server)} ${of} (400): ${first.split('\n')[0]}${local.length > 0 ? `; ${count(local)} more ${UNWRITABLE}` : ''}`
        : `${count(local)} ${of} for InfluxDB at ${url} ${UNWRITABLE}`
    super(message, {details: shown.join('\n'), hint: rejectionHint(first, rejections.every((r) => r.partial))})
    this.name = 'InfluxWriteRejected'
    this.status = server.length > 0 ? 400 : undefined
  }

  /**
   * Points of the write InfluxDB (or line protocol) did not store; the others were written. A
   * "partial write" refused what it says it dropped (1.x's `dropped=N`, with the lines it could not
   * parse on top) or the lines it names; any other 400 refused its whole batch (2.x rejects a batch
   * with a malformed line as a whole). Given by {@link merge} for the batches of one write.
   */
  get rejectedPoints(): number {
    if (this.refusedPoints !== undefined) return this.refusedPoints
    if (!this.rejections.every((r) => r.partial)) return this.totalPoints
    const count = (r: Rejection) => (r.dropped === undefined ? r.rejected.length : Math.max(1, r.dropped + (r.message.split(UNABLE_TO_PARSE).length - 1)))
    return Math.min(this.totalPoints, this.rejections.reduce((n, r) => n + count(r), 0))
  }

  /** {@link rejectedPoints} when InfluxDB stored the rest (read by droppedByPartialWrite); undefined when it stored nothing. */
  get partialWriteDropped(): number | undefined {
    const refused = this.rejectedPoints
    return refused < this.totalPoints ? refused : undefined
  }

  get rejectedLines(): string[] {
    return this.rejections.flatMap((r) => r.rejected.map((x) => x.line))
  }

  static merge(errors: InfluxWriteRejected[], totalPoints: number): InfluxWriteRejected {
    return new InfluxWriteRejected(
      errors[0].url,
      errors.flatMap((e) => e.rejections),
      totalPoints,
      errors.reduce((n, e) => n + e.rejectedPoints, 0),
    )
  }
}

function rejectionHint(message: string, partial: boolean): string {
  const rest = partial ? 'the other points were written; ' : ''
  if (/field type conflict/.test(message)) return `${rest}InfluxDB keeps one type per field: write the field with its existing type, or use another field name`
  if (/unable to parse/.test(message)) return `${rest}fix the line protocol of the rejected lines`
  if (/beyond retention policy/.test(message)) return `${rest}the points are older than the retention policy keeps`
  if (/cannot be written as line protocol/.test(message)) return `${rest}line protocol has no spelling for these values (NaN, Infinity, a name ending in a backslash)`
  return `${rest}these points will be rejected again as they are, so they are not retried`
}

function clip(line: string): string {
  return line.length > 200 ? line.slice(0, 200) + '…' : line
}
