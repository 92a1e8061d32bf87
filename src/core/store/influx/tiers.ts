import type {FieldType} from '../../model/point.js'
import {bucketStart} from '../../model/aggregate.js'
import {InputError} from '../../errors.js'
import {chooseTier, DEFAULT_POLICY, retentionPolicy, rollupTiers, type RetentionPolicy, type Tier, type TierChoice} from '../retention.js'
import type {MaintenanceReport, QueryPlan} from '../types.js'
import {InfluxError, InfluxQueryError} from './errors.js'
import {quoteIdent} from './influxql.js'
import {
  bucketRetention,
  downsampleSelect,
  FINAL_AFTER,
  FIRST_BACKFILL_LIMIT,
  parseContinuousQueries,
  parseRetentionPolicies,
  parseShardGroups,
  planV1Retention,
  planV2Buckets,
  retentionRules,
  rollupBucketName,
  rollupPoints,
  rollupRpName,
  WATERMARK_MEASUREMENT,
  type BucketInfo,
  type TierSource,
} from './retention.js'
import type {InfluxConnection} from './connection.js'
import type {InfluxWrites} from './writes.js'

/** Where each retention tier lives on the server and how long it keeps data, as last read. */
export interface TierState {
  /** when it was read (store clock) */
  at: number
  raw: TierSource
  /** rollup tier name → where its points are; absent: the tier does not exist on the server */
  sources: Map<string, TierSource>
  /** tier name → how long the server keeps it (ms, Infinity) */
  keeps: Map<string, number>
  /** true: not read from the server, assumed from the configured policy (explain before a query) */
  assumed: boolean
  /** why the server's tiers could not be read, if they could not */
  note?: string
}

/** The server's tiers are read again after this long. */
const TIER_STATE_TTL = 60_000

/**
 * The retention tiers of an InfluxStore: the configured policy, where each tier lives on the
 * server (read and cached), which tier answers a query, watermarks, `mon store retention apply`
 * and the 2.x downsampler (maintain).
 */
export class InfluxTiers {
  private retention?: RetentionPolicy
  /** the server's tiers as last read (tierState), reset when the retention is applied */
  tiers?: TierState

  constructor(
    private readonly conn: InfluxConnection,
    private readonly writes: InfluxWrites,
  ) {}

  /** The configured tiers (config `retention`). */
  private policy(): RetentionPolicy {
    this.retention ??= retentionPolicy(this.conn.opts.retention ?? DEFAULT_POLICY)
    return this.retention
  }

  /**
   * Only a range starting before the configured raw retention can need a rollup tier; anything
   * later is read from raw points without asking the server about its tiers.
   */
  needsTiers(q: QueryPlan, now: number): boolean {
    const policy = this.policy()
    return rollupTiers(policy).length > 0 && q.start < now - policy[0].keep
  }

  chooseTier(q: QueryPlan, state: TierState, now: number): TierChoice {
    const horizons = new Map<string, number>()
    for (const t of this.policy()) {
      const keep = state.keeps.get(t.name)
      // a rollup tier missing on the server holds nothing
      if (keep === undefined) {
        if (t.resolution > 0) horizons.set(t.name, Number.POSITIVE_INFINITY)
      } else if (Number.isFinite(keep)) horizons.set(t.name, now - keep)
    }

    return chooseTier(this.policy(), {start: q.start, end: q.end, every: q.every, fn: q.aggregate?.fn, transform: q.transform}, horizons)
  }

  /** The tiers as `mon store retention apply` lays them out, for explain before anything was read. */
  assumedTiers(now: number): TierState {
    const state: TierState = {at: now, raw: this.rawSource(), sources: new Map(), keeps: new Map(), assumed: true}
    for (const t of this.policy()) {
      state.keeps.set(t.name, t.keep)
      if (t.resolution > 0) state.sources.set(t.name, this.rollupSource(t))
    }

    return state
  }

  private rawSource(): TierSource {
    return this.conn.isV2() ? {db: this.conn.cfg.bucket} : {rp: this.conn.cfg.retention_policy}
  }

