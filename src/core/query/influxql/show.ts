/**
 * The SHOW statements over a store's catalog (StoreCatalog): DATABASES, MEASUREMENTS, TAG KEYS,
 * TAG VALUES, FIELD KEYS, RETENTION POLICIES, SERIES, in InfluxDB 1.x's result shapes. A WHERE on
 * tags needs the store's series: they are found with one count per field grouped by every tag key.
 */
import type {ShowStatement, Source, Expr} from './ast.js'
import {unparen} from './ast.js'
import {impliedMatchers, StatementError, splitTime, type EvalContext, type ResultSeries, type Tags, type Val} from './eval.js'
import {compileLinearRegex} from '../../model/matcher.js'
import {UnalignedBucketsError, type Frame, type QueryPlan} from '../../store/types.js'

/** the end of "all time" for the reads SHOW makes (JavaScript's last date) */
const END_OF_TIME = 8_640_000_000_000_000
const SHARD_GROUP = 7 * 86_400_000
/** Go's Time.Truncate counts from 0001-01-01, a Monday: weeks start 4 days after the Unix epoch's Thursday */
const SHARD_GROUP_ORIGIN = 4 * 86_400_000

function shardGroupStart(t: number): number {
  return Math.floor((t - SHARD_GROUP_ORIGIN) / SHARD_GROUP) * SHARD_GROUP + SHARD_GROUP_ORIGIN
}

function regex(source: string): {test(s: string): boolean} {
  try {
    return compileLinearRegex(source)
  } catch {
    throw new StatementError(`error parsing regexp: invalid regular expression /${source}/`)
  }
}

function requireDatabase(ctx: EvalContext, db: string | undefined): string {
  const name = db ?? ctx.db
  if (!name) throw new StatementError('database name required')
  if (!ctx.databases.includes(name)) throw new StatementError(`database not found: ${name}`)
  return name
}

async function measurementsOf(sources: Source[], ctx: EvalContext, database: string | undefined): Promise<string[]> {
  requireDatabase(ctx, database)
  const all = (await ctx.store.measurements()).slice().sort()
  if (sources.length === 0) return all
  const out = new Set<string>()
  for (const s of sources) {
    if (s.kind !== 'measurement') throw new StatementError('subqueries are not allowed in SHOW statements')
    if (s.database) requireDatabase(ctx, s.database)
    if (s.regex !== undefined) {
      const re = regex(s.regex)
      for (const m of all) if (re.test(m)) out.add(m)
    } else if (all.includes(s.name!)) {
      out.add(s.name!)
    }
  }

  return [...out].sort()
}

/**
 * The tag sets of a measurement's series (every field's series; all time). The tag comparisons the
 * condition AND-s at its top go to the store as matchers; the caller applies the whole condition.
 */
async function seriesOf(ctx: EvalContext, measurement: string, cond?: Expr): Promise<Tags[]> {
  const [keys, fields] = await Promise.all([ctx.store.tagKeys(measurement), ctx.store.fieldKeys(measurement)])
  const rest = cond ? splitTime(cond, ctx.now).rest : undefined
  const {matchers} = impliedMatchers(rest, (n) => keys.includes(n))
  const start = 0
  const end = END_OF_TIME
  const seen = new Map<string, Tags>()
  await Promise.all(
    fields.map(async (f) => {
      if (end <= start) return
      const plan: QueryPlan = {measurement, field: f.name, matchers, start, end}
      let frames: Frame[]
      try {
        frames = await ctx.store.query({...plan, aggregate: {fn: 'count', by: keys}})
      } catch (error) {
        // a store that only reads raw points (VictoriaMetrics): the latest point of each series
        if (!(error instanceof UnalignedBucketsError)) throw error
        frames = await ctx.store.query({...plan, limit: 1})
      }

      for (const fr of frames) {
        // a group with no point in the range (a count of 0 or none) is no series of it
        if (!fr.rows.some((r) => r[1] !== null && r[1] !== 0)) continue
        const tags: Tags = {}
        for (const k of keys) if (fr.tags[k]) tags[k] = fr.tags[k]
        seen.set(JSON.stringify(Object.entries(tags).sort()), tags)
      }
    }),
  )
  return [...seen.values()]
}

