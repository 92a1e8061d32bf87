/**
 * Retention tiers on InfluxDB (config `retention`, default raw 7d, 1m 30d, 1h 1y).
 *
 * InfluxDB 1.x — the server keeps the tiers itself:
 *   raw    the retention policy mon writes to (store.retention_policy, else the database's
 *          default RP, usually `autogen`), its DURATION set to the raw tier's
 *   rollup one RP per rollup tier, `mon_<tier>` (mon_1m, mon_1h), DURATION the tier's, fed by a
 *          continuous query of the same name:
 *            CREATE CONTINUOUS QUERY mon_1m ON db RESAMPLE EVERY 1m FOR 2m BEGIN
 *              SELECT count(*), sum(*), min(*), max(*), first(*), last(*)
 *              INTO db.mon_1m.:MEASUREMENT FROM db.<raw rp>.<every measurement, by regex>
 *              GROUP BY time(1m), * END
 *          Every measurement and field, every tag kept; field `x` becomes count_x, sum_x, min_x,
 *          max_x, first_x, last_x (sum/min/max only for the types InfluxDB aggregates).
 *   Every rollup tier reads the raw RP, not the next finer tier: a wildcard CQ cannot rename
 *   fields, so a 1h CQ over mon_1m would write sum_count_x, min_min_x …, a different schema per
 *   tier, and a CQ listing the fields by name would miss every field added later. Reading raw
 *   keeps one schema in every tier and picks up new measurements and fields by itself, at the
 *   cost of the 1h CQ reading an hour of raw points once an hour. It needs the raw tier to keep
 *   at least two buckets of the coarsest tier (RESAMPLE FOR 2 buckets), which is checked.
 *   Backfill: CQs only ever compute recent buckets, so when a rollup RP is created, mon runs the
 *   CQ's SELECT … INTO itself for the time the raw RP already holds (one statement per raw shard
 *   group, at most a day of 1m buckets each), before the raw RP is shortened.
 *
 * InfluxDB 2.x — buckets `<bucket>`, `<bucket>_1m`, `<bucket>_1h` with the tiers' retention,
 * created/updated through /api/v2/buckets; the rollups are computed by mon (store.maintain, run by
 * the daemon), which reads the raw bucket through the v1-compatible /query with the same SELECT
 * (without INTO, which 2.x does not run), writes the rollup points through /api/v2/write, and
 * keeps its watermark in the rollup bucket (measurement `_mon_rollup`, field `watermark`).
 *
 * Queries (both): chooseTier (../retention.ts) with each tier's horizon = now − its RP/bucket
 * duration as the server has it (a rollup RP/bucket that does not exist holds nothing); on a
 * rollup tier the plan reads the rollup fields up to the tier's watermark and raw points after it,
 * and both are merged per group and bucket exactly as the embedded store merges its rollups:
 * mean = Σsum/Σcount, sum = Σsum, count = Σcount, min = min(min), max = max(max),
 * first = first(first), last = last(last), spread = max(max) − min(min).
 */
import {InputError} from '../../errors.js'
import {Accumulators, bucketStart, derivative} from '../../model/aggregate.js'
import {UInt, type FieldType, type FieldValue, type Point} from '../../model/point.js'
import {rollupTiers, type RetentionPolicy, type Tier, type TierChoice} from '../retention.js'
import type {Frame, QueryPlan} from '../types.js'
import {matcherCondition, presentTags, quoteIdent, timeLiteral, type InfluxSeries} from './influxql.js'
import {sortFrames} from '../frames.js'

export const ROLLUP_PREFIX = 'mon_'
/** The fields a rollup keeps per source field, in the CQ's order. */
export const ROLLUP_COMPONENTS = ['count', 'sum', 'min', 'max', 'first', 'last'] as const
export type RollupComponent = (typeof ROLLUP_COMPONENTS)[number]
/** The 2.x rollup watermark (in each rollup bucket). */
export const WATERMARK_MEASUREMENT = '_mon_rollup'
/** InfluxDB's shortest retention policy / bucket retention. */
const MIN_RETENTION = 3_600_000
const HOUR = 3_600_000
const DAY = 86_400_000
/** Backfill statements cover at most this many buckets (a day of 1m buckets). */
const BACKFILL_BUCKETS = 1440
/** A 2.x rollup bucket is computed once it ended this long ago (late points: see maintain). */
export const FINAL_AFTER = 60_000
/** 2.x: with no retention on the raw bucket nor on the tier, the first pass backfills this far. */
export const FIRST_BACKFILL_LIMIT = 365 * DAY
/** InfluxDB's time range (int64 ns) in ms. */
export const INFLUX_MIN_MS = -9_223_372_036_854
export const INFLUX_MAX_MS = 9_223_372_036_854