  private rollupSource(t: Tier): TierSource {
    return this.conn.isV2() ? {db: rollupBucketName(this.conn.cfg.bucket!, t)} : {rp: rollupRpName(t)}
  }

  /** The server's tiers: 1.x SHOW RETENTION POLICIES, 2.x the buckets; read again after a minute. */
  async tierState(): Promise<TierState> {
    const now = this.conn.env.clock.now()
    if (this.tiers && now - this.tiers.at < TIER_STATE_TTL && now >= this.tiers.at) return this.tiers
    const {api} = await this.conn.ready()
    const state: TierState = {at: now, raw: this.rawSource(), sources: new Map(), keeps: new Map(), assumed: false}
    try {
      if (api === 1) {
        const [r] = await this.conn.influxql(`SHOW RETENTION POLICIES ON ${quoteIdent(this.conn.cfg.database)}`)
        const rps = new Map(parseRetentionPolicies(r?.series).map((rp) => [rp.name, rp]))
        const rawRp = this.conn.cfg.retention_policy ?? [...rps.values()].find((rp) => rp.isDefault)?.name
        state.keeps.set('raw', (rawRp && rps.get(rawRp)?.duration) || Number.POSITIVE_INFINITY)
        for (const t of rollupTiers(this.policy())) {
          const rp = rps.get(rollupRpName(t))
          if (!rp) continue
          state.keeps.set(t.name, rp.duration)
          state.sources.set(t.name, {rp: rp.name})
        }
      } else {
        const buckets = await this.findBuckets([this.conn.cfg.bucket!, ...rollupTiers(this.policy()).map((t) => rollupBucketName(this.conn.cfg.bucket!, t))])
        state.keeps.set('raw', buckets.get(this.conn.cfg.bucket!)?.retention ?? Number.POSITIVE_INFINITY)
        for (const t of rollupTiers(this.policy())) {
          const b = buckets.get(rollupBucketName(this.conn.cfg.bucket!, t))
          if (!b) continue
          state.keeps.set(t.name, b.retention)
          state.sources.set(t.name, {db: b.name})
        }
      }
    } catch (error) {
      // a token or user that may query but not list buckets/RPs: raw points only, said in explain
      if (!(error instanceof InfluxQueryError || (error instanceof InfluxError && (error.status === 401 || error.status === 403)))) throw error
      state.keeps = new Map([['raw', Number.POSITIVE_INFINITY]])
      state.sources = new Map()
      state.note = `the retention tiers could not be read (${error.message}); raw points answer`
    }

    this.tiers = state
    return state
  }

  /**
   * 1.x: the CQ of a tier computes a bucket right after it ends; one bucket of slack (CQs take a
   * moment) — whatever is later is read from raw points.
   */
  v1Watermark(tier: Tier, now: number): number {
    return bucketStart(now, tier.resolution) - tier.resolution
  }

  /** 2.x: how far mon has rolled a tier up (the `_mon_rollup` point in its bucket), if at all. */
  async v2Watermark(tier: Tier): Promise<number | undefined> {
    const [r] = await this.conn.influxql(`SELECT last("watermark") FROM ${quoteIdent(WATERMARK_MEASUREMENT)}`, {epoch: 'ms', db: rollupBucketName(this.conn.cfg.bucket!, tier)})
    const v = r?.series?.[0]?.values?.[0]?.[1]
    return typeof v === 'number' ? v : undefined
  }