/** The WHERE of a SHOW as a test of a series' tags; undefined without one (a time range alone: every series passes, seriesOf applies the range). */
function tagCondition(cond: Expr | undefined, ctx: EvalContext): ((tags: Tags) => boolean) | undefined {
  if (!cond) return undefined
  const {range, rest} = splitTime(cond, ctx.now)
  if (!rest) return range.min !== undefined || range.max !== undefined ? () => true : undefined
  const value = (e: Expr, tags: Tags): Val => {
    const u = unparen(e)
    switch (u.kind) {
      case 'ref':
        return tags[u.name] ?? ''
      case 'string':
        return u.value
      case 'number':
        return u.value
      case 'bool':
        return u.value
      case 'binary': {
        if (u.op === 'AND') return value(u.lhs, tags) === true && value(u.rhs, tags) === true
        if (u.op === 'OR') return value(u.lhs, tags) === true || value(u.rhs, tags) === true
        const a = value(u.lhs, tags)
        if (u.op === '=~' || u.op === '!~') {
          const r = unparen(u.rhs)
          if (r.kind !== 'regex' || typeof a !== 'string') return false
          const m = regex(r.source).test(a)
          return u.op === '=~' ? m : !m
        }

        const b = value(u.rhs, tags)
        if (u.op === '=') return a === b
        if (u.op === '!=') return a !== b
        return false
      }

      default:
        return null
    }
  }

  return (tags) => value(rest, tags) === true
}

function hasTimeBound(cond: Expr, ctx: EvalContext): boolean {
  const {range} = splitTime(cond, ctx.now)
  return range.min !== undefined || range.max !== undefined
}

function page<T>(rows: T[], limit: number, offset: number): T[] {
  const from = rows.slice(offset)
  return limit > 0 ? from.slice(0, limit) : from
}

function escapeKey(s: string): string {
  return s.replace(/[,= ]/g, (c) => `\\${c}`)
}

/**
 * A time range in the WHERE of SHOW TAG KEYS|TAG VALUES|SERIES, as InfluxDB 1.x (in-memory index)
 * treats it: when some shard group the range touches holds data, every series of the database is
 * considered (the range filters nothing more); when none does, there is nothing to show. Its
 * default shard groups are 168 h from Go's zero time, so they start on Mondays 00:00 UTC.
 */
async function shardsHoldData(cond: Expr | undefined, ctx: EvalContext): Promise<boolean> {
  if (!cond) return true
  const {range} = splitTime(cond, ctx.now)
  if (range.min === undefined && range.max === undefined) return true
  const start = range.min !== undefined ? shardGroupStart(range.min) : 0
  const end = range.max !== undefined ? shardGroupStart(range.max) + SHARD_GROUP : END_OF_TIME
  for (const m of await ctx.store.measurements()) {
    for (const f of await ctx.store.fieldKeys(m)) {
      const frames = await ctx.store.query({measurement: m, field: f.name, matchers: [], start, end, limit: 1})
      if (frames.some((fr) => fr.rows.length > 0)) return true
    }
  }

  return false
}

