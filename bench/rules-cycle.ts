/**
 * The 1,000-rule evaluation cycle (issue #5), shared by the benches that run it on one store each
 * (bench/rules.bench.ts: the embedded store; bench/vm-rules.bench.ts: VictoriaMetrics).
 *
 * Fixture: 250 hosts × 4 series (cpu.usage_user, mem.used_percent, disk.used_percent, system.load1)
 * at 10 s for the last hour. Rules: 40 groups of 25, built from 100 distinct queries (4 metrics ×
 * 5 aggregations × 5 windows), each used by 10 rules that differ in threshold and severity — as real
 * rule sets do (warning/critical pairs, per-team copies). About 1 % of rule × host pairs fire, so a
 * cycle also carries a few thousand active alerts through the state machine and state.db.
 * Each cycle evaluates at a new time (one minute later): the cache only helps within a cycle.
 */
import {join} from 'node:path'
import {createRuleEngine, type RuleEngineOptions} from '../src/core/alerting/engine.js'
import {parseRuleText, type RuleGroup} from '../src/core/alerting/rules.js'
import type {Clock} from '../src/core/clock.js'
import type {Point} from '../src/core/model/point.js'
import {openStateDb} from '../src/core/state/db.js'
import type {Store} from '../src/core/store/types.js'
import {repeat, type Stats} from './lib.js'

export const HOSTS = 250
const STEP = 10_000
const METRICS = [
  {sel: 'cpu.usage_user{cpu="cpu-total"}', base: 30, spread: 60},
  {sel: 'mem.used_percent', base: 40, spread: 55},
  {sel: 'disk.used_percent{path="/"}', base: 50, spread: 45},
  {sel: 'system.load1', base: 0.5, spread: 6},
]
const FNS = ['mean', 'max', 'min', 'last', 'percentile']
const WINDOWS = ['1m', '5m', '10m', '15m', '30m']
/** points per series in the fixture (an hour at 10 s) */
export const POINTS_PER_SERIES = 360

/** The evaluation time of the benches: a minute boundary. */
export const CYCLE_NOW = Math.floor(Date.UTC(2026, 10, 25, 9, 0, 0) / 60_000) * 60_000

/** HOSTS × 4 series × POINTS_PER_SERIES points over the hour before `now`. */
export function fixture(now: number): Point[] {
  const points: Point[] = []
  for (let h = 0; h < HOSTS; h++) {
    const host = `host-${String(h).padStart(3, '0')}`
    for (let i = 0; i < POINTS_PER_SERIES; i++) {
      const ts = now - (POINTS_PER_SERIES - i) * STEP
      // each host sits at its own level (spread over the range) with a little noise
      const level = (h * 7919) % HOSTS / HOSTS
      const wobble = Math.sin(i / 7 + h) * 0.02
      points.push(
        {measurement: 'cpu', tags: {host, cpu: 'cpu-total'}, fields: {usage_user: 30 + 60 * (level + wobble)}, ts},
        {measurement: 'mem', tags: {host}, fields: {used_percent: 40 + 55 * (level + wobble)}, ts},
        {measurement: 'disk', tags: {host, path: '/', device: 'vda1'}, fields: {used_percent: 50 + 45 * (level + wobble)}, ts},
        {measurement: 'system', tags: {host}, fields: {load1: 0.5 + 6 * (level + wobble)}, ts},
      )
    }
  }

  return points
}