  /**
   * Makes the server keep the policy's tiers; returns what it ran (or would run, with dryRun):
   * 1.x retention policies, backfills and continuous queries (retention.ts planV1Retention), 2.x
   * bucket creations/updates (a new rollup bucket is backfilled at once by the downsampler).
   */
  async applyRetention(policy: RetentionPolicy, opts: {dryRun: boolean}): Promise<string[]> {
    const {api} = await this.conn.ready()
    const now = this.conn.env.clock.now()
    this.retention = policy
    this.tiers = undefined
    if (api === 2) return this.applyBuckets(policy, opts.dryRun, now)
    const db = this.conn.cfg.database
    const [rpAnswer] = await this.conn.influxql(`SHOW RETENTION POLICIES ON ${quoteIdent(db)}`)
    const rps = parseRetentionPolicies(rpAnswer?.series)
    const rawRp = this.conn.cfg.retention_policy ?? rps.find((rp) => rp.isDefault)?.name
    if (!rawRp) throw new InfluxError(`database "${db}" on InfluxDB at ${this.conn.url} has no default retention policy`, false, {hint: 'set store.retention_policy to the one mon writes to'})
    const [cqAnswer] = await this.conn.influxql('SHOW CONTINUOUS QUERIES')
    let rawShardGroups
    try {
      const [shards] = await this.conn.influxql('SHOW SHARDS')
      rawShardGroups = parseShardGroups(shards?.series, db, rawRp)
    } catch (error) {
      // SHOW SHARDS needs admin rights: backfill the tier's whole window instead
      if (!(error instanceof InfluxQueryError || (error instanceof InfluxError && error.status === 403))) throw error
    }

    const statements = planV1Retention(policy, {database: db, rawRp, rps, cqs: parseContinuousQueries(cqAnswer?.series, db), rawShardGroups}, now)
    if (!opts.dryRun) for (const st of statements) await this.conn.influxql(st)
    return statements
  }

  private async applyBuckets(policy: RetentionPolicy, dryRun: boolean, now: number): Promise<string[]> {
    const bucket = this.conn.cfg.bucket!
    const names = [bucket, ...rollupTiers(policy).map((t) => rollupBucketName(bucket, t))]
    const existing = await this.findBuckets(names)
    const changes = planV2Buckets(policy, bucket, existing)
    if (dryRun || changes.length === 0) return changes.map((c) => c.describe)
    // what the raw bucket holds now, before its retention is changed (last)
    const rawKeep = existing.get(bucket)?.retention ?? Number.POSITIVE_INFINITY
    let orgID: string | undefined
    for (const c of changes) {
      if (c.kind === 'update') {
        await this.conn.rest('PATCH', `/api/v2/buckets/${encodeURIComponent(c.id)}`, {}, {retentionRules: retentionRules(c.retention)})
        continue
      }

      orgID ??= await this.orgID()
      await this.conn.rest('POST', '/api/v2/buckets', {}, {orgID, name: c.name, retentionRules: retentionRules(c.retention)})
      await this.downsampleTier(c.tier, now, rawKeep)
    }

    return changes.map((c) => c.describe)
  }

  /**
   * 1.x: nothing to do (continuous queries roll up, InfluxDB expires data itself). 2.x: rolls every
   * rollup tier whose bucket exists up to the buckets that ended a minute ago, from raw points.
   */
  async maintain(now = this.conn.env.clock.now()): Promise<MaintenanceReport> {
    const report: MaintenanceReport = {rolledUp: {}, pruned: {}}
    const {api} = await this.conn.ready()
    if (api === 1) return report
    const policy = this.policy()
    const tiers = rollupTiers(policy)
    if (tiers.length === 0) return report
    const present = await this.findBuckets([this.conn.cfg.bucket!, ...tiers.map((t) => rollupBucketName(this.conn.cfg.bucket!, t))])
    const rawKeep = present.get(this.conn.cfg.bucket!)?.retention ?? Number.POSITIVE_INFINITY
    for (const t of tiers) if (present.has(rollupBucketName(this.conn.cfg.bucket!, t))) report.rolledUp[t.name] = await this.downsampleTier(t, now, rawKeep)
    return report
  }