export const rollupRpName = (tier: Tier): string => `${ROLLUP_PREFIX}${tier.name}`
export const rollupBucketName = (bucket: string, tier: Tier): string => `${bucket}_${tier.name}`
export const rollupField = (component: RollupComponent, field: string): string => `${component}_${field}`

// ---------------------------------------------------------------------------------------------
// Durations

/** InfluxQL's canonical duration (influxql.FormatDuration): the largest unit that divides it. */
export function influxDuration(ms: number): string {
  if (!Number.isFinite(ms)) return 'INF'
  if (!Number.isSafeInteger(ms) || ms < 0) throw new RangeError(`duration ${ms} is not a whole number of milliseconds`)
  if (ms === 0) return '0s'
  const units: Array<[string, number]> = [
    ['w', 7 * DAY],
    ['d', DAY],
    ['h', HOUR],
    ['m', 60_000],
    ['s', 1000],
  ]
  for (const [u, size] of units) if (ms % size === 0) return `${ms / size}${u}`
  return `${ms}ms`
}

/** A Go duration as SHOW RETENTION POLICIES prints it (`168h0m0s`, `0s`, `1m30.5s`) → ms; 0 means infinite. */
export function parseGoDuration(text: string): number {
  const re = /(\d+(?:\.\d+)?)(ms|µs|us|ns|h|m|s)/g
  const size: Record<string, number> = {h: HOUR, m: 60_000, s: 1000, ms: 1, µs: 1e-3, us: 1e-3, ns: 1e-6}
  let total = 0
  let matched = ''
  for (const m of text.matchAll(re)) {
    total += Number(m[1]) * size[m[2]]
    matched += m[0]
  }

  if (matched !== text) throw new Error(`unexpected duration ${JSON.stringify(text)} from InfluxDB`)
  return Math.round(total)
}

/** InfluxDB's own default shard group duration for a retention policy of this duration. */
export function defaultShardDuration(keep: number): number {
  if (!Number.isFinite(keep)) return 7 * DAY
  if (keep < 2 * DAY) return HOUR
  if (keep <= 180 * DAY) return DAY
  return 7 * DAY
}

/** What InfluxDB can keep: durations of at least an hour, rollups the raw tier can feed. */
export function checkPolicyForInflux(policy: RetentionPolicy): void {
  for (const t of policy) {
    if (Number.isFinite(t.keep) && t.keep < MIN_RETENTION) {
      throw new InputError(`retention.${t.name} is ${influxDuration(t.keep)}, but InfluxDB keeps data for at least 1h`, {hint: `set retention.${t.name} to 1h or more`})
    }

    if (t.resolution > 0 && t.keep < 2 * t.resolution) {
      throw new InputError(`retention.${t.name} keeps ${influxDuration(t.keep)}, less than two of its ${t.name} buckets`, {hint: 'keep a rollup tier for much longer than its resolution'})
    }
  }

  const raw = policy[0]
  for (const t of rollupTiers(policy)) {
    if (raw.keep < 2 * t.resolution) {
      throw new InputError(`the ${t.name} rollups are computed from raw points, which retention.raw keeps for only ${influxDuration(raw.keep)}`, {
        hint: `keep raw points for at least two ${t.name} buckets (${influxDuration(2 * t.resolution)})`,
      })
    }
  }
}

// ---------------------------------------------------------------------------------------------
// InfluxDB 1.x: retention policies and continuous queries

export interface RetentionPolicyInfo {
  name: string
  /** ms; Infinity for INF */
  duration: number
  shardGroupDuration: number
  isDefault: boolean
}

