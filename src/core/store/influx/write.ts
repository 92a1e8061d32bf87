/**
 * The write side shared by the 1.x and 2.x backends: points → line protocol → batches (by count
 * and by bytes) → a sender, several batches in flight, and when InfluxDB answers 400 the rejected
 * lines picked out of its message.
 */
import {InputError} from '../../errors.js'
import {parseLineProtocol, serializePoint} from '../../model/line-protocol.js'
import {fieldType, type Point} from '../../model/point.js'

/** The timestamp precisions both InfluxDB write APIs accept. */
export type WritePrecision = 'ns' | 'us' | 'ms' | 's'

export interface Batch {
  /** line protocol, one point per entry, newline-terminated */
  body: string
  /** the entries (a string field may hold a newline, so an entry can span physical lines) */
  lines: string[]
  precision: WritePrecision
  /** the points, when the batch was made from points; parsed from `lines` when a 400 needs them */
  points?: Point[]
}

export function makeBatch(lines: string[], precision: WritePrecision, points?: Point[]): Batch {
  return {body: lines.join('\n') + '\n', lines, precision, points}
}

/** The points of a batch, aligned with its lines (undefined where a line does not parse). */
export function pointsOf(batch: Batch): Array<Point | undefined> {
  if (batch.points) return batch.points
  return batch.lines.map((line) => parseLineProtocol(line, {precision: batch.precision}).points[0])
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
    // byteLength is exact; length is a lower bound that is exact for ASCII (nearly always)
    const size = (isAscii(line) ? line.length : Buffer.byteLength(line)) + 1
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

function isAscii(s: string): boolean {
  // eslint-disable-next-line no-control-regex
  return !/[^\u0000-\u007f]/.test(s)
}

/** Serializes every point first, so that a point line protocol cannot carry fails the write before anything is sent. */
export function toBatches(points: readonly Point[], precision: WritePrecision, limits: BatchLimits): Batch[] {
  const lines: string[] = new Array(points.length)
  for (let i = 0; i < points.length; i++) lines[i] = serializePoint(points[i], precision)
  return planBatches(lines, limits).map(([from, to]) => makeBatch(lines.slice(from, to), precision, points.slice(from, to)))
}

/** Line protocol text (from the spool, from a file) in batches, sent as it is. */
export function textBatches(text: string, precision: WritePrecision, limits: BatchLimits): Batch[] {
  const lines = splitLineProtocol(text)
  return planBatches(lines, limits).map(([from, to]) => makeBatch(lines.slice(from, to), precision))
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
  while (i < n) {
    const start = i
    // 0: measurement and tags, 1: fields, 2: timestamp
    let section = 0
    let quoted = false
    let afterEquals = false
    let j = i
    for (; j < n; j++) {
      const c = text.charCodeAt(j)
      if (quoted) {
        if (c === 92) j++
        else if (c === 34) quoted = false
        continue
      }

      if (c === 10) break
      if (c === 92 && j + 1 < n && text.charCodeAt(j + 1) !== 10) {
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

    let entry = text.slice(start, j)
    if (entry.endsWith('\r')) entry = entry.slice(0, -1)
    const head = entry.trimStart()
    if (head !== '' && !head.startsWith('#')) out.push(entry)
    i = j + 1
  }

  return out
}

/**
 * Runs `send` over the batches with at most `concurrency` in flight. A rejected batch (an
 * {@link InfluxWriteRejected}) does not stop the others — their points are good and InfluxDB
 * writes are idempotent; any other failure stops new batches from starting. Throws the first
 * failure after the batches in flight have settled; rejections are merged into one.
 */
export async function sendBatches(batches: readonly Batch[], concurrency: number, send: (b: Batch) => Promise<void>): Promise<void> {
  let next = 0
  let fatal: unknown
  const rejections: InfluxWriteRejected[] = []
  const worker = async (): Promise<void> => {
    while (fatal === undefined && next < batches.length) {
      const batch = batches[next++]
      try {
        await send(batch)
      } catch (error) {
        if (error instanceof InfluxWriteRejected) rejections.push(error)
        else fatal ??= error
      }
    }
  }

  await Promise.all(Array.from({length: Math.min(concurrency, batches.length)}, worker))
  if (fatal !== undefined) throw fatal
  if (rejections.length === 1) throw rejections[0]
  if (rejections.length > 1) throw InfluxWriteRejected.merge(rejections, batches.reduce((n, b) => n + b.lines.length, 0))
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
      if (v !== undefined && fieldType(v) === type) rejected.push({line: batch.lines[i], reason})
    })
  }

  if (rejected.length === 0 && lineNumber !== undefined && batch.lines[lineNumber - 1] !== undefined) {
    rejected.push({line: batch.lines[lineNumber - 1], reason: text})
  }

  if (rejected.length === 0) for (const line of batch.lines) rejected.push({line, reason: text})
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

  constructor(
    readonly url: string,
    readonly rejections: Rejection[],
    readonly totalPoints: number,
  ) {
    const rejected = rejections.flatMap((r) => r.rejected)
    const count = rejections.reduce((n, r) => n + (r.dropped ?? r.rejected.length), 0)
    const partial = rejections.every((r) => r.partial)
    const first = rejections[0]?.message.replace(/ dropped=\d+\s*$/, '').replace(/^partial write: /, '') ?? ''
    const shown = rejected.slice(0, SHOWN_LINES).map((r) => `  rejected: ${clip(r.line)}${r.reason && !first.includes(r.reason) ? `  (${r.reason})` : ''}`)
    if (rejected.length > SHOWN_LINES) shown.push(`  … and ${rejected.length - SHOWN_LINES} more`)
    super(`InfluxDB at ${url} rejected ${count} of ${totalPoints} point${totalPoints === 1 ? '' : 's'} (400): ${first.split('\n')[0]}`, {
      details: shown.join('\n'),
      hint: rejectionHint(first, partial),
    })
    this.name = 'InfluxWriteRejected'
  }

  get rejectedLines(): string[] {
    return this.rejections.flatMap((r) => r.rejected.map((x) => x.line))
  }

  static merge(errors: InfluxWriteRejected[], totalPoints: number): InfluxWriteRejected {
    return new InfluxWriteRejected(errors[0].url, errors.flatMap((e) => e.rejections), totalPoints)
  }
}

function rejectionHint(message: string, partial: boolean): string {
  const rest = partial ? 'the other points were written; ' : ''
  if (/field type conflict/.test(message)) return `${rest}InfluxDB keeps one type per field: write the field with its existing type, or use another field name`
  if (/unable to parse/.test(message)) return `${rest}fix the line protocol of the rejected lines`
  if (/beyond retention policy/.test(message)) return `${rest}the points are older than the retention policy keeps`
  return `${rest}these points will be rejected again as they are, so they are not retried`
}

function clip(line: string): string {
  return line.length > 200 ? line.slice(0, 200) + '…' : line
}
