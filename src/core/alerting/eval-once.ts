import {ManualClock} from '../clock.js'
import type {Store} from '../store/types.js'
import {createRuleEngine, type EngineDefaults} from './engine.js'
import {RecordingOverlay} from './recording.js'
import type {RuleGroup} from './rules.js'
import type {Alert, RuleStatus} from './types.js'

/**
 * `mon rules eval`: what the rules would say at one moment, against real data, without touching
 * alert state (in-memory state, nothing written to the store). With `replay` each group is first
 * evaluated at its interval over the `for` (+ `keep_firing_for`) window before `at`, so an alert
 * that has been true long enough shows as firing rather than pending.
 */
export interface EvalOnceOptions {
  groups: RuleGroup[]
  store: Store
  at: number
  replay?: boolean
  defaults?: Partial<EngineDefaults>
  /** most evaluations per group when replaying (the step grows beyond it) */
  maxSteps?: number
}

export interface EvalOnceResult {
  at: number
  /** pending and firing alerts at `at`, firing first */
  alerts: Alert[]
  rules: RuleStatus[]
  /** evaluations run, replay included */
  evaluations: number
}

export async function evaluateRulesOnce(opts: EvalOnceOptions): Promise<EvalOnceResult> {
  const clock = new ManualClock(opts.at)
  // recording rules' output is kept in memory (later rules read it); nothing reaches the store
  const engine = createRuleEngine({groups: opts.groups, store: new RecordingOverlay(opts.store), clock, writeSeries: false, cache: {step: 1}, defaults: opts.defaults})
  let evaluations = 0
  for (const g of opts.groups) {
    for (const t of replayTimes(g, opts.at, opts.replay ?? true, opts.maxSteps ?? 500)) {
      await engine.evaluateGroup(g.name, t)
      evaluations++
    }
  }

  return {at: opts.at, alerts: engine.activeAlerts(), rules: engine.ruleStatus(), evaluations}
}

/** Evaluation times ending at `at`, one interval apart, covering the longest for + keep_firing_for. */
export function replayTimes(g: RuleGroup, at: number, replay: boolean, maxSteps: number): number[] {
  const window = replay ? Math.max(0, ...g.rules.map((r) => (r.type === 'alert' ? r.forMs + r.keepFiringForMs : 0))) : 0
  if (window === 0) return [at]
  const step = Math.max(g.intervalMs ?? 60_000, Math.ceil(window / maxSteps))
  const n = Math.ceil(window / step)
  return Array.from({length: n + 1}, (_, i) => at - (n - i) * step)
}
