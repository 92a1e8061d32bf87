import type {AlertState} from './types.js'

/**
 * The per-series alert state machine (Prometheus' semantics, plus the transitions it records):
 *
 *   inactive ──active──▶ pending ──active for ≥ `for`──▶ firing ──inactive──▶ resolved
 *                │  ▲        │                              ▲ │  (after `keep_firing_for`)
 *                │  └─inactive┘ (back to inactive)           │ │
 *                └─────active, `for` = 0─────────────────────┘ └─active again: stays firing
 *
 * A resolved (or inactive) alert whose condition comes back starts over at pending with a new
 * activeAt. `keep` (no data / query error with `keep`) leaves the state exactly as it was.
 * Pure: the engine supplies the time, so every path is tested without sleeping.
 */
export type Condition = 'active' | 'inactive' | 'keep'

export interface AlertTiming {
  forMs: number
  keepFiringForMs: number
}

export interface SeriesState {
  state: AlertState
  /** start of the current pending/firing episode */
  activeAt: number
  firedAt?: number
  resolvedAt?: number
  /** first evaluation where the condition was false while keep_firing_for held the alert */
  keptFiringSince?: number
}

/** The next state, or undefined when there is no alert (and was none). */
export function nextState(prev: SeriesState | undefined, cond: Condition, at: number, t: AlertTiming): SeriesState | undefined {
  if (cond === 'keep') return prev
  const ended = !prev || prev.state === 'inactive' || prev.state === 'resolved'
  if (cond === 'active') {
    if (ended) return t.forMs <= 0 ? {state: 'firing', activeAt: at, firedAt: at} : {state: 'pending', activeAt: at}
    if (prev.state === 'pending') return at - prev.activeAt >= t.forMs ? {...prev, state: 'firing', firedAt: at} : prev
    return prev.keptFiringSince === undefined ? prev : {...prev, keptFiringSince: undefined}
  }

  if (ended) return prev
  if (prev.state === 'pending') return {...prev, state: 'inactive'}
  if (t.keepFiringForMs > 0) {
    const since = prev.keptFiringSince ?? at
    if (at - since < t.keepFiringForMs) return since === prev.keptFiringSince ? prev : {...prev, keptFiringSince: since}
  }

  return {...prev, state: 'resolved', resolvedAt: at, keptFiringSince: undefined}
}
