/**
 * Reading raw points back out of InfluxDB (`mon store archive` on an InfluxDB store), exactly:
 * every measurement of the raw retention policy (or bucket), `SELECT *::field … GROUP BY *` per
 * measurement, streamed in InfluxDB's chunks (never the whole answer in memory), each field with
 * its stored type from SHOW FIELD KEYS — integers as bigint, unsigned as UInt. JSON numbers are
 * doubles, so an answer holding an integer past 2^53 is read again with {@link parseJsonExact},
 * which keeps such integers as bigint.
 */
import type {FieldType, FieldValue, Point} from '../../model/point.js'
import {presentTags, quoteIdent, timeLiteral, type InfluxSeries, type InfluxStatementResult} from './influxql.js'
import {INFLUX_MAX_MS, INFLUX_MIN_MS, typedValue} from './retention.js'

/** One line of a chunked /query answer. */
export interface QueryChunk {
  results?: InfluxStatementResult[]
  error?: string
}

/** Runs one InfluxQL statement and yields its answer chunk by chunk. */
export type StreamQuery = (statement: string) => AsyncIterable<QueryChunk>

export interface ScanSource {
  /** the 1.x retention policy to read; undefined: the default one (and on 2.x) */
  rp?: string
  measurements(): Promise<string[]>
  fieldTypes(measurement: string): Promise<Map<string, FieldType>>
  stream: StreamQuery
}

export function scanStatement(measurement: string, rp: string | undefined, start: number, end: number): string {
  const from = rp ? `${quoteIdent(rp)}.${quoteIdent(measurement)}` : quoteIdent(measurement)
  const s = Math.max(INFLUX_MIN_MS, Math.min(INFLUX_MAX_MS, start))
  const e = Math.max(INFLUX_MIN_MS, Math.min(INFLUX_MAX_MS, end))
  return `SELECT *::field FROM ${from} WHERE time >= ${timeLiteral(s)} AND time < ${timeLiteral(e)} GROUP BY *`
}

/** Every raw point in [start, end): a measurement at a time, its series in InfluxDB's order. */
export async function* scanPoints(src: ScanSource, start: number, end: number, batchSize = 10_000): AsyncGenerator<Point[]> {
  if (start >= end) return
  for (const measurement of await src.measurements()) {
    const types = await src.fieldTypes(measurement)
    let batch: Point[] = []
    for await (const chunk of src.stream(scanStatement(measurement, src.rp, start, end))) {
      for (const r of chunk.results ?? []) {
        for (const s of r.series ?? []) {
          for (const p of seriesPoints(measurement, s, types)) batch.push(p)
          if (batch.length >= batchSize) {
            yield batch
            batch = []
          }
        }
      }
    }

    if (batch.length > 0) yield batch
  }
}

function* seriesPoints(measurement: string, s: InfluxSeries, types: ReadonlyMap<string, FieldType>): Generator<Point> {
  const tags = presentTags(s.tags)
  const cols = s.columns
  for (const v of s.values ?? []) {
    const fields: Record<string, FieldValue> = {}
    let any = false
    for (let i = 1; i < cols.length; i++) {
      const value = v[i]
      if (value === null || value === undefined) continue
      fields[cols[i]] = typedValue(value, types.get(cols[i]) ?? guessType(value))
      any = true
    }

    if (any) {
      const t = v[0]
      if (typeof t !== 'number') throw new Error(`unexpected time ${JSON.stringify(t)} in an InfluxDB answer (expected epoch milliseconds)`)
      yield {measurement, tags, fields, ts: t}
    }
  }
}

function guessType(v: unknown): FieldType {
  if (typeof v === 'boolean') return 'boolean'
  if (typeof v === 'string') return 'string'
  if (typeof v === 'bigint') return 'integer'
  return 'float'
}

/** Reads a chunked answer's lines; a line with a long digit run is parsed exactly. */
export async function* answerChunks(body: AsyncIterable<Buffer>): AsyncGenerator<QueryChunk> {
  let carry = ''
  const parse = (line: string): QueryChunk => (/\d{16}/.test(line) ? (parseJsonExact(line) as QueryChunk) : (JSON.parse(line) as QueryChunk))
  for await (const chunk of body) {
    const text = carry + chunk.toString('utf8')
    const lines = text.split('\n')
    carry = lines.pop() ?? ''
    for (const line of lines) if (line.trim() !== '') yield parse(line)
  }

  if (carry.trim() !== '') yield parse(carry)
}

const NUMBER = /-?\d+(\.\d+)?([eE][+-]?\d+)?/y

/**
 * JSON.parse, except that an integer literal a double cannot hold exactly becomes a bigint.
 * (JSON.parse's reviver cannot see the source text on Node 20.)
 */
export function parseJsonExact(text: string): unknown {
  let i = 0
  const fail = (what: string): never => {
    throw new SyntaxError(`${what} at position ${i} of an InfluxDB answer`)
  }

  const ws = () => {
    while (i < text.length && (text[i] === ' ' || text[i] === '\n' || text[i] === '\r' || text[i] === '\t')) i++
  }

  const value = (): unknown => {
    ws()
    const c = text[i]
    if (c === '{') {
      i++
      const obj: Record<string, unknown> = {}
      ws()
      if (text[i] === '}') {
        i++
        return obj
      }

      for (;;) {
        ws()
        if (text[i] !== '"') fail('expected a key')
        const k = string()
        ws()
        if (text[i++] !== ':') fail('expected :')
        obj[k] = value()
        ws()
        if (text[i] === ',') {
          i++
          continue
        }

        if (text[i++] === '}') return obj
        fail('expected , or }')
      }
    }

    if (c === '[') {
      i++
      const arr: unknown[] = []
      ws()
      if (text[i] === ']') {
        i++
        return arr
      }

      for (;;) {
        arr.push(value())
        ws()
        if (text[i] === ',') {
          i++
          continue
        }

        if (text[i++] === ']') return arr
        fail('expected , or ]')
      }
    }

    if (c === '"') return string()
    if (text.startsWith('true', i)) {
      i += 4
      return true
    }

    if (text.startsWith('false', i)) {
      i += 5
      return false
    }

    if (text.startsWith('null', i)) {
      i += 4
      return null
    }

    NUMBER.lastIndex = i
    const m = NUMBER.exec(text)
    if (!m) return fail('unexpected character')
    i += m[0].length
    if (m[1] === undefined && m[2] === undefined) {
      const n = Number(m[0])
      return Number.isSafeInteger(n) ? n : BigInt(m[0])
    }

    return Number(m[0])
  }

  const string = (): string => {
    // from the opening quote to the closing one, escapes decoded by JSON.parse
    const from = i
    i++
    while (i < text.length && text[i] !== '"') i += text[i] === '\\' ? 2 : 1
    if (i >= text.length) fail('unterminated string')
    i++
    return JSON.parse(text.slice(from, i)) as string
  }

  const out = value()
  ws()
  if (i !== text.length) fail('trailing characters')
  return out
}