export interface ContinuousQueryInfo {
  name: string
  query: string
}

export interface ShardGroupInfo {
  retentionPolicy: string
  start: number
  end: number
}

export interface V1RetentionState {
  database: string
  /** the RP mon writes raw points to */
  rawRp: string
  rps: RetentionPolicyInfo[]
  /** CQs of this database */
  cqs: ContinuousQueryInfo[]
  /** shard groups of the raw RP; undefined when SHOW SHARDS is not allowed */
  rawShardGroups?: ShardGroupInfo[]
}

/** SHOW RETENTION POLICIES ON db → infos. */
export function parseRetentionPolicies(series: readonly InfluxSeries[] | undefined): RetentionPolicyInfo[] {
  const out: RetentionPolicyInfo[] = []
  for (const s of series ?? []) {
    const col = (n: string) => s.columns.indexOf(n)
    for (const v of s.values ?? []) {
      const duration = parseGoDuration(String(v[col('duration')]))
      out.push({
        name: String(v[col('name')]),
        duration: duration === 0 ? Number.POSITIVE_INFINITY : duration,
        shardGroupDuration: parseGoDuration(String(v[col('shardGroupDuration')])),
        isDefault: v[col('default')] === true,
      })
    }
  }

  return out
}

/** SHOW CONTINUOUS QUERIES → the CQs of one database. */
export function parseContinuousQueries(series: readonly InfluxSeries[] | undefined, database: string): ContinuousQueryInfo[] {
  const out: ContinuousQueryInfo[] = []
  for (const s of series ?? []) {
    if (s.name !== database) continue
    for (const v of s.values ?? []) out.push({name: String(v[0]), query: String(v[1])})
  }

  return out
}

/** SHOW SHARDS → the shard groups of one RP of one database. */
export function parseShardGroups(series: readonly InfluxSeries[] | undefined, database: string, rp: string): ShardGroupInfo[] {
  const groups = new Map<string, ShardGroupInfo>()
  for (const s of series ?? []) {
    const col = (n: string) => s.columns.indexOf(n)
    for (const v of s.values ?? []) {
      if (v[col('database')] !== database || v[col('retention_policy')] !== rp) continue
      const start = toMs(v[col('start_time')])
      const end = toMs(v[col('end_time')])
      groups.set(`${start}:${end}`, {retentionPolicy: rp, start, end})
    }
  }

  return [...groups.values()].sort((a, b) => a.start - b.start)
}

function toMs(v: unknown): number {
  if (typeof v === 'number') return v
  const t = Date.parse(String(v))
  if (Number.isNaN(t)) throw new Error(`unexpected time ${JSON.stringify(v)} from InfluxDB`)
  return t
}

const qualified = (db: string, rp: string): string => `${quoteIdent(db)}.${quoteIdent(rp)}`

const SELECT_ROLLUP = ROLLUP_COMPONENTS.map((c) => `${c}(*)`).join(', ')

/** The SELECT every rollup is made of; with a range for a backfill, without for the CQ. */
export function rollupSelect(db: string, rawRp: string, tier: Tier, range?: {start: number; end: number}): string {
  const where = range ? ` WHERE time >= ${timeLiteral(range.start)} AND time < ${timeLiteral(range.end)}` : ''
  return `SELECT ${SELECT_ROLLUP} INTO ${qualified(db, rollupRpName(tier))}.:MEASUREMENT FROM ${qualified(db, rawRp)}./.*/${where} GROUP BY time(${influxDuration(tier.resolution)}), *`
}

/** The CQ that keeps a rollup tier; RESAMPLE FOR two buckets picks up points up to a bucket late. */
export function continuousQuery(db: string, rawRp: string, tier: Tier): string {
  const every = influxDuration(tier.resolution)
  return `CREATE CONTINUOUS QUERY ${quoteIdent(rollupRpName(tier))} ON ${quoteIdent(db)} RESAMPLE EVERY ${every} FOR ${influxDuration(2 * tier.resolution)} BEGIN ${rollupSelect(db, rawRp, tier)} END`
}

