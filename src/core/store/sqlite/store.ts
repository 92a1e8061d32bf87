import Database from 'better-sqlite3'
import {mkdirSync, statSync} from 'node:fs'
import {dirname} from 'node:path'
import {systemClock, type Clock} from '../../clock.js'
import {InputError, UserError} from '../../errors.js'
import {matchesAll, type Matcher} from '../../model/matcher.js'
import {fieldType, numericValue, seriesKey, type FieldType, type Point, type Tags} from '../../model/point.js'
import {Accumulator, bucketStart, derivative, summarizable} from '../../query/aggregate.js'
import type {FieldInfo, FullStore, Frame, QueryPlan, StoreInfo} from '../types.js'
import {decodeChunk, encodeChunk} from '../codec.js'
import {mergeRuns, normalizeRun, type Run} from './merge.js'
import {SCHEMA, SCHEMA_VERSION} from './schema.js'

export interface SqliteStoreOptions {
  path: string
  readonly?: boolean
  clock?: Clock
  /** most points in one chunk */
  chunkMax?: number
  /** a series field with at least this many points in one write becomes a chunk directly */
  directMin?: number
  /** compact automatically when the last compaction is older than this (ms); 0 disables */
  autoCompactEvery?: number
}

interface FieldRow {
  id: number
  measurement: string
  name: string
  type: FieldType
}

interface ChunkRow {
  rowid: number
  t_start: number
  t_end: number
  n: number
  sum: number | null
  min: number | null
  max: number | null
  first: number | null
  last: number | null
  data?: Buffer
}

interface SeriesRow {
  id: number
  tags: string
}

interface Group {
  sid: number
  fid: number
  run: Run
}

const FIELD_KEY_SEP = '\u0000'

/**
 * The zero-config embedded time-series store. One process writes while others read (WAL);
 * writers in several processes take turns (busy timeout). See schema.ts for the layout.
 */
export class SqliteStore implements FullStore {
  readonly kind = 'sqlite'
  readonly path: string
  private readonly db: Database.Database
  private readonly clock: Clock
  private readonly chunkMax: number
  private readonly directMin: number
  private readonly autoCompactEvery: number
  private readonly seriesIds = new Map<string, number>()
  private readonly fieldsByKey = new Map<string, FieldRow>()
  private lastCompactCheck = 0
  private readonly stmt: ReturnType<SqliteStore['prepareStatements']>

  constructor(opts: SqliteStoreOptions) {
    this.path = opts.path
    this.clock = opts.clock ?? systemClock
    this.chunkMax = opts.chunkMax ?? 1024
    this.directMin = opts.directMin ?? 8
    this.autoCompactEvery = opts.autoCompactEvery ?? 5 * 60_000
    this.db = openDatabase(opts.path, Boolean(opts.readonly))
    this.db.function('regexp', {deterministic: true}, (re: unknown, s: unknown) => (regexCache(String(re)).test(String(s ?? '')) ? 1 : 0))
    this.stmt = this.prepareStatements()
  }

