import type {Point} from '../../model/point.js'
import {InputError} from '../../errors.js'
import type {TierChoice} from '../retention.js'
import {UnalignedBucketsError, type Frame, type QueryPlan} from '../types.js'
import {describeFailure, InfluxQueryError} from './errors.js'
import {HttpStatusError} from './http.js'
import {compilePlan, framesFromSeries} from './influxql.js'
import {compileTierPlan, describeMerge, framesFromTierAnswers, WATERMARK_MEASUREMENT, type TierSource} from './retention.js'
import {scanPoints} from './scan.js'
import type {RawSeries} from './v2.js'
import type {InfluxCatalog} from './catalog.js'
import type {InfluxConnection} from './connection.js'
import {rawSplit, type InfluxTiers, type TierState} from './tiers.js'

/** The --influxql / --flux passthrough answer: InfluxDB's tables as it returned them. */
export interface RawQueryResult {
  language: 'influxql' | 'flux' | 'promql'
  query: string
  series: RawSeries[]
  messages: string[]
}

/**
 * The read path of an InfluxStore: plans compiled to InfluxQL (from raw points or a rollup tier),
 * explain, the raw-point scan for `mon store archive`, and the --influxql / --flux passthrough.
 */
export class InfluxQueries {
  constructor(
    private readonly conn: InfluxConnection,
    private readonly tiering: InfluxTiers,
    private readonly catalog: InfluxCatalog,
  ) {}

  async query(q: QueryPlan): Promise<Frame[]> {
    const now = this.conn.env.clock.now()
    const choice = this.tiering.needsTiers(q, now) ? this.tiering.chooseTier(q, await this.tiering.tierState(), now) : undefined
    if (q.offset && ((choice && choice.tier.resolution > 0) || q.transform || !q.aggregate)) throw new UnalignedBucketsError(choice && choice.tier.resolution > 0 ? `the ${choice.tier.name} rollups answer this range` : 'only aggregations take one')
    if (choice && choice.tier.resolution > 0) return this.queryTier(q, choice, this.tiering.tiers!, now)
    const statement = compilePlan(q, {retentionPolicy: this.conn.cfg.retention_policy})
    const [result] = await this.conn.influxql(statement, {epoch: 'ms'})
    return framesFromSeries(q, result?.series ?? [])
  }

  explain(q: QueryPlan): string {
    const api = this.conn.known ? `InfluxDB ${this.conn.known.serverVersion ?? '(version not reported)'}, API ${this.conn.known.api}.x` : `API version ${this.conn.cfg.version}`
    const db = this.conn.known?.api === 2 ? `bucket=${this.conn.cfg.bucket}` : `db=${this.conn.cfg.database}`
    const head = `backend: influxdb (${api}) ${this.conn.url}/query ${db} epoch=ms`
    const now = this.conn.env.clock.now()
    let tierLine: string | undefined
    if (this.tiering.needsTiers(q, now)) {
      const state = this.tiering.tiers ?? this.tiering.assumedTiers(now)
      const assumed = state.assumed ? ' — assumed from the configured retention: the server\'s retention policies are read when the query runs' : state.note ? ` — ${state.note}` : ''
      try {
        const choice = this.tiering.chooseTier(q, state, now)
        if (choice.tier.resolution > 0) {
          const wm = this.conn.isV2() ? undefined : rawSplit(this.tiering.v1Watermark(choice.tier, now), choice.tier, state, now)
          const statements = compileTierPlan(q, choice, wm ?? choice.end, {rollup: state.sources.get(choice.tier.name)!, raw: state.raw})
          const where = (src: TierSource) => (src.rp ? `retention policy "${src.rp}"` : src.db ? `bucket ${src.db}` : 'the default retention policy')
          return [
            head,
            ...statements.map((st) => `influxql: ${st.text}${st.source.db ? `   (db=${st.source.db})` : ''}`),
            `tier:     ${choice.tier.name} rollups in ${where(state.sources.get(choice.tier.name)!)} over [${new Date(choice.start).toISOString()}, ${new Date(choice.end).toISOString()}) (${choice.reason})${assumed}`,
            `          ${wm === undefined ? `raw points after the watermark kept in bucket ${state.sources.get(choice.tier.name)!.db}, or from the raw bucket's horizon if earlier, are read from the raw bucket` : `raw points from ${new Date(Math.max(choice.start, Math.min(wm, choice.end))).toISOString()} on (what raw still holds) are read from the raw retention policy`}`,
            `then:     ${describeMerge(q)}`,
          ].join('\n')
        }

        tierLine = `tier:     raw (${choice.reason})${assumed}`
      } catch (error) {
        tierLine = `tier:     none: ${(error as Error).message}${assumed}`
      }
    }

    const lines = [head, `influxql: ${compilePlan(q, {retentionPolicy: this.conn.cfg.retention_policy})}`]
    if (tierLine) lines.push(tierLine)
    if (q.aggregate && q.every === undefined) lines.push(`then:     each group's row is timed at the range start ${new Date(q.start).toISOString()}`)
    if (q.limit !== undefined) lines.push('then:     rows put back in time order')
    return lines.join('\n')
  }