/** InfluxDB prints a CQ back in its own form (identifiers unquoted where it can); compare without quotes. */
export function sameQuery(a: string, b: string): boolean {
  const norm = (s: string) => s.replaceAll('"', '').replace(/\s+/g, ' ').trim()
  return norm(a) === norm(b)
}

function rpClause(keep: number): string {
  return `DURATION ${influxDuration(keep)} REPLICATION 1 SHARD DURATION ${influxDuration(defaultShardDuration(keep))}`
}

/**
 * The statements that make a 1.x database match the policy, in a safe order: rollup RPs first,
 * then the backfill of new ones from the raw RP, then the CQs, and the raw RP's duration last (so
 * nothing is dropped before it is rolled up). Empty when the database already matches.
 *
 * mon never drops a retention policy: a tier removed from the policy loses its CQ, and its data
 * expires with its RP's own duration (DROP RETENTION POLICY deletes it at once).
 */
export function planV1Retention(policy: RetentionPolicy, state: V1RetentionState, now: number): string[] {
  checkPolicyForInflux(policy)
  const db = state.database
  const raw = policy[0]
  const rps = new Map(state.rps.map((r) => [r.name, r]))
  const rawRp = rps.get(state.rawRp)
  if (!rawRp) throw new InputError(`retention policy "${state.rawRp}" does not exist in database "${db}"`, {hint: 'create it, or remove store.retention_policy'})
  const tiers = rollupTiers(policy)
  for (const t of tiers) {
    if (rollupRpName(t) === state.rawRp) throw new InputError(`the raw retention policy is named "${state.rawRp}", the name mon uses for the ${t.name} rollups`, {hint: 'write raw points to another retention policy'})
  }

  const rpStatements: string[] = []
  const backfill: string[] = []
  for (const t of tiers) {
    const name = rollupRpName(t)
    const current = rps.get(name)
    if (!current) {
      rpStatements.push(`CREATE RETENTION POLICY ${quoteIdent(name)} ON ${quoteIdent(db)} ${rpClause(t.keep)}`)
      for (const w of backfillWindows(t, state, now)) backfill.push(rollupSelect(db, state.rawRp, t, w))
    } else if (current.duration !== t.keep) {
      rpStatements.push(`ALTER RETENTION POLICY ${quoteIdent(name)} ON ${quoteIdent(db)} DURATION ${influxDuration(t.keep)} SHARD DURATION ${influxDuration(defaultShardDuration(t.keep))}`)
    }
  }

  const cqStatements: string[] = []
  const existing = new Map(state.cqs.filter((c) => c.name.startsWith(ROLLUP_PREFIX)).map((c) => [c.name, c]))
  for (const t of tiers) {
    const name = rollupRpName(t)
    const want = continuousQuery(db, state.rawRp, t)
    const have = existing.get(name)
    existing.delete(name)
    if (have && sameQuery(have.query, want)) continue
    if (have) cqStatements.push(`DROP CONTINUOUS QUERY ${quoteIdent(name)} ON ${quoteIdent(db)}`)
    cqStatements.push(want)
  }

  for (const name of existing.keys()) cqStatements.push(`DROP CONTINUOUS QUERY ${quoteIdent(name)} ON ${quoteIdent(db)}`)

  const rawStatements: string[] = []
  if (rawRp.duration !== raw.keep) rawStatements.push(`ALTER RETENTION POLICY ${quoteIdent(state.rawRp)} ON ${quoteIdent(db)} DURATION ${influxDuration(raw.keep)} SHARD DURATION ${influxDuration(defaultShardDuration(raw.keep))}`)
  return [...rpStatements, ...backfill, ...cqStatements, ...rawStatements]
}

/**
 * The ranges a new rollup tier is backfilled over: what the raw RP holds (its shard groups) within
 * what the new RP will keep, up to the end of the current bucket (the CQ rewrites that bucket once
 * it is complete), in buckets-aligned pieces of at most {@link BACKFILL_BUCKETS} buckets.
 */