  private prepareStatements() {
    const db = this.db
    return {
      seriesId: db.prepare<[string], {id: number}>('SELECT id FROM series WHERE key = ?'),
      insertSeries: db.prepare('INSERT OR IGNORE INTO series (key, measurement, tags) VALUES (?, ?, ?)'),
      field: db.prepare<[string, string], FieldRow>('SELECT id, measurement, name, type FROM fields WHERE measurement = ? AND name = ?'),
      insertField: db.prepare('INSERT OR IGNORE INTO fields (measurement, name, type) VALUES (?, ?, ?)'),
      chunksFrom: db.prepare<[number, number, number, number], ChunkRow>(
        'SELECT rowid, t_start, t_end, n, sum, min, max, first, last FROM chunks WHERE series_id = ? AND field_id = ? AND t_start >= ? AND t_start < ? ORDER BY t_start',
      ),
      chunkBefore: db.prepare<[number, number, number], ChunkRow>(
        'SELECT rowid, t_start, t_end, n, sum, min, max, first, last FROM chunks WHERE series_id = ? AND field_id = ? AND t_start < ? ORDER BY t_start DESC LIMIT 1',
      ),
      chunkData: db.prepare<[number], {data: Buffer}>('SELECT data FROM chunks WHERE rowid = ?'),
      allChunks: db.prepare<[number, number], ChunkRow>(
        'SELECT rowid, t_start, t_end, n, sum, min, max, first, last FROM chunks WHERE series_id = ? AND field_id = ? ORDER BY t_start',
      ),
      insertChunk: db.prepare(
        'INSERT INTO chunks (series_id, field_id, t_start, t_end, n, sum, min, max, first, last, data) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)',
      ),
      deleteChunk: db.prepare('DELETE FROM chunks WHERE rowid = ?'),
      headRange: db.prepare<[number, number, number, number], {ts: number; value: number | string}>(
        'SELECT ts, value FROM head WHERE series_id = ? AND field_id = ? AND ts >= ? AND ts < ? ORDER BY ts',
      ),
      deleteHeadRange: db.prepare('DELETE FROM head WHERE series_id = ? AND field_id = ? AND ts >= ? AND ts < ?'),
      upsertHead: db.prepare('INSERT OR REPLACE INTO head (series_id, field_id, ts, value) VALUES (?, ?, ?, ?)'),
      headGroups: db.prepare<[], {series_id: number; field_id: number; n: number; oldest: number}>(
        'SELECT series_id, field_id, count(*) AS n, min(ts) AS oldest FROM head GROUP BY series_id, field_id',
      ),
      smallChunkGroups: db.prepare<[number], {series_id: number; field_id: number}>(
        'SELECT series_id, field_id FROM chunks WHERE n < ? GROUP BY series_id, field_id HAVING count(*) >= 2',
      ),
      getMeta: db.prepare<[string], {value: string}>('SELECT value FROM meta WHERE key = ?'),
      setMeta: db.prepare('INSERT OR REPLACE INTO meta (key, value) VALUES (?, ?)'),
    }
  }

  // ---------------------------------------------------------------- writes

  async write(points: Point[]): Promise<void> {
    this.writeSync(points)
  }

  writeSync(points: Point[]): void {
    if (points.length === 0) return
    const added: string[] = []
    try {
      this.db.transaction(() => {
        const groups = this.groupPoints(points, added)
        for (const g of groups.values()) {
          const run = normalizeRun(g.run)
          if (run.ts.length >= this.directMin) this.writeRun(g.sid, g.fid, run)
          else for (let i = 0; i < run.ts.length; i++) this.stmt.upsertHead.run(g.sid, g.fid, run.ts[i], run.values[i])
        }
      })()
    } catch (error) {
      // ids cached inside the rolled-back transaction do not exist
      for (const key of added) {
        this.seriesIds.delete(key)
        this.fieldsByKey.delete(key)
      }

      throw error
    }

    this.maybeCompact()
  }

  private groupPoints(points: Point[], added: string[]): Map<number, Group> {
    const groups = new Map<number, Group>()
    for (const p of points) {
      if (!Number.isSafeInteger(p.ts)) throw new InputError(`invalid timestamp ${p.ts} in ${p.measurement}: expected integer milliseconds`)
      if (!p.measurement) throw new InputError('point without a measurement name')
      const sid = this.seriesIdFor(p.measurement, p.tags, added)
      let nFields = 0
      for (const name in p.fields) {
        const value = p.fields[name]
        const type = fieldType(value)
        const field = this.fieldFor(p.measurement, name, type, added)
        const v = type === 'string' ? (value as string) : numericValue(value)!
        if (typeof v === 'number' && !Number.isFinite(v)) {
          throw new InputError(`invalid field value ${v} for ${p.measurement}.${name}: NaN and Infinity cannot be stored`)
        }

        const key = sid * 2_097_152 + field.id
        let g = groups.get(key)
        if (!g) {
          g = {sid, fid: field.id, run: {ts: [], values: []}}
          groups.set(key, g)
        }

        g.run.ts.push(p.ts)
        g.run.values.push(v)
        nFields++
      }

      if (nFields === 0) throw new InputError(`point of ${p.measurement} has no fields`)
    }

    return groups
  }

