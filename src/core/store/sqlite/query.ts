import {InputError} from '../../errors.js'
import {matchesAll, type Matcher} from '../../model/matcher.js'
import {fromNumber, type FieldType, type Point, type Tags} from '../../model/point.js'
import {bucketStart, derivative, lastPerBucket, summarizable} from '../../model/aggregate.js'
import {columnFrame, sortFrames} from '../frames.js'
import {UnalignedBucketsError, type Frame, type QueryOptions, type QueryPlan} from '../types.js'
import type {Tier} from '../retention.js'
import {DecodeScratch} from '../codec.js'
import {accumulateGroup, feedSeries, groupHelper, summaryStandsFor, type AccumulatePlan, type ChunkInput, type GroupHelper, type SeriesInput} from './accumulate.js'
import type {Run} from './merge.js'
import {Buckets, COLUMNS_FOR, inRanges, LAST_ONLY, sortedRun, type BucketSink} from './buckets.js'
import {compileSeriesSql, sqlString} from './series-sql.js'
import {keptStatement} from './statements.js'
import {StorePart, type FieldRow, type StoreTables} from './tables.js'
import type {SqliteTiers} from './tiers.js'
import {NO_ROWS, windowFrames, windowRows, type SeriesRows} from './window.js'

/**
 * The read path of a SqliteStore: series selection, raw / aggregate / transform frames from head
 * rows and chunks, rollup frames from a tier, explain, and the point scan for export.
 */
export class SqliteQueries extends StorePart {
  /** the running query's deadline check (querySync) */
  private checkDeadline: () => void = noDeadline
  /** where chunks are decoded while they are accumulated (queries run one at a time, synchronously) */
  private readonly scratch = new DecodeScratch()
  /** a plan's run in one read transaction (one snapshot); made once: db.transaction() builds four wrappers at each call */
  private readonly runInTransaction: (q: QueryPlan) => Frame[]

  constructor(
    tables: StoreTables,
    private readonly tiers: SqliteTiers,
    private readonly path: string,
  ) {
    super(tables)
    this.runInTransaction = this.db.transaction((q: QueryPlan) => this.runPlan(q))
  }

  querySync(q: QueryPlan, opts?: QueryOptions): Frame[] {
    // the run is synchronous, so no other query interleaves while this deadline is installed
    const deadline = opts?.deadline
    this.checkDeadline = deadline ? () => deadline.check() : noDeadline
    try {
      return this.runInTransaction(q)
    } finally {
      this.checkDeadline = noDeadline
    }
  }

  private lookupField(measurement: string, name: string): FieldRow | undefined {
    return this.stmt.field.get(measurement, name)
  }