export function backfillWindows(tier: Tier, state: Pick<V1RetentionState, 'rawShardGroups'>, now: number): Array<{start: number; end: number}> {
  const res = tier.resolution
  // points older than the RP's duration would be refused; the first whole bucket after it
  const from = Number.isFinite(tier.keep) ? bucketStart(now - tier.keep, res) + res : Number.NEGATIVE_INFINITY
  const to = bucketStart(now, res) + res
  const spans = (state.rawShardGroups ?? [{retentionPolicy: '', start: Number.isFinite(from) ? from : now - FIRST_BACKFILL_LIMIT, end: to}])
    .map((g) => ({start: Math.max(g.start, from), end: Math.min(g.end, to)}))
    .filter((g) => g.start < g.end)
    .map((g) => ({start: bucketStart(g.start, res), end: Math.ceil(g.end / res) * res}))
  // the spans are aligned outward, so neighbours may overlap: merge them
  const merged: Array<{start: number; end: number}> = []
  for (const s of spans.sort((a, b) => a.start - b.start)) {
    const last = merged.at(-1)
    if (last && s.start <= last.end) last.end = Math.max(last.end, s.end)
    else merged.push({...s})
  }

  const step = res * BACKFILL_BUCKETS
  const out: Array<{start: number; end: number}> = []
  for (const m of merged) for (let t = m.start; t < m.end; t += step) out.push({start: t, end: Math.min(m.end, t + step)})
  return out
}

// ---------------------------------------------------------------------------------------------
// InfluxDB 2.x: buckets

export interface BucketInfo {
  id: string
  name: string
  /** ms; Infinity when the bucket keeps data forever */
  retention: number
}

/** A change to one bucket; `describe` is what the user is shown. */
export type BucketChange =
  | {kind: 'create'; name: string; retention: number; tier: Tier; describe: string}
  | {kind: 'update'; id: string; name: string; retention: number; tier: Tier; describe: string}

/** `{retentionRules: [{type: 'expire', everySeconds}]}` → ms (Infinity without a rule or 0). */
export function bucketRetention(b: {retentionRules?: Array<{type?: string; everySeconds?: number}>}): number {
  const rule = b.retentionRules?.find((r) => r.type === undefined || r.type === 'expire')
  return rule?.everySeconds ? rule.everySeconds * 1000 : Number.POSITIVE_INFINITY
}

export function retentionRules(keep: number): Array<{type: 'expire'; everySeconds: number}> {
  return Number.isFinite(keep) ? [{type: 'expire', everySeconds: Math.round(keep / 1000)}] : []
}

/** Buckets to create or update so that `<bucket>` and `<bucket>_<tier>` keep what the policy says; raw last. */
export function planV2Buckets(policy: RetentionPolicy, bucket: string, existing: ReadonlyMap<string, BucketInfo>): BucketChange[] {
  checkPolicyForInflux(policy)
  const out: BucketChange[] = []
  const keepText = (ms: number) => (Number.isFinite(ms) ? influxDuration(ms) : 'forever')
  for (const tier of [...rollupTiers(policy), policy[0]]) {
    const name = tier.resolution === 0 ? bucket : rollupBucketName(bucket, tier)
    const have = existing.get(name)
    if (!have) {
      if (tier.resolution === 0) throw new InputError(`bucket "${bucket}" does not exist`, {hint: 'create it with `mon store init`'})
      out.push({kind: 'create', name, retention: tier.keep, tier, describe: `create bucket ${name} (retention ${keepText(tier.keep)}) and backfill it from ${bucket}`})
    } else if (have.retention !== tier.keep) {
      out.push({kind: 'update', id: have.id, name, retention: tier.keep, tier, describe: `set the retention of bucket ${name} to ${keepText(tier.keep)} (was ${keepText(have.retention)})`})
    }
  }

  return out
}

/** The SELECT 2.x rollups are computed with (v1-compatible /query, db = the raw bucket). */
export function downsampleSelect(tier: Tier, range: {start: number; end: number}): string {
  return `SELECT ${SELECT_ROLLUP} FROM /.*/ WHERE time >= ${timeLiteral(range.start)} AND time < ${timeLiteral(range.end)} GROUP BY time(${influxDuration(tier.resolution)}), * fill(none)`
}

/**
 * The answer of {@link downsampleSelect} → rollup points, each field with its proper type: counts
 * are integers; sum/min/max/first/last have the source field's type (`types`: measurement →
 * field → type, from SHOW FIELD KEYS). `exact` values are as the exact JSON reader gives them
 * (bigint for integers past 2^53).
 */