  private seriesIdFor(measurement: string, tags: Tags, added: string[]): number {
    const key = seriesKey(measurement, tags)
    let id = this.seriesIds.get(key)
    if (id !== undefined) return id
    const row = this.stmt.seriesId.get(key)
    if (row) {
      id = row.id
    } else {
      const clean: Tags = {}
      for (const k of Object.keys(tags).sort()) if (tags[k] !== '') clean[k] = tags[k]
      id = Number(this.stmt.insertSeries.run(key, measurement, JSON.stringify(clean)).lastInsertRowid)
      added.push(key)
    }

    this.seriesIds.set(key, id)
    return id
  }

  private fieldFor(measurement: string, name: string, type: FieldType, added: string[]): FieldRow {
    const key = measurement + FIELD_KEY_SEP + name
    let field = this.fieldsByKey.get(key)
    if (!field) {
      field = this.stmt.field.get(measurement, name)
      if (!field) {
        this.stmt.insertField.run(measurement, name, type)
        field = this.stmt.field.get(measurement, name)!
        added.push(key)
      }

      this.fieldsByKey.set(key, field)
    }

    if (field.type !== type) {
      throw new InputError(
        `field type conflict: input field "${name}" on measurement "${measurement}" is type ${type}, already exists as type ${field.type}`,
        {hint: 'InfluxDB keeps one type per field; write this field with the same type or use another field name'},
      )
    }

    return field
  }

  /** Writes a sorted run as chunk(s), merging with whatever it overlaps (the run wins on equal timestamps). */
  private writeRun(sid: number, fid: number, run: Run): void {
    const minTs = run.ts[0]
    const maxTs = run.ts[run.ts.length - 1]
    const overlapping = this.chunksOverlapping(sid, fid, minTs, maxTs + 1)
    const head = this.stmt.headRange.all(sid, fid, minTs, maxTs + 1)
    if (overlapping.length === 0 && head.length === 0) {
      this.insertChunks(sid, fid, run)
      return
    }

    let merged: Run = {ts: [], values: []}
    for (const c of overlapping) merged = mergeRuns(merged, this.decodeRow(c))
    if (head.length > 0) {
      merged = mergeRuns(merged, {ts: head.map((r) => r.ts), values: head.map((r) => r.value)})
      this.stmt.deleteHeadRange.run(sid, fid, minTs, maxTs + 1)
    }

    for (const c of overlapping) this.stmt.deleteChunk.run(c.rowid)
    this.insertChunks(sid, fid, mergeRuns(merged, run))
  }

  private chunksOverlapping(sid: number, fid: number, start: number, end: number): ChunkRow[] {
    const rows = this.stmt.chunksFrom.all(sid, fid, start, end)
    const before = this.stmt.chunkBefore.get(sid, fid, start)
    if (before && before.t_end >= start) rows.unshift(before)
    return rows
  }

  private decodeRow(c: ChunkRow): Run {
    const data = c.data ?? this.stmt.chunkData.get(c.rowid)!.data
    const decoded = decodeChunk(data)
    return {ts: Array.from(decoded.ts), values: Array.isArray(decoded.values) ? decoded.values : Array.from(decoded.values)}
  }

  private insertChunks(sid: number, fid: number, run: Run): void {
    const n = run.ts.length
    // split evenly so that no chunk is tiny
    const pieces = Math.ceil(n / this.chunkMax)
    const size = Math.ceil(n / pieces)
    for (let from = 0; from < n; from += size) {
      const to = Math.min(n, from + size)
      const ts = run.ts.slice(from, to)
      const values = run.values.slice(from, to)
      // small chunks are written plain and compressed when compaction merges them
      const blob = encodeChunk(ts, values as number[] | string[], {compress: ts.length >= this.chunkMax / 4})
      if (typeof values[0] === 'string') {
        this.stmt.insertChunk.run(sid, fid, ts[0], ts[ts.length - 1], ts.length, null, null, null, null, null, blob)
        continue
      }

      let sum = 0
      let min = Number.POSITIVE_INFINITY
      let max = Number.NEGATIVE_INFINITY
      for (const v of values as number[]) {
        sum += v
        if (v < min) min = v
        if (v > max) max = v
      }

      this.stmt.insertChunk.run(sid, fid, ts[0], ts[ts.length - 1], ts.length, sum, min, max, values[0], values[values.length - 1], blob)
    }
  }