  /**
   * 2.x: rolls one tier up from the last watermark (or, the first time, from as far back as both
   * the raw bucket — `rawKeep`, its retention now — and the tier keep data) to the last bucket that ended a minute ago, a day of 1m
   * buckets per query; the bucket before the watermark is computed again (points up to a bucket
   * late are counted). Returns how many new buckets it covered.
   */
  private async downsampleTier(tier: Tier, now: number, rawKeep: number): Promise<number> {
    const res = tier.resolution
    const bucket = rollupBucketName(this.conn.cfg.bucket!, tier)
    const target = bucketStart(now - FINAL_AFTER, res)
    const stored = await this.v2Watermark(tier)
    if (stored !== undefined && stored >= target) return 0
    const oldest = Math.max(now - tier.keep, now - rawKeep)
    const first = bucketStart(Number.isFinite(oldest) ? oldest : now - FIRST_BACKFILL_LIMIT, res) + res
    const from = stored === undefined ? first : Math.max(first, stored - res)
    let types = await this.allFieldTypes()
    for (let a = from; a < target; a += res * 1440) {
      const b = Math.min(target, a + res * 1440)
      const [r] = await this.conn.influxql(downsampleSelect(tier, {start: a, end: b}), {epoch: 'ms', exact: true})
      let rolled = rollupPoints(r?.series ?? [], types)
      if (rolled.unknownFields.length > 0) {
        // a field written since the types were read
        types = await this.allFieldTypes()
        rolled = rollupPoints(r?.series ?? [], types)
      }

      await this.writes.writeToBucket(rolled.points, bucket)
      await this.writes.writeToBucket([{measurement: WATERMARK_MEASUREMENT, tags: {}, fields: {watermark: BigInt(b)}, ts: b}], bucket)
    }

    return Math.max(0, (target - (stored ?? first)) / res)
  }

  /** SHOW FIELD KEYS of every measurement of the raw bucket/RP. */
  private async allFieldTypes(): Promise<Map<string, Map<string, FieldType>>> {
    const [r] = await this.conn.influxql(this.conn.cfg.retention_policy && !this.conn.isV2() ? `SHOW FIELD KEYS FROM ${quoteIdent(this.conn.cfg.retention_policy)}./.*/` : 'SHOW FIELD KEYS')
    const out = new Map<string, Map<string, FieldType>>()
    for (const s of r?.series ?? []) {
      const m = new Map<string, FieldType>()
      for (const v of s.values ?? []) m.set(String(v[0]), String(v[1]) as FieldType)
      out.set(s.name ?? '', m)
    }

    return out
  }

  /** 2.x: the named buckets of store.org that exist. */
  private async findBuckets(names: string[]): Promise<Map<string, BucketInfo>> {
    const out = new Map<string, BucketInfo>()
    const org = this.conn.cfg.org
    if (!org) throw new InputError('the retention tiers on InfluxDB 2.x need store.org', {hint: 'set store.org to the organization name'})
    for (const name of names) {
      const found = (await this.conn.rest('GET', '/api/v2/buckets', {name, org})) as {buckets?: Array<{id: string; name: string; retentionRules?: Array<{type?: string; everySeconds?: number}>}>}
      const b = found.buckets?.find((x) => x.name === name)
      if (b) out.set(name, {id: b.id, name: b.name, retention: bucketRetention(b)})
    }

    return out
  }

  private async orgID(): Promise<string> {
    const org = this.conn.cfg.org!
    const orgs = (await this.conn.rest('GET', '/api/v2/orgs', {org})) as {orgs?: Array<{id: string; name: string}>}
    const id = orgs.orgs?.find((o) => o.name === org)?.id
    if (!id) throw new InfluxError(`organization "${org}" not found on InfluxDB at ${this.conn.url}`, false, {hint: 'check store.org (the name, as `influx org list` shows it)'})
    return id
  }
}

/**
 * Where a rollup-tier query switches from the rollups to raw points: the tier's watermark, or the
 * raw tier's horizon (aligned up to the tier's buckets) if that is earlier. A point written below
 * the watermark later (`mon write` of a backfill, a spool replayed after an outage) is in raw but in
 * no rollup — the CQs and mon's 2.x downsampler only compute recent buckets — so whatever raw still
 * holds is read from raw, and a query sees every stored point (issue 16 item 2). The rollups answer
 * only for the part of the range raw has expired.
 */
export function rawSplit(watermark: number, tier: Tier, state: TierState, now: number): number {
  const rawKeep = state.keeps.get('raw') ?? Number.POSITIVE_INFINITY
  if (!Number.isFinite(rawKeep)) return watermark
  return Math.min(watermark, bucketStart(now - rawKeep, tier.resolution) + tier.resolution)
}
