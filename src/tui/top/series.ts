/**
 * A chart's fixed-length window of buckets (gtop's "monitor" window, but keyed by time): the first
 * refresh loads the whole window, later refreshes ask only for the last few buckets and merge them
 * in, and buckets that fall off the left edge are dropped. Bucket starts are aligned to the epoch,
 * as the query layer's `every` buckets are, so a tail query lines up with what is already held.
 */
export interface ChartSeries {
  name: string
  /** one value per slot, oldest first; null where there is no data */
  values: Array<number | null>
}

export interface ChartData {
  /** bucket start (ms) of each slot, oldest first */
  slots: number[]
  series: ChartSeries[]
  /** the newest value of each series within the window */
  latest: Record<string, number | undefined>
  /** true when no series has a single value in the window */
  empty: boolean
}

export function alignDown(t: number, every: number): number {
  return Math.floor(t / every) * every
}

/** cpu2 before cpu10: names compared with their digit runs as numbers. */
export function naturalCompare(a: string, b: string): number {
  return a.localeCompare(b, 'en', {numeric: true})
}

export class SeriesWindow {
  private readonly buckets = new Map<string, Map<number, number>>()
  /** the slot count: the window divided into buckets */
  readonly length: number

  constructor(
    readonly windowMs: number,
    readonly every: number,
    /** a missing bucket repeats the previous value for at most this many slots (collection jitter) */
    private readonly carry = 1,
  ) {
    if (!(every > 0)) throw new RangeError(`bucket width must be positive, got ${every}`)
    this.length = Math.max(2, Math.round(windowMs / every))
  }

  /** Bucket starts shown at `now`: the current (partial) bucket is the last. */
  slots(now: number): number[] {
    const last = alignDown(now, this.every)
    return Array.from({length: this.length}, (_, i) => last - (this.length - 1 - i) * this.every)
  }

  /** Where a full load starts. */
  fullStart(now: number): number {
    return this.slots(now)[0]
  }

  /**
   * Where a tail refresh starts: two buckets before the current one, so the bucket that was
   * partial last time is completed and a rate has the bucket before it to be taken against.
   */
  tailStart(now: number): number {
    return alignDown(now, this.every) - 2 * this.every
  }

  /** Merges rows `[bucketStart, value]` of one series; non-numeric values are skipped. */
  merge(name: string, rows: ReadonlyArray<ReadonlyArray<unknown>>): void {
    let series = this.buckets.get(name)
    if (!series) {
      series = new Map()
      this.buckets.set(name, series)
    }

    for (const row of rows) {
      const t = row[0]
      const v = row[1]
      if (typeof t === 'number' && typeof v === 'number' && Number.isFinite(v)) series.set(alignDown(t, this.every), v)
    }
  }

  /** Drops buckets left of the window and series left with none. */
  trim(now: number): void {
    const first = this.fullStart(now)
    for (const [name, series] of this.buckets) {
      for (const t of series.keys()) if (t < first) series.delete(t)
      if (series.size === 0) this.buckets.delete(name)
    }
  }

  clear(): void {
    this.buckets.clear()
  }

  names(): string[] {
    return [...this.buckets.keys()].sort(naturalCompare)
  }

  data(now: number, wanted: readonly string[] = this.names()): ChartData {
    const slots = this.slots(now)
    const series: ChartSeries[] = []
    const latest: Record<string, number | undefined> = {}
    let empty = true
    for (const name of wanted) {
      const held = this.buckets.get(name)
      const values: Array<number | null> = []
      let last: number | null = null
      let gap = 0
      for (const t of slots) {
        const v = held?.get(t)
        if (v === undefined) {
          gap++
          values.push(last !== null && gap <= this.carry ? last : null)
        } else {
          gap = 0
          last = v
          values.push(v)
          latest[name] = v
          empty = false
        }
      }

      series.push({name, values})
    }

    return {slots, series, latest, empty}
  }
}
