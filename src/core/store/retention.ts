import {parseDuration} from '../config/duration.js'
import {InputError} from '../errors.js'

/**
 * Retention tiers: `raw` keeps every point for its duration; each rollup tier (named by its
 * resolution, e.g. `1m`, `1h`) keeps per-bucket count, sum, min, max, first and last — enough to
 * answer mean, sum, count, min, max, first, last and spread exactly — for its own duration.
 * Config: `retention: {raw: 7d, 1m: 30d, 1h: 1y}` (the default).
 */
export interface Tier {
  name: string
  /** bucket width in ms; 0 for raw */
  resolution: number
  /** how long data is kept, ms */
  keep: number
}

export type RetentionPolicy = Tier[]

export const DEFAULT_POLICY: Readonly<Record<string, string>> = {raw: '7d', '1m': '30d', '1h': '1y'}

/** Sorted finest first; raw first. Throws InputError when tiers do not nest. */
export function retentionPolicy(cfg: Readonly<Record<string, string>> = DEFAULT_POLICY): RetentionPolicy {
  const tiers: Tier[] = Object.entries(cfg).map(([name, keep]) => ({name, resolution: name === 'raw' ? 0 : parseDuration(name), keep: parseDuration(keep)}))
  tiers.sort((a, b) => a.resolution - b.resolution)
  if (tiers.length === 0 || tiers[0].resolution !== 0) tiers.unshift({name: 'raw', resolution: 0, keep: Number.POSITIVE_INFINITY})
  for (let i = 1; i < tiers.length; i++) {
    const finer = tiers[i - 1]
    const t = tiers[i]
    if (finer.resolution > 0 && t.resolution % finer.resolution !== 0) {
      throw new InputError(`retention tier ${t.name} is not a multiple of ${finer.name}`, {hint: 'rollup resolutions must nest, e.g. 1m, 5m, 1h, 1d'})
    }
  }

  return tiers
}

export const rollupTiers = (p: RetentionPolicy): Tier[] => p.filter((t) => t.resolution > 0)

/** Functions a rollup answers exactly. */
export const ROLLUP_FNS = new Set(['mean', 'sum', 'count', 'min', 'max', 'first', 'last', 'spread'])

export interface TierChoice {
  tier: Tier
  /** the range actually read: widened to the tier's buckets when a rollup answers */
  start: number
  end: number
  reason: string
}

/**
 * Raw points were asked for where only rollups are left. `resolution` is the finest rollup tier
 * holding the range's start (undefined when none does): the query layer reads its buckets instead.
 */
export class RawDataGoneError extends InputError {
  constructor(
    message: string,
    opts: {hint?: string},
    readonly resolution: number | undefined,
  ) {
    super(message, opts)
    this.name = 'RawDataGoneError'
  }
}

/**
 * The finest tier that still holds the start of the range and can answer at the requested
 * resolution (`every` a multiple of the tier's, or one value for the whole range). `horizons` says,
 * per tier name, before which time its data has been pruned (absent: nothing pruned yet).
 */
export function chooseTier(
  policy: RetentionPolicy,
  q: {start: number; end: number; every?: number; fn?: string; transform?: string},
  horizons: ReadonlyMap<string, number>,
): TierChoice {
  const raw = policy[0]
  const holds = (t: Tier) => q.start >= (horizons.get(t.name) ?? Number.NEGATIVE_INFINITY)
  if (holds(raw)) return {tier: raw, start: q.start, end: q.end, reason: horizons.has(raw.name) ? `raw points are kept from ${iso(horizons.get(raw.name)!)}` : 'raw points cover the range'}
  const needsPoints = (q.fn !== undefined && !ROLLUP_FNS.has(q.fn)) || (q.fn === undefined && q.transform === undefined)
  if (needsPoints) {
    throw new RawDataGoneError(
      `${q.fn ? `${q.fn}()` : 'raw points'} over this range needs raw data, which is kept for ${fmt(raw.keep)} (retention.raw): raw points before ${iso(horizons.get(raw.name)!)} were rolled up and dropped`,
      {hint: `use mean/sum/count/min/max/first/last/spread, which rollups answer, or start the range after ${iso(horizons.get(raw.name)!)}`},
      rollupTiers(policy).find(holds)?.resolution,
    )
  }

  for (const tier of rollupTiers(policy)) {
    if (!holds(tier)) continue
    if (q.every !== undefined && q.every % tier.resolution !== 0) continue
    const start = Math.floor(q.start / tier.resolution) * tier.resolution
    const end = Math.ceil(q.end / tier.resolution) * tier.resolution
    return {
      tier,
      start,
      end,
      reason: `raw points before ${iso(horizons.get(raw.name)!)} were dropped; the ${tier.name} rollups (kept ${fmt(tier.keep)}) answer ${q.every ? `every ${fmt(q.every)}` : 'the whole range'}, range aligned to ${tier.name}`,
    }
  }

  const coarsest = policy[policy.length - 1]
  throw new InputError(`no retention tier holds data from ${iso(q.start)} at this resolution`, {
    hint: `the longest tier is ${coarsest.name} (kept ${fmt(coarsest.keep)}); use a later --since or an --every that is a multiple of a rollup resolution`,
  })
}

function iso(t: number): string {
  return new Date(t).toISOString()
}

function fmt(ms: number): string {
  if (!Number.isFinite(ms)) return 'forever'
  const units: Array<[string, number]> = [
    ['y', 31_536_000_000],
    ['d', 86_400_000],
    ['h', 3_600_000],
    ['m', 60_000],
    ['s', 1000],
  ]
  for (const [u, size] of units) if (ms >= size) return `${Math.round((ms / size) * 10) / 10}${u}`
  return `${ms}ms`
}