  // ---------------------------------------------------------------- compaction

  private maybeCompact(): void {
    if (this.autoCompactEvery <= 0) return
    const now = this.clock.now()
    if (now - this.lastCompactCheck < 10_000) return
    this.lastCompactCheck = now
    const last = Number(this.stmt.getMeta.get('last_compaction')?.value ?? 0)
    if (now - last >= this.autoCompactEvery) this.compact()
  }

  /**
   * Folds head rows into chunks (for series fields with enough rows, or old ones; all with
   * `full`) and merges runs of small adjacent chunks. Returns what it did.
   */
  compact(opts: {full?: boolean} = {}): {headRows: number; chunksBefore: number; chunksAfter: number} {
    const now = this.clock.now()
    const minRows = Math.max(2, Math.floor(this.chunkMax / 8))
    const stats = {headRows: 0, chunksBefore: 0, chunksAfter: 0}
    this.db.transaction(() => {
      for (const g of this.stmt.headGroups.all()) {
        if (!opts.full && g.n < minRows && g.oldest > now - 3_600_000) continue
        const rows = this.stmt.headRange.all(g.series_id, g.field_id, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        const run: Run = {ts: rows.map((r) => r.ts), values: rows.map((r) => r.value)}
        this.stmt.deleteHeadRange.run(g.series_id, g.field_id, Number.MIN_SAFE_INTEGER, Number.MAX_SAFE_INTEGER)
        this.writeRun(g.series_id, g.field_id, run)
        stats.headRows += rows.length
      }

      for (const g of this.stmt.smallChunkGroups.all(Math.floor(this.chunkMax / 2))) {
        const chunks = this.stmt.allChunks.all(g.series_id, g.field_id)
        stats.chunksBefore += chunks.length
        let pending: ChunkRow[] = []
        let pendingN = 0
        const flush = (): void => {
          if (pending.length > 1) {
            let merged: Run = {ts: [], values: []}
            for (const c of pending) {
              merged = mergeRuns(merged, this.decodeRow(c))
              this.stmt.deleteChunk.run(c.rowid)
            }

            this.insertChunks(g.series_id, g.field_id, merged)
            stats.chunksAfter += Math.ceil(merged.ts.length / this.chunkMax)
          } else {
            stats.chunksAfter += pending.length
          }

          pending = []
          pendingN = 0
        }

        for (const c of chunks) {
          if (pendingN + c.n > this.chunkMax) flush()
          pending.push(c)
          pendingN += c.n
        }

        flush()
      }

      this.stmt.setMeta.run('last_compaction', String(now))
    })()
    this.db.pragma('incremental_vacuum')
    if (opts.full) this.db.pragma('wal_checkpoint(TRUNCATE)')
    return stats
  }

  // ---------------------------------------------------------------- queries

  async query(q: QueryPlan): Promise<Frame[]> {
    return this.querySync(q)
  }

  querySync(q: QueryPlan): Frame[] {
    return this.db.transaction(() => this.runPlan(q))()
  }

  private lookupField(measurement: string, name: string): FieldRow | undefined {
    return this.stmt.field.get(measurement, name)
  }

  private selectSeries(measurement: string, matchers: Matcher[]): Array<{id: number; tags: Tags}> {
    const {sql, params, jsMatchers} = compileSeriesSql(measurement, matchers)
    const rows = this.db.prepare<unknown[], SeriesRow>(sql).all(...params)
    const out: Array<{id: number; tags: Tags}> = []
    for (const r of rows) {
      const tags = JSON.parse(r.tags) as Tags
      if (jsMatchers.length > 0 && !matchesAll(jsMatchers, tags)) continue
      out.push({id: r.id, tags})
    }

    return out
  }

  private runPlan(q: QueryPlan): Frame[] {
    const field = this.lookupField(q.measurement, q.field)
    if (!field) return []
    const series = this.selectSeries(q.measurement, q.matchers)
    if (series.length === 0) return []
    if (field.type === 'string' && (q.aggregate || q.transform) && q.aggregate?.fn !== 'count' && q.aggregate?.fn !== 'first' && q.aggregate?.fn !== 'last') {
      throw new InputError(`${q.aggregate?.fn ?? q.transform}() is not defined for string field ${q.measurement}.${q.field}`)
    }

    if (!q.aggregate) return q.transform ? this.transformFrames(q, field, series) : this.rawFrames(q, field, series)
    return this.aggregateFrames(q, q.aggregate, field, series)
  }

  /** All points of one series field in [start, end), head rows overriding chunk points. */
  private readRun(sid: number, fid: number, start: number, end: number): Run {
    let run: Run = {ts: [], values: []}
    for (const c of this.chunksOverlapping(sid, fid, start, end)) {
      const decoded = this.decodeRow(c)
      if (c.t_start >= start && c.t_end < end) {
        run = concatRuns(run, decoded)
        continue
      }

      const keep: Run = {ts: [], values: []}
      for (let i = 0; i < decoded.ts.length; i++) {
        const t = decoded.ts[i]
        if (t >= start && t < end) {
          keep.ts.push(t)
          keep.values.push(decoded.values[i])
        }
      }

      run = concatRuns(run, keep)
    }

    const head = this.stmt.headRange.all(sid, fid, start, end)
    if (head.length > 0) run = mergeRuns(run, {ts: head.map((r) => r.ts), values: head.map((r) => r.value)})
    return run
  }

  private rawFrames(q: QueryPlan, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const frames: Frame[] = []
    for (const s of series) {
      let run = this.readRun(s.id, field.id, q.start, q.end)
      if (run.ts.length === 0) continue
      if (q.limit !== undefined && run.ts.length > q.limit) run = {ts: run.ts.slice(-q.limit), values: run.values.slice(-q.limit)}
      frames.push({
        name: q.measurement,
        tags: s.tags,
        columns: ['time', q.field],
        rows: run.ts.map((t, i) => [t, typedValue(run.values[i], field.type)]),
      })
    }

    return sortFrames(frames)
  }

  private aggregateFrames(q: QueryPlan, agg: NonNullable<QueryPlan['aggregate']>, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const groups = new Map<string, {tags: Tags; buckets: Map<number, Accumulator>}>()
    for (const s of series) {
      const groupTags: Tags = {}
      for (const k of agg.by) groupTags[k] = s.tags[k] ?? ''
      const groupKey = agg.by.map((k) => groupTags[k]).join('\u0000')
      let group = groups.get(groupKey)
      if (!group) {
        group = {tags: groupTags, buckets: new Map()}
        groups.set(groupKey, group)
      }

      const buckets = group.buckets
      const accAt = (t: number): Accumulator => {
        const b = q.every ? bucketStart(t, q.every) : q.start
        let acc = buckets.get(b)
        if (!acc) {
          acc = new Accumulator(agg.fn, agg.param)
          buckets.set(b, acc)
        }

        return acc
      }

      if (q.transform) {
        const d = this.derivedSeries(q, s.id, field.id)
        for (let i = 0; i < d.ts.length; i++) accAt(d.ts[i]).add(d.ts[i], d.values[i])
      } else {
        this.accumulateSeries(q, s.id, field, accAt)
      }
    }

    const frames: Frame[] = []
    for (const g of groups.values()) {
      const rows: Frame['rows'] = []
      for (const [t, acc] of [...g.buckets.entries()].sort((a, b) => a[0] - b[0])) {
        const v = acc.result()
        if (v === null) continue
        // string fields only count, and first/last of strings would need the text itself
        rows.push([t, field.type === 'string' && agg.fn !== 'count' ? null : v])
      }

      if (rows.length > 0) frames.push({name: q.measurement, tags: g.tags, columns: ['time', agg.fn], rows})
    }

    return sortFrames(frames)
  }

  /** rate/derivative of one series: over raw points, or over the last value of each bucket with `every`. */
  private derivedSeries(q: QueryPlan, sid: number, fid: number): {ts: number[]; values: number[]} {
    const run = this.readRun(sid, fid, q.start, q.end)
    let ts: number[] = run.ts
    let values = run.values as number[]
    if (q.every) ({ts, values} = lastPerBucket(ts, values, q.every))
    return derivative(ts, values, q.transform === 'rate')
  }

  private transformFrames(q: QueryPlan, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const frames: Frame[] = []
    for (const s of series) {
      const d = this.derivedSeries(q, s.id, field.id)
      if (d.ts.length === 0) continue
      frames.push({name: q.measurement, tags: s.tags, columns: ['time', q.transform!], rows: d.ts.map((t, i) => [t, d.values[i]])})
    }

    return sortFrames(frames)
  }

  /** Feeds one series into accumulators, using chunk summaries where a whole chunk falls in one bucket. */
  private accumulateSeries(q: QueryPlan, sid: number, field: FieldRow, accAt: (t: number) => Accumulator): void {
    const fn = q.aggregate!.fn
    const useSummaries = summarizable(fn) && field.type !== 'string'
    const head = this.stmt.headRange.all(sid, field.id, q.start, q.end)
    const headTs = head.map((r) => r.ts)
    for (const c of this.chunksOverlapping(sid, field.id, q.start, q.end)) {
      const inside = c.t_start >= q.start && c.t_end < q.end
      const oneBucket = !q.every || bucketStart(c.t_start, q.every) === bucketStart(c.t_end, q.every)
      const overridden = anyInRange(headTs, c.t_start, c.t_end)
      if (useSummaries && inside && oneBucket && !overridden) {
        accAt(c.t_start).addSummary(c.n, c.sum!, c.min!, c.max!, c.t_start, c.first!, c.t_end, c.last!)
        continue
      }

      const decoded = decodeChunk(this.stmt.chunkData.get(c.rowid)!.data)
      const headSet = overridden ? new Set(headTs) : undefined
      const isString = Array.isArray(decoded.values)
      for (let i = 0; i < decoded.ts.length; i++) {
        const t = decoded.ts[i]
        if (t < q.start || t >= q.end || headSet?.has(t)) continue
        accAt(t).add(t, isString ? 0 : (decoded.values[i] as number))
      }
    }

    for (const r of head) accAt(r.ts).add(r.ts, typeof r.value === 'number' ? r.value : 0)
  }

  explain(q: QueryPlan): string {
    const {sql, params, jsMatchers} = compileSeriesSql(q.measurement, q.matchers)
    const lines = [
      `backend: sqlite (${this.path})`,
      `series:  ${sql}`,
      `         params ${JSON.stringify(params)}${jsMatchers.length > 0 ? ` + filter ${JSON.stringify(jsMatchers)}` : ''}`,
      `field:   SELECT id, type FROM fields WHERE measurement = ${sqlString(q.measurement)} AND name = ${sqlString(q.field)}`,
      `chunks:  SELECT t_start, t_end, n, sum, min, max, first, last[, data] FROM chunks WHERE series_id = :series AND field_id = :field AND t_start < ${q.end} AND t_end >= ${q.start}`,
      `head:    SELECT ts, value FROM head WHERE series_id = :series AND field_id = :field AND ts >= ${q.start} AND ts < ${q.end}`,
    ]
    if (q.aggregate) {
      const how = summarizable(q.aggregate.fn) ? 'from chunk summaries where a chunk lies inside one bucket, else from decoded points' : 'from decoded points'
      lines.push(`aggregate: ${q.aggregate.fn}${q.aggregate.param === undefined ? '' : `(${q.aggregate.param})`} by [${q.aggregate.by.join(', ')}]${q.every ? ` every ${q.every}ms` : ''}, ${how}`)
    }

    if (q.transform) lines.push(`transform: ${q.transform} per series${q.every ? ' over the last value of each bucket' : ' over raw points'}`)
    return lines.join('\n')
  }

  // ---------------------------------------------------------------- catalog

  async info(): Promise<StoreInfo> {
    const series = (this.db.prepare('SELECT count(*) AS n FROM series').get() as {n: number}).n
    const chunks = this.db.prepare('SELECT count(*) AS c, coalesce(sum(n), 0) AS n, min(t_start) AS lo, max(t_end) AS hi FROM chunks').get() as {
      c: number
      n: number
      lo: number | null
      hi: number | null
    }
    const head = this.db.prepare('SELECT count(*) AS n, min(ts) AS lo, max(ts) AS hi FROM head').get() as {n: number; lo: number | null; hi: number | null}
    const points = chunks.n + head.n
    const bytes = fileSize(this.path) + fileSize(this.path + '-wal')
    const pageSize = this.db.pragma('page_size', {simple: true}) as number
    const livePages = (this.db.pragma('page_count', {simple: true}) as number) - (this.db.pragma('freelist_count', {simple: true}) as number)
    const lo = minDefined(chunks.lo, head.lo)
    const hi = maxDefined(chunks.hi, head.hi)
    return {
      backend: 'sqlite',
      location: this.path,
      series,
      points,
      oldest: lo,
      newest: hi,
      bytesOnDisk: bytes,
      bytesPerPoint: points > 0 ? (livePages * pageSize) / points : undefined,
      details: {liveBytes: livePages * pageSize, chunks: chunks.c, headRows: head.n, fields: (this.db.prepare('SELECT count(*) AS n FROM fields').get() as {n: number}).n},
    }
  }

  async measurements(): Promise<string[]> {
    return (this.db.prepare('SELECT DISTINCT measurement FROM series ORDER BY measurement').all() as Array<{measurement: string}>).map((r) => r.measurement)
  }

  async fieldKeys(measurement: string): Promise<FieldInfo[]> {
    return this.db.prepare<[string], FieldInfo>('SELECT name, type FROM fields WHERE measurement = ? ORDER BY name').all(measurement)
  }

  async tagKeys(measurement: string): Promise<string[]> {
    const keys = new Set<string>()
    for (const r of this.db.prepare<[string], SeriesRow>('SELECT id, tags FROM series WHERE measurement = ?').all(measurement)) {
      for (const k of Object.keys(JSON.parse(r.tags) as Tags)) keys.add(k)
    }

    return [...keys].sort()
  }

  async tagValues(measurement: string, key: string): Promise<string[]> {
    const values = new Set<string>()
    for (const r of this.db.prepare<[string], SeriesRow>('SELECT id, tags FROM series WHERE measurement = ?').all(measurement)) {
      const v = (JSON.parse(r.tags) as Tags)[key]
      if (v !== undefined) values.add(v)
    }

    return [...values].sort()
  }

  /** Synchronous escape hatch for same-process components (alert state, outbox) sharing the file. */
  get database(): Database.Database {
    return this.db
  }

  async close(): Promise<void> {
    if (this.db.open) this.db.close()
  }
}

// ------------------------------------------------------------------ helpers

function openDatabase(path: string, readonly: boolean): Database.Database {
  if (!readonly) {
    try {
      mkdirSync(dirname(path), {recursive: true})
    } catch (error) {
      throw new UserError(`cannot create data directory ${dirname(path)}: ${(error as Error).message}`, {
        hint: 'set MON_DATA_DIR (or data_dir in the config) to a writable directory',
        cause: error,
      })
    }
  }

  let db: Database.Database
  try {
    db = new Database(path, {readonly, fileMustExist: readonly})
  } catch (error) {
    const msg = (error as Error).message
    if (readonly && /unable to open|does not exist/i.test(msg)) {
      throw new UserError(`no embedded store at ${path}`, {hint: 'collect or write some data first: mon collect --once', cause: error})
    }

    throw new UserError(`cannot open embedded store ${path}: ${msg}`, {
      hint: 'check that the directory is writable (MON_DATA_DIR / data_dir)',
      cause: error,
    })
  }

  try {
    db.pragma('busy_timeout = 10000')
    if (!readonly) {
      // must precede the first write of a new file (WAL mode writes the header): lets compaction
      // hand freed pages back to the file system (PRAGMA incremental_vacuum)
      if ((db.pragma('page_count', {simple: true}) as number) === 0) db.pragma('auto_vacuum = INCREMENTAL')
      db.pragma('journal_mode = WAL')
      db.pragma('synchronous = NORMAL')
    }

    db.pragma('cache_size = -32000')
    const version = db.pragma('user_version', {simple: true}) as number
    if (version > SCHEMA_VERSION) {
      throw new UserError(`embedded store ${path} has schema version ${version}, newer than this mon understands (${SCHEMA_VERSION})`, {
        hint: 'upgrade mon',
      })
    }

    if (!readonly && version < SCHEMA_VERSION) {
      db.exec(SCHEMA)
      db.pragma(`user_version = ${SCHEMA_VERSION}`)
    }

    if (!readonly || version === SCHEMA_VERSION) db.prepare('SELECT count(*) FROM series').get()
  } catch (error) {
    db.close()
    if (error instanceof UserError) throw error
    const msg = (error as Error).message
    if (/not a database|malformed|corrupt/i.test(msg)) {
      throw new UserError(`embedded store ${path} is corrupt or not a mon database (${msg})`, {
        hint: 'move the file away to start fresh, or restore it from a backup / `mon store archive` export',
        cause: error,
      })
    }

    throw new UserError(`cannot open embedded store ${path}: ${msg}`, {cause: error})
  }

  return db
}

const regexes = new Map<string, RegExp>()
function regexCache(re: string): RegExp {
  let r = regexes.get(re)
  if (!r) {
    r = new RegExp(re, 'u')
    regexes.set(re, r)
  }

  return r
}

function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** Tag matchers compiled to SQL over the series table (regexes anchored, missing tags as ''). */
export function compileSeriesSql(measurement: string, matchers: Matcher[]): {sql: string; params: unknown[]; jsMatchers: Matcher[]} {
  const where = ['measurement = ?']
  const params: unknown[] = [measurement]
  const jsMatchers: Matcher[] = []
  for (const m of matchers) {
    if (/["\\]/.test(m.name)) {
      jsMatchers.push(m)
      continue
    }

    const tag = `coalesce(json_extract(tags, '$."${m.name.replace(/'/g, "''")}"'), '')`
    switch (m.op) {
      case '=':
        where.push(`${tag} = ?`)
        params.push(m.value)
        break
      case '!=':
        where.push(`${tag} != ?`)
        params.push(m.value)
        break
      case '=~':
        where.push(`${tag} REGEXP ?`)
        params.push(`^(?:${m.value})$`)
        break
      case '!~':
        where.push(`NOT (${tag} REGEXP ?)`)
        params.push(`^(?:${m.value})$`)
        break
    }
  }

  return {sql: `SELECT id, tags FROM series WHERE ${where.join(' AND ')} ORDER BY key`, params, jsMatchers}
}

function concatRuns(a: Run, b: Run): Run {
  if (a.ts.length === 0) return b
  for (let i = 0; i < b.ts.length; i++) {
    a.ts.push(b.ts[i])
    a.values.push(b.values[i])
  }

  return a
}

function lastPerBucket(ts: number[], values: number[], every: number): {ts: number[]; values: number[]} {
  const outTs: number[] = []
  const outValues: number[] = []
  for (let i = 0; i < ts.length; i++) {
    const b = bucketStart(ts[i], every)
    if (outTs.length > 0 && outTs[outTs.length - 1] === b) outValues[outValues.length - 1] = values[i]
    else {
      outTs.push(b)
      outValues.push(values[i])
    }
  }

  return {ts: outTs, values: outValues}
}

/** Is any timestamp of the sorted array inside [lo, hi]? */
function anyInRange(sorted: number[], lo: number, hi: number): boolean {
  if (sorted.length === 0) return false
  let a = 0
  let b = sorted.length
  while (a < b) {
    const mid = (a + b) >>> 1
    if (sorted[mid] < lo) a = mid + 1
    else b = mid
  }

  return a < sorted.length && sorted[a] <= hi
}

function typedValue(v: number | string, type: FieldType): number | string | boolean {
  if (type === 'boolean') return v !== 0
  return v
}

function sortFrames(frames: Frame[]): Frame[] {
  const key = (f: Frame) => JSON.stringify(Object.entries(f.tags).sort())
  return frames.sort((a, b) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0))
}

function fileSize(path: string): number {
  try {
    return statSync(path).size
  } catch {
    return 0
  }
}

function minDefined(a: number | null, b: number | null): number | undefined {
  if (a === null) return b ?? undefined
  if (b === null) return a
  return Math.min(a, b)
}

function maxDefined(a: number | null, b: number | null): number | undefined {
  if (a === null) return b ?? undefined
  if (b === null) return a
  return Math.max(a, b)
}