export function rollupPoints(series: readonly InfluxSeries[], types: ReadonlyMap<string, ReadonlyMap<string, FieldType>>): {points: Point[]; unknownFields: string[]} {
  const points: Point[] = []
  const unknown = new Set<string>()
  for (const s of series) {
    const measurement = s.name ?? ''
    const tags = presentTags(s.tags)
    const fieldTypes = types.get(measurement)
    const columns = s.columns.map((c) => {
      const i = c.indexOf('_')
      return {component: c.slice(0, i) as RollupComponent, field: c.slice(i + 1), name: c}
    })
    for (const v of s.values ?? []) {
      const fields: Record<string, FieldValue> = {}
      for (let i = 1; i < columns.length; i++) {
        const value = v[i]
        if (value === null || value === undefined) continue
        const {component, field, name} = columns[i]
        const type: FieldType | undefined = component === 'count' ? 'integer' : fieldTypes?.get(field)
        if (!type) {
          unknown.add(`${measurement}.${field}`)
          continue
        }

        fields[name] = typedValue(value, type)
      }

      if (Object.keys(fields).length > 0) points.push({measurement, tags, fields, ts: toMs(v[0])})
    }
  }

  return {points, unknownFields: [...unknown]}
}

/** A value of an InfluxDB answer (numbers possibly bigint, from the exact JSON reader) as a field of `type`. */
export function typedValue(value: unknown, type: FieldType): FieldValue {
  switch (type) {
    case 'integer':
      return typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value)))
    case 'unsigned':
      return new UInt(typeof value === 'bigint' ? value : BigInt(Math.trunc(Number(value))))

    case 'boolean':
      return value === true || value === 'true'
    case 'string':
      return String(value)
    default:
      return Number(value)
  }
}

// ---------------------------------------------------------------------------------------------
// Queries over a rollup tier

/** Where one tier's points are read: a database (2.x: the bucket) and/or a 1.x retention policy. */
export interface TierSource {
  db?: string
  rp?: string
}

export interface TierStatement {
  part: 'rollup' | 'raw'
  source: TierSource
  text: string
}

function fromClause(src: TierSource, measurement: string): string {
  return src.rp ? `${quoteIdent(src.rp)}.${quoteIdent(measurement)}` : quoteIdent(measurement)
}

/** Column aliases of the component statements. */
const ALIAS: Record<RollupComponent, string> = {count: 'n', sum: 's', min: 'lo', max: 'hi', first: 'fv', last: 'lv'}
/** The components each function needs (count always: a bucket without points has no value). */
const NEEDS: Record<string, RollupComponent[]> = {
  mean: ['count', 'sum'],
  sum: ['count', 'sum'],
  count: ['count'],
  min: ['count', 'min'],
  max: ['count', 'max'],
  spread: ['count', 'min', 'max'],
  first: ['count', 'first'],
  last: ['count', 'last'],
}
/** How a component of the rollup is combined over several rollup buckets. */
const COMBINE: Record<RollupComponent, string> = {count: 'sum', sum: 'sum', min: 'min', max: 'max', first: 'first', last: 'last'}

/**
 * The statements answering a plan from a rollup tier: rollup fields over [start, wm) and raw
 * points over [wm, end) (the part not rolled up yet), each only when not empty.
 * `choice.start/end` are the range aligned to the tier.
 */