  private async queryTier(q: QueryPlan, choice: TierChoice, state: TierState, now: number): Promise<Frame[]> {
    const wm = this.conn.isV2() ? ((await this.tiering.v2Watermark(choice.tier)) ?? choice.start) : this.tiering.v1Watermark(choice.tier, now)
    const statements = compileTierPlan(q, choice, rawSplit(wm, choice.tier, state, now), {rollup: state.sources.get(choice.tier.name)!, raw: state.raw})
    const answers = await Promise.all(statements.map(async (st) => (await this.conn.influxql(st.text, {epoch: 'ms', db: st.source.db}))[0]?.series ?? []))
    return framesFromTierAnswers(q, choice, statements, answers)
  }

  /**
   * Every raw point in [start, end) of the raw retention policy (1.x) or bucket (2.x), a
   * measurement at a time, with the stored field types (scan.ts): `mon store archive`.
   */
  async *scan(start: number, end: number): AsyncIterable<Point[]> {
    const {api} = await this.conn.ready()
    yield* scanPoints(
      {
        rp: api === 1 ? this.conn.cfg.retention_policy : undefined,
        measurements: async () => (await this.catalog.measurements()).filter((m) => m !== WATERMARK_MEASUREMENT),
        fieldTypes: async (m) => new Map((await this.catalog.fieldKeys(m)).map((f) => [f.name, f.type])),
        stream: (statement) => this.conn.influxqlStream(statement),
      },
      start,
      end,
    )
  }

  /** `mon query --influxql`: InfluxDB's answer as it is (times RFC 3339). */
  async rawInfluxQL(text: string): Promise<RawQueryResult> {
    const results = await this.conn.influxql(text)
    const series: RawSeries[] = []
    const messages: string[] = []
    for (const r of results) {
      for (const m of r.messages ?? []) messages.push(`${m.level}: ${m.text}`)
      for (const s of r.series ?? []) series.push({name: s.name ?? '', tags: s.tags ?? {}, columns: s.columns, values: s.values ?? []})
    }

    return {language: 'influxql', query: text, series, messages}
  }

  /** `mon query --flux`: 2.x only, through the client's QueryApi. */
  async flux(text: string): Promise<RawQueryResult> {
    const {api, serverVersion} = await this.conn.ready()
    if (api !== 2) {
      throw new InputError(`--flux needs InfluxDB 2.x; ${this.conn.url} is ${serverVersion ? `InfluxDB ${serverVersion}` : 'used with the 1.x API'}`, {
        hint: 'use --influxql, or a mon expression',
      })
    }

    try {
      return {language: 'flux', query: text, series: await this.conn.v2!.flux(text), messages: []}
    } catch (error) {
      if (error instanceof HttpStatusError && error.status === 400) throw new InfluxQueryError(error.serverMessage, text, 'Flux', this.conn.url, 'check the Flux syntax')
      throw describeFailure(error, this.conn.context(), 'query', '/api/v2/query')
    }
  }
}
