/**
 * Why a gathered point was not written. The pipeline's rule: every point an input gathers is
 * written to the store or counted as dropped under exactly one of these reasons, per input; the
 * counts are in `mon_internal` (`dropped_<reason>`), `mon status` and `mon collect --once --json`.
 */
export const DROP_REASONS = [
  /** line protocol has no spelling for it (NaN or ±Infinity, an empty name, a name ending in a backslash, no fields…) */
  'unserializable',
  /** the spool could not be written (disk full, I/O error) */
  'spool_write_failed',
  /** the spool was over `spool.max_bytes`: its oldest segment went before the store took it */
  'spool_full',
  /** spooled, then found unreadable (a corrupt segment) */
  'spool_corrupt',
  /** the store refused it for good (a field type conflict, beyond retention…) */
  'store_rejected',
] as const

export type DropReason = (typeof DROP_REASONS)[number]

/** Dropped points of one input by reason; reasons with none are absent. */
export type DropCounts = Partial<Record<DropReason, number>>

/** Per input, per reason. */
export class DropTally {
  private readonly byInput = new Map<string, DropCounts>()

  add(input: string, reason: DropReason, points: number): void {
    if (points <= 0) return
    let counts = this.byInput.get(input)
    if (!counts) this.byInput.set(input, (counts = {}))
    counts[reason] = (counts[reason] ?? 0) + points
  }

  toJSON(): Record<string, DropCounts> {
    const out: Record<string, DropCounts> = {}
    for (const [input, counts] of this.byInput) out[input] = {...counts}
    return out
  }
}

/** Sums of several sources' counts for one input. */
export function mergeDropCounts(...sources: Array<DropCounts | undefined>): DropCounts {
  const out: DropCounts = {}
  for (const s of sources) {
    if (!s) continue
    for (const reason of DROP_REASONS) if (s[reason]) out[reason] = (out[reason] ?? 0) + s[reason]!
  }
  return out
}

export function totalDropped(counts: DropCounts): number {
  let n = 0
  for (const reason of DROP_REASONS) n += counts[reason] ?? 0
  return n
}