export function compileTierPlan(q: QueryPlan, choice: TierChoice, wm: number, sources: {rollup: TierSource; raw: TierSource}): TierStatement[] {
  const res = choice.tier.resolution
  const split = Math.max(choice.start, Math.min(choice.end, wm))
  const where = (start: number, end: number) => [`time >= ${timeLiteral(start)} AND time < ${timeLiteral(end)}`, ...q.matchers.map(matcherCondition)].join(' AND ')
  const out: TierStatement[] = []
  const rawField = `${quoteIdent(q.field)}::field`
  const rollupFieldRef = (c: RollupComponent) => `${quoteIdent(rollupField(c, q.field))}::field`

  if (q.transform) {
    // per series, the last value of each bucket (the embedded store does the same on rollups)
    const every = `time(${influxDuration(q.every ?? res)})`
    if (choice.start < split) out.push({part: 'rollup', source: sources.rollup, text: `SELECT last(${rollupFieldRef('last')}) AS "lv" FROM ${fromClause(sources.rollup, q.measurement)} WHERE ${where(choice.start, split)} GROUP BY ${every}, * fill(none)`})
    if (split < choice.end) out.push({part: 'raw', source: sources.raw, text: `SELECT last(${rawField}) AS "lv" FROM ${fromClause(sources.raw, q.measurement)} WHERE ${where(split, choice.end)} GROUP BY ${every}, * fill(none)`})
    return out
  }

  const fn = q.aggregate!.fn
  const needs = NEEDS[fn]
  if (!needs) throw new InputError(`${fn}() cannot be answered from rollups`)
  const groupBy = [...(q.every === undefined ? [] : [`time(${influxDuration(q.every)})`]), ...q.aggregate!.by.map(quoteIdent)]
  const tail = `${groupBy.length > 0 ? ` GROUP BY ${groupBy.join(', ')}` : ''}${q.every === undefined ? '' : ' fill(none)'}`
  if (choice.start < split) {
    const cols = needs.map((c) => `${COMBINE[c]}(${rollupFieldRef(c)}) AS ${quoteIdent(ALIAS[c])}`).join(', ')
    out.push({part: 'rollup', source: sources.rollup, text: `SELECT ${cols} FROM ${fromClause(sources.rollup, q.measurement)} WHERE ${where(choice.start, split)}${tail}`})
  }

  if (split < choice.end) {
    const cols = needs.map((c) => `${c}(${rawField}) AS ${quoteIdent(ALIAS[c])}`).join(', ')
    out.push({part: 'raw', source: sources.raw, text: `SELECT ${cols} FROM ${fromClause(sources.raw, q.measurement)} WHERE ${where(split, choice.end)}${tail}`})
  }

  return out
}

/** Number from an answer's cell: booleans 0/1, strings NaN (which ends as a null result). */
function num(v: unknown): number {
  if (typeof v === 'number') return v
  if (typeof v === 'boolean') return v ? 1 : 0
  if (typeof v === 'bigint') return Number(v)
  return Number.NaN
}

/**
 * The answers of {@link compileTierPlan}'s statements (in the same order) → frames, as the
 * embedded store gives them from its rollups.
 */
export function framesFromTierAnswers(q: QueryPlan, choice: TierChoice, statements: readonly TierStatement[], answers: ReadonlyArray<readonly InfluxSeries[]>): Frame[] {
  const start = choice.start
  if (q.transform) return transformFrames(q, choice, statements, answers)
  const agg = q.aggregate!
  const every = q.every
  const base = every ? bucketStart(start, every) : start
  const groups = new Map<string, {tags: Record<string, string>; acc: Accumulators}>()
  for (let i = 0; i < statements.length; i++) {
    // the rollup part lies wholly before the raw part: its first wins, the raw part's last
    const order = statements[i].part === 'rollup' ? 0 : 1
    for (const s of answers[i]) {
      const tags: Record<string, string> = {}
      for (const k of agg.by) tags[k] = s.tags?.[k] ?? ''
      const key = JSON.stringify(agg.by.map((k) => tags[k]))
      let g = groups.get(key)
      if (!g) {
        g = {tags, acc: new Accumulators(agg.fn, agg.param)}
        groups.set(key, g)
      }

      const col = (c: RollupComponent) => s.columns.indexOf(ALIAS[c])
      const [n, sum, lo, hi, fv, lv] = ROLLUP_COMPONENTS.map(col)
      for (const v of s.values ?? []) {
        const count = n < 0 ? 0 : num(v[n])
        if (!(count > 0)) continue
        const t = toMs(v[0])
        const slot = every ? Math.floor((t - base) / every) : 0
        const cell = (j: number) => (j < 0 || v[j] === null ? Number.NaN : num(v[j]))
        g.acc.addSummary(slot, count, cell(sum), lo < 0 || v[lo] === null ? Number.POSITIVE_INFINITY : num(v[lo]), hi < 0 || v[hi] === null ? Number.NEGATIVE_INFINITY : num(v[hi]), order, cell(fv), order, cell(lv))
      }
    }
  }

  const frames: Frame[] = []
  for (const g of groups.values()) {
    const rows: Frame['rows'] = []
    for (let slot = 0; slot < g.acc.size; slot++) {
      const v = g.acc.result(slot)
      if (v === null) continue
      rows.push([every ? base + slot * every : start, Number.isFinite(v) ? v : null])
    }

    if (rows.length > 0) frames.push({name: q.measurement, tags: g.tags, columns: ['time', agg.fn], rows})
  }

  return sortFrames(frames)
}