  private selectSeries(measurement: string, matchers: Matcher[]): Array<{id: number; tags: Tags}> {
    const {sql, params, jsMatchers} = compileSeriesSql(measurement, matchers)
    // rows as [id, tags] arrays: better-sqlite3 makes an object per row key by key, a cost per series at every query
    const rows = keptStatement<unknown[], [number, string]>(this.db, sql).raw(true).all(...params)
    const out: Array<{id: number; tags: Tags}> = []
    for (const [id, text] of rows) {
      this.checkDeadline()
      const tags = JSON.parse(text) as Tags
      if (jsMatchers.length > 0 && !matchesAll(jsMatchers, tags)) continue
      out.push({id, tags})
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

    const choice = this.tiers.tierFor(q)
    if (q.offset && (choice.tier.resolution > 0 || q.transform || !q.aggregate)) throw new UnalignedBucketsError(choice.tier.resolution > 0 ? `the ${choice.tier.name} rollups answer this range` : 'only aggregations take one')
    if (choice.tier.resolution > 0) return this.rollupFrames({...q, start: choice.start, end: choice.end}, choice.tier, field, series)
    if (!q.aggregate) return q.transform ? this.transformFrames(q, field, series) : this.rawFrames(q, field, series)
    if (!q.every) {
      // one window (an instant query's pushdown): no buckets to lay out
      const noValue = field.type === 'string' && q.aggregate.fn !== 'count'
      // every series' rows in three statements, not three per series
      const rows = q.transform ? undefined : windowRows(this.db, field.id, series.map((s) => s.id), q.start, q.end)
      const feed = rows ? (sid: number, sink: BucketSink) => this.accumulateSeries(q, sid, field, sink, rows.get(sid) ?? NO_ROWS) : (sid: number, sink: BucketSink) => this.feedRaw(q, sid, field, sink)
      return windowFrames(q, q.aggregate, series, feed, {noValue, checkDeadline: this.checkDeadline})
    }
    return this.aggregateFrames(q, q.aggregate, field, series)
  }

  private rawFrames(q: QueryPlan, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const frames: Frame[] = []
    for (const s of series) {
      this.checkDeadline()
      let run = this.tables.readRun(s.id, field.id, q.start, q.end)
      if (run.ts.length === 0) continue
      if (q.limit !== undefined && run.ts.length > q.limit) run = {ts: run.ts.slice(-q.limit), values: run.values.slice(-q.limit)}
      frames.push(columnFrame(q.measurement, s.tags, ['time', q.field], run.ts, field.type === 'boolean' ? run.values.map((v) => typedValue(v, field.type)) : run.values))
    }

    return sortFrames(frames)
  }

  private aggregateFrames(
    q: QueryPlan,
    agg: NonNullable<QueryPlan['aggregate']>,
    field: FieldRow,
    series: Array<{id: number; tags: Tags}>,
    feed?: (sid: number, sink: BucketSink) => void,
  ): Frame[] {
    // each group's series in the order they come (the order their points are added in)
    const groups = new Map<string, {tags: Tags; sids: number[]}>()
    for (const s of series) {
      const groupTags: Tags = {}
      for (const k of agg.by) groupTags[k] = s.tags[k] ?? ''
      const groupKey = agg.by.map((k) => groupTags[k]).join('\u0000')
      let group = groups.get(groupKey)
      if (!group) groups.set(groupKey, (group = {tags: groupTags, sids: []}))
      group.sids.push(s.id)
    }

    const list = [...groups.values()]
    const columns = feed || q.transform ? this.fedGroups(q, agg, list, feed ?? ((sid, sink) => this.feedRaw(q, sid, field, sink))) : this.accumulatedGroups(q, agg, field, list)
    const frames: Frame[] = []
    // string fields only count, and first/last of strings would need the text itself
    const noValue = field.type === 'string' && agg.fn !== 'count'
    for (let i = 0; i < list.length; i++) {
      const {ts, values} = columns[i]!
      if (ts.length > 0) frames.push(columnFrame(q.measurement, list[i]!.tags, ['time', agg.fn], ts, noValue ? Array.from(values, () => null) : values))
    }

    return sortFrames(frames)
  }

  /** Groups accumulated through `feed`, series by series. */
  private fedGroups(q: QueryPlan, agg: NonNullable<QueryPlan['aggregate']>, groups: Array<{sids: number[]}>, feed: (sid: number, sink: BucketSink) => void): Array<{ts: Float64Array; values: Float64Array}> {
    return groups.map((g) => {
      const buckets = new Buckets(q, agg)
      for (const sid of g.sids) {
        this.checkDeadline()
        feed(sid, buckets)
      }
      return buckets.columns()
    })
  }

  /**
   * Groups accumulated from their chunks and head rows: read here (in the query's transaction),
   * then accumulated — some groups by the process' other thread when one helps (accumulate.ts) and
   * there is enough to decode, the rest here meanwhile.
   */
  private accumulatedGroups(q: QueryPlan, agg: NonNullable<QueryPlan['aggregate']>, field: FieldRow, groups: Array<{sids: number[]}>): Array<{ts: Float64Array; values: Float64Array}> {
    const plan: AccumulatePlan = {start: q.start, end: q.end, every: q.every, offset: q.offset, aggregate: agg}
    const useSummaries = summarizable(agg.fn) && field.type !== 'string'
    // every series' chunk and head rows in three statements, not three per series
    const rows = windowRows(this.db, field.id, groups.flatMap((g) => g.sids), q.start, q.end)
    // the blobs to decode, read together once every series' chunks are known
    const wanted = new Map<ChunkInput, number>()
    const inputs = groups.map((g) =>
      g.sids.map((sid) => {
        this.checkDeadline()
        return this.seriesInput(plan, sid, field, useSummaries, rows.get(sid) ?? NO_ROWS, wanted)
      }),
    )
    const blobs = this.raw.blobs([...wanted.values()])
    for (const [input, rowid] of wanted) input.blob = blobs.get(rowid)!
    const out: Array<{ts: Float64Array; values: Float64Array}> = new Array(groups.length)
    const check = () => this.checkDeadline()
    const mine = (i: number) => (out[i] = accumulateGroup(plan, inputs[i]!, this.scratch, check))
    // numbers only cross to the other thread (a string field's groups are few and small)
    const helper = field.type === 'string' ? undefined : this.helperFor(inputs)
    const helped = helper?.accumulate(plan, inputs, mine)
    if (helped) for (const [i, c] of helped) out[i] = c
    // every group when none helped; one the other thread could not finish is accumulated here
    for (let i = 0; i < groups.length; i++) if (!out[i]) mine(i)
    return out
  }

  /** The other thread to share the groups with, when there is one and enough to decode. */
  private helperFor(inputs: SeriesInput[][]): GroupHelper | undefined {
    const helper = groupHelper()
    if (!helper || inputs.length < 2) return undefined
    let total = 0
    for (const g of inputs) for (const s of g) for (const c of s.chunks) if (c.blob) total += c.n
    return total >= helper.minPoints ? helper : undefined
  }

  /**
   * One series field's chunk rows (with the blobs to decode) and head rows in the plan's range;
   * `rows`: read already (windowRows). With `wanted`, the chunks whose blobs are to be decoded go
   * there with their rowids (the caller reads them), instead of each blob read here.
   */
  private seriesInput(q: AccumulatePlan, sid: number, field: FieldRow, useSummaries: boolean, rows?: SeriesRows, wanted?: Map<ChunkInput, number>): SeriesInput {
    const head = rows?.head ?? this.stmt.headRange.all(sid, field.id, q.start, q.end)
    const headTs = head.map((r) => r.ts)
    const chunks: ChunkInput[] = []
    for (const c of rows?.chunks ?? this.raw.overlapping(sid, field.id, q.start, q.end)) {
      const input: ChunkInput = {t_start: c.t_start, t_end: c.t_end, n: c.n, sum: c.sum, min: c.min, max: c.max, first: c.first, last: c.last}
      if (!summaryStandsFor(q, useSummaries, c, headTs)) {
        if (wanted) wanted.set(input, c.rowid)
        else input.blob = this.raw.blob(c)
      }
      chunks.push(input)
    }
    return {chunks, headTs, headValues: head.map((r) => r.value)}
  }

  private transformFrames(q: QueryPlan, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const frames: Frame[] = []
    for (const s of series) {
      this.checkDeadline()
      const d = this.derivedSeries(q, s.id, field.id)
      if (d.ts.length === 0) continue
      frames.push({name: q.measurement, tags: s.tags, columns: ['time', q.transform!], rows: d.ts.map((t, i) => [t, d.values[i]])})
    }

    return sortFrames(frames)
  }

  /** Feeds one series into accumulators, using chunk summaries where a whole chunk falls in one bucket; `rows`: its chunks and head rows read already (windowRows). */
  private accumulateSeries(q: QueryPlan, sid: number, field: FieldRow, sink: BucketSink, rows?: SeriesRows): void {
    const plan: AccumulatePlan = {start: q.start, end: q.end, every: q.every, offset: q.offset, aggregate: q.aggregate!}
    const useSummaries = summarizable(q.aggregate!.fn) && field.type !== 'string'
    feedSeries(plan, this.seriesInput(plan, sid, field, useSummaries, rows), sink, this.scratch, () => this.checkDeadline())
  }

  private feedRaw(q: QueryPlan, sid: number, field: FieldRow, sink: BucketSink): void {
    if (!q.transform) {
      this.accumulateSeries(q, sid, field, sink)
      return
    }

    const d = this.derivedSeries(q, sid, field.id)
    for (let i = 0; i < d.ts.length; i++) sink.add(d.ts[i], d.values[i])
  }

  /** rate/derivative of one series: over raw points, or over the last value of each bucket with `every`. */
  private derivedSeries(q: QueryPlan, sid: number, fid: number, source?: Run<number>): {ts: number[]; values: number[]} {
    const run = source ?? (this.tables.readRun(sid, fid, q.start, q.end) as Run<number>)
    let ts: number[] = run.ts
    let values = run.values
    if (q.every) ({ts, values} = lastPerBucket(ts, values, q.every))
    return derivative(ts, values, q.transform === 'rate')
  }

  /**
   * Answers from a rollup tier: whole buckets from the rollup up to its watermark, the rest (not
   * rolled up yet) from raw points. Transforms use each bucket's last value.
   */
  private rollupFrames(q: QueryPlan, tier: Tier, field: FieldRow, series: Array<{id: number; tags: Tags}>): Frame[] {
    const res = tier.resolution
    const wm = Math.max(q.start, Math.min(q.end, this.tiers.watermark(tier) ?? q.start))
    const lastValues = (sid: number): Run<number> => {
      const rolled = this.lastValuesOf(tier, sid, field.id, q.start, wm)
      const recent = this.tables.readRun(sid, field.id, wm, q.end) as Run<number>
      return {ts: [...rolled.ts, ...recent.ts], values: [...rolled.values, ...recent.values]}
    }

    if (!q.aggregate) {
      const tq = {...q, every: q.every ?? res}
      const frames: Frame[] = []
      for (const s of series) {
        this.checkDeadline()
        const d = this.derivedSeries(tq, s.id, field.id, lastValues(s.id))
        if (d.ts.length > 0) frames.push({name: q.measurement, tags: s.tags, columns: ['time', q.transform!], rows: d.ts.map((t, i) => [t, d.values[i]])})
      }

      return sortFrames(frames)
    }

    return this.aggregateFrames(q, q.aggregate, field, series, (sid, sink) => {
      if (q.transform) {
        const d = this.derivedSeries({...q, every: q.every ?? res}, sid, field.id, lastValues(sid))
        for (let i = 0; i < d.ts.length; i++) sink.add(d.ts[i], d.values[i])
        return
      }

      this.feedRollups(q, tier, sid, field, q.start, wm, sink)
      if (wm < q.end) this.accumulateSeries({...q, start: wm}, sid, field, sink)
    })
  }

  /**
   * The buckets of `tier` in [from, to) (below its watermark) into `sink`, as the next rollup pass
   * will have them: the stored buckets, except those a late write made stale (a backfill below the
   * watermark, see dirtyRanges), which come from what the pass rolls them up from — the finer
   * tier, or raw points. So a query sees every stored point at any moment.
   */
  private feedRollups(q: QueryPlan, tier: Tier, sid: number, field: FieldRow, from: number, to: number, sink: BucketSink): void {
    const res = tier.resolution
    const dirty = this.tiers.dirtyRanges(tier, sid, field.id, from, to)
    this.rollups.get(res)!.scanColumns(sid, field.id, from, to, COLUMNS_FOR[q.aggregate!.fn], (c, i) => {
      const t = c.ts[i]
      if (inRanges(dirty, t)) return
      // columns this function does not read are empty (undefined → NaN, ignored by its result)
      sink.addSummary(t, c.n[i] ?? 0, c.sum[i], c.min[i], c.max[i], t, c.first[i], t + res - 1, c.last[i])
    })
    const source = this.tiers.rollupSource(tier)
    for (const [a, b] of dirty) {
      if (source) this.feedRollups(q, source, sid, field, a, b, sink)
      else this.accumulateSeries({...q, start: a, end: b}, sid, field, sink)
    }
  }

  /** The last value of each bucket of `tier` in [from, to), stamped with the bucket's end; stale buckets as feedRollups. */
  private lastValuesOf(tier: Tier, sid: number, fid: number, from: number, to: number): Run<number> {
    const res = tier.resolution
    const dirty = this.tiers.dirtyRanges(tier, sid, fid, from, to)
    const out: Run<number> = {ts: [], values: []}
    this.rollups.get(res)!.scanColumns(sid, fid, from, to, LAST_ONLY, (c, i) => {
      if (inRanges(dirty, c.ts[i])) return
      out.ts.push(c.ts[i] + res - 1)
      out.values.push(c.last[i])
    })
    if (dirty.length === 0) return out
    const source = this.tiers.rollupSource(tier)
    return sortedRun([out, ...dirty.map(([a, b]) => (source ? this.lastValuesOf(source, sid, fid, a, b) : (this.tables.readRun(sid, fid, a, b) as Run<number>)))])
  }

  explain(q: QueryPlan): string {
    const {sql, params, jsMatchers} = compileSeriesSql(q.measurement, q.matchers)
    let tier: string
    try {
      const c = this.tiers.tierFor(q)
      tier = c.tier.resolution === 0 ? `raw (${c.reason})` : `${c.tier.name} rollups over [${new Date(c.start).toISOString()}, ${new Date(c.end).toISOString()}) (${c.reason})`
    } catch (error) {
      tier = `none: ${(error as Error).message}`
    }

    const lines = [
      `backend: sqlite (${this.path})`,
      `tier:    ${tier}`,
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

  async *scan(start: number, end: number, batchSize = 10_000): AsyncIterable<Point[]> {
    const series = this.db.prepare('SELECT id, measurement, tags FROM series ORDER BY key').all() as Array<{id: number; measurement: string; tags: string}>
    const fieldsOf = this.db.prepare<[string], FieldRow>('SELECT id, measurement, name, type FROM fields WHERE measurement = ? ORDER BY name')
    for (const s of series) {
      const tags = JSON.parse(s.tags) as Tags
      // one snapshot per series: a writer may go on meanwhile
      const byTs = this.db.transaction(() => {
        const points = new Map<number, Point>()
        for (const f of fieldsOf.all(s.measurement)) {
          const run = this.tables.readRun(s.id, f.id, start, end)
          for (let i = 0; i < run.ts.length; i++) {
            const t = run.ts[i]
            let p = points.get(t)
            if (!p) {
              p = {measurement: s.measurement, tags, fields: {}, ts: t}
              points.set(t, p)
            }

            const v = run.values[i]
            p.fields[f.name] = typeof v === 'string' ? v : fromNumber(v, f.type)
          }
        }

        return points
      })()
      if (byTs.size === 0) continue
      const sorted = [...byTs.values()].sort((a, b) => a.ts - b.ts)
      for (let i = 0; i < sorted.length; i += batchSize) yield sorted.slice(i, i + batchSize)
    }
  }
}

// ------------------------------------------------------------------ helpers

function noDeadline(): void {}

function typedValue(v: number | string, type: FieldType): number | string | boolean {
  if (type === 'boolean') return v !== 0
  return v
}