export async function runShow(st: ShowStatement, ctx: EvalContext): Promise<ResultSeries[]> {
  if ((st.kind === 'showTagKeys' || st.kind === 'showTagValues' || st.kind === 'showSeries') && !(await shardsHoldData(st.condition, ctx))) return []
  switch (st.kind) {
    case 'showDatabases':
      return [{name: 'databases', columns: ['name'], rows: ctx.databases.map((d) => [d])}]
    case 'showRetentionPolicies': {
      requireDatabase(ctx, st.database)
      return [{name: '', columns: ['name', 'duration', 'shardGroupDuration', 'replicaN', 'default'], rows: [[ctx.retentionPolicy, '0s', '168h0m0s', 1, true]]}]
    }

    case 'showMeasurements': {
      // InfluxDB lists nothing (no error) for a database it does not have
      const db = st.database ?? ctx.db
      if (db && !ctx.databases.includes(db)) return []
      let names = await measurementsOf([], ctx, st.database)
      if (st.regex !== undefined) {
        const re = regex(st.regex)
        names = names.filter((n) => (st.op === '!~' || st.op === '!=' ? !re.test(n) : re.test(n)))
      } else if (st.name !== undefined) {
        names = names.filter((n) => (st.op === '!=' ? n !== st.name : n === st.name))
      }

      if (st.condition && splitTime(st.condition, ctx.now).range !== undefined && hasTimeBound(st.condition, ctx)) {
        throw new StatementError("SHOW MEASUREMENTS doesn't support time in WHERE clause")
      }

      const cond = tagCondition(st.condition, ctx)
      if (cond) {
        const kept: string[] = []
        for (const m of names) if ((await seriesOf(ctx, m, st.condition)).some(cond)) kept.push(m)
        names = kept
      }

      names = page(names, st.limit, st.offset)
      return names.length > 0 ? [{name: 'measurements', columns: ['name'], rows: names.map((n) => [n])}] : []
    }

    case 'showTagKeys': {
      const out: ResultSeries[] = []
      const cond = tagCondition(st.condition, ctx)
      for (const m of await measurementsOf(st.sources, ctx, st.database)) {
        let keys: string[]
        if (cond) {
          const ks = new Set<string>()
          for (const s of (await seriesOf(ctx, m, st.condition)).filter(cond)) for (const k of Object.keys(s)) ks.add(k)
          keys = [...ks]
        } else {
          keys = await ctx.store.tagKeys(m)
        }

        keys = page(keys.sort(), st.limit, st.offset)
        if (keys.length > 0) out.push({name: m, columns: ['tagKey'], rows: keys.map((k) => [k])})
      }

      return out
    }

    case 'showTagValues': {
      const out: ResultSeries[] = []
      const cond = tagCondition(st.condition, ctx)
      const keyMatches = (k: string): boolean => {
        switch (st.keyOp) {
          case '=':
            return k === st.keys[0]
          case '!=':
            return k !== st.keys[0]
          case 'IN':
            return st.keys.includes(k)
          case '=~':
            return regex(st.keyRegex!).test(k)
          case '!~':
            return !regex(st.keyRegex!).test(k)
        }
      }

      for (const m of await measurementsOf(st.sources, ctx, st.database)) {
        const keys = (await ctx.store.tagKeys(m)).filter(keyMatches).sort()
        if (keys.length === 0) continue
        const rows: Val[][] = []
        if (cond) {
          const series = (await seriesOf(ctx, m, st.condition)).filter(cond)
          for (const k of keys) {
            const vals = new Set<string>()
            for (const s of series) if (s[k] !== undefined) vals.add(s[k])
            for (const v of [...vals].sort()) rows.push([k, v])
          }
        } else {
          for (const k of keys) for (const v of (await ctx.store.tagValues(m, k)).filter((v) => v !== '').sort()) rows.push([k, v])
        }

        const paged = page(rows, st.limit, st.offset)
        if (paged.length > 0) out.push({name: m, columns: ['key', 'value'], rows: paged})
      }

      return out
    }

    case 'showFieldKeys': {
      const out: ResultSeries[] = []
      for (const m of await measurementsOf(st.sources, ctx, st.database)) {
        const fields = (await ctx.store.fieldKeys(m)).slice().sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
        const rows = page(
          fields.map((f) => [f.name, f.type] as Val[]),
          st.limit,
          st.offset,
        )
        if (rows.length > 0) out.push({name: m, columns: ['fieldKey', 'fieldType'], rows})
      }

      return out
    }

    case 'showSeries': {
      const cond = tagCondition(st.condition, ctx)
      const keys: string[] = []
      for (const m of await measurementsOf(st.sources, ctx, st.database)) {
        for (const s of await seriesOf(ctx, m, st.condition)) {
          if (cond && !cond(s)) continue
          const tags = Object.entries(s).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
          keys.push([escapeKey(m), ...tags.map(([k, v]) => `${escapeKey(k)}=${escapeKey(v)}`)].join(','))
        }
      }

      const rows = page(keys.sort(), st.limit, st.offset)
      return rows.length > 0 ? [{name: '', columns: ['key'], rows: rows.map((k) => [k])}] : []
    }
  }
}