function transformFrames(q: QueryPlan, choice: TierChoice, statements: readonly TierStatement[], answers: ReadonlyArray<readonly InfluxSeries[]>): Frame[] {
  // last value per bucket and series; the raw part (later in time) is read after the rollup part
  const series = new Map<string, {tags: Record<string, string>; buckets: Map<number, number>}>()
  for (let i = 0; i < statements.length; i++) {
    for (const s of answers[i]) {
      const tags = presentTags(s.tags)
      const key = JSON.stringify(Object.entries(tags))
      let e = series.get(key)
      if (!e) {
        e = {tags, buckets: new Map()}
        series.set(key, e)
      }

      const lv = s.columns.indexOf('lv')
      for (const v of s.values ?? []) if (v[lv] !== null && v[lv] !== undefined) e.buckets.set(toMs(v[0]), num(v[lv]))
    }
  }

  const rate = q.transform === 'rate'
  const agg = q.aggregate
  const frames: Frame[] = []
  const groups = new Map<string, {tags: Record<string, string>; acc: Accumulators}>()
  const base = q.every ? bucketStart(choice.start, q.every) : choice.start
  for (const e of series.values()) {
    const ts = [...e.buckets.keys()].sort((a, b) => a - b)
    const d = derivative(ts, ts.map((t) => e.buckets.get(t)!), rate)
    if (d.ts.length === 0) continue
    if (!agg) {
      frames.push({name: q.measurement, tags: e.tags, columns: ['time', q.transform!], rows: d.ts.map((t, i) => [t, d.values[i]])})
      continue
    }

    const tags: Record<string, string> = {}
    for (const k of agg.by) tags[k] = e.tags[k] ?? ''
    const key = JSON.stringify(agg.by.map((k) => tags[k]))
    let g = groups.get(key)
    if (!g) {
      g = {tags, acc: new Accumulators(agg.fn, agg.param)}
      groups.set(key, g)
    }

    for (let i = 0; i < d.ts.length; i++) g.acc.add(q.every ? Math.floor((d.ts[i] - base) / q.every) : 0, d.ts[i], d.values[i])
  }

  for (const g of groups.values()) {
    const rows: Frame['rows'] = []
    for (let slot = 0; slot < g.acc.size; slot++) {
      const v = g.acc.result(slot)
      if (v !== null) rows.push([q.every ? base + slot * q.every : choice.start, v])
    }

    if (rows.length > 0) frames.push({name: q.measurement, tags: g.tags, columns: ['time', agg!.fn], rows})
  }

  return sortFrames(frames)
}

/** How the merge is described in --explain. */
export function describeMerge(q: QueryPlan): string {
  if (q.transform) return `per series, the last value of each ${q.every ? 'bucket' : 'rollup bucket'} (rollup last_${q.field}, then raw points), then ${q.transform} per second${q.aggregate ? ` and ${q.aggregate.fn} by [${q.aggregate.by.join(', ')}]` : ''}, in mon`
  const fn = q.aggregate!.fn
  const formula: Record<string, string> = {
    mean: 'Σsum / Σcount',
    sum: 'Σsum',
    count: 'Σcount',
    min: 'min of min',
    max: 'max of max',
    spread: 'max of max − min of min',
    first: 'first of first',
    last: 'last of last',
  }
  return `rollup buckets and raw points merged per group${q.every ? ' and bucket' : ''} in mon: ${fn} = ${formula[fn]}`
}