/** The 1,000 rules in 40 groups (checked). */
export function ruleSet(): RuleGroup[] {
  const queries: Array<{expr: string; base: number; spread: number}> = []
  for (const m of METRICS) {
    for (const fn of FNS) {
      for (const w of WINDOWS) {
        const sel = `${m.sel}[${w}]`
        queries.push({expr: fn === 'percentile' ? `percentile(${sel}, 95) by host` : `${fn}(${sel}) by host`, base: m.base, spread: m.spread})
      }
    }
  }

  const groups: string[] = []
  let rule = 0
  for (let g = 0; g < 40; g++) {
    const rules: string[] = []
    for (let r = 0; r < 25; r++, rule++) {
      const q = queries[rule % queries.length]
      const copy = Math.floor(rule / queries.length) // 0..9: thresholds from the top 10 % down to the top 1 %
      const threshold = q.base + q.spread * (0.99 - copy * 0.001)
      rules.push(`      - alert: Rule${rule}
        expr: ${q.expr} > ${threshold.toFixed(3)}
        for: ${copy % 3}m
        labels: {severity: ${copy % 2 ? 'critical' : 'warning'}, team: team-${copy}}
        annotations: {summary: '{{ $labels.host }} at {{ printf "%.1f" $value }}'}`)
    }

    groups.push(`  - name: group-${g}\n    interval: 1m\n    rules:\n${rules.join('\n')}`)
  }

  const parsed = parseRuleText(`groups:\n${groups.join('\n')}\n`, 'bench.yaml')
  if (parsed.problems.length > 0) throw new Error(parsed.problems.map((p) => p.message).join('; '))
  const count = parsed.groups.reduce((n, g) => n + g.rules.length, 0)
  if (count !== 1000) throw new Error(`expected 1,000 rules, got ${count}`)
  return parsed.groups
}

export interface CycleRun {
  stats: Stats
  /** the active alerts after each cycle, `fingerprint:state` */
  active: string[][]
  /** store queries and cache hits of the last cycle */
  lastCycle: {hits: number; misses: number}
}

/**
 * Times `reps` evaluation cycles of `groups` (after `warmup` unrecorded ones) on a fresh engine
 * with its own state.db under `dir`, one minute apart within the data's last ten minutes.
 * `observe` is called before each cycle, outside its time, and what it returns after it.
 */
export async function measureCycles(opts: {groups: RuleGroup[]; store: Store; clock: Clock; now: number; dir: string; cache: RuleEngineOptions['cache']; reps: number; warmup?: number; observe?: () => Promise<() => Promise<void>>}): Promise<CycleRun> {
  const engine = createRuleEngine({groups: opts.groups, store: opts.store, stateDb: openStateDb(opts.dir), clock: opts.clock, cache: opts.cache, writeSeries: true})
  let cycle = 0
  const active: string[][] = []
  let lastCycle = {hits: 0, misses: 0}
  const stats = await repeat(
    opts.reps,
    async () => {
      const at = opts.now - 10 * 60_000 + (cycle++ % 10) * 60_000
      const observed = await opts.observe?.()
      const before = engine.stats().cache
      const t = performance.now()
      const evaluations = await engine.evaluateAll(at)
      const ms = performance.now() - t
      const after = engine.stats().cache
      if (before && after) lastCycle = {hits: after.hits - before.hits, misses: after.misses - before.misses}
      // a cycle of failing rules would be fast and meaningless
      const failed = evaluations.flatMap((g) => g.rules).find((r) => r.health !== 'ok')
      if (failed) throw new Error(`rule ${failed.rule} did not evaluate cleanly: ${failed.health} ${failed.error ?? ''}`)
      active.push(engine.activeAlerts().map((a) => `${a.fingerprint}:${a.state}`))
      await observed?.()
      return ms
    },
    opts.warmup ?? 1,
  )
  return {stats, active, lastCycle}
}

/** Throws unless every cycle of `runs` gave the alerts (in the same states) that `uncached` gave, cycle by cycle. */
export function checkSameAlerts(uncached: CycleRun, runs: CycleRun[]): void {
  for (const run of runs) {
    uncached.active.forEach((want, i) => {
      const got = run.active[i]
      if (got.length !== want.length || got.some((a, j) => a !== want[j])) throw new Error(`cycle ${i + 1}: the cache changed the result: ${got.length} alerts with it, ${want.length} without`)
    })
  }
}

/** A state.db directory per measurement. */
export const stateDir = (tmp: string, label: string): string => join(tmp, `state-${label.replaceAll(' ', '-')}`)
