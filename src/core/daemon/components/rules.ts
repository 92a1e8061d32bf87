/** The rule groups, each on its interval or cron expression, evaluated by the rule engine. */
import {performance} from 'node:perf_hooks'
import {createRuleEngine, engineOptionsFromConfig, type RuleEngine} from '../../alerting/engine.js'
import type {Alert, AlertSink} from '../../alerting/types.js'
import {parseDuration} from '../../config/duration.js'
import {roundMs} from '../../format.js'
import {countAlertsInDb} from '../../incidents/index.js'
import {parseSchedule} from '../../scheduler/schedule.js'
import type {Scheduler} from '../../scheduler/scheduler.js'
import type {ComponentContext, DaemonComponent, DaemonConfig} from '../component.js'
import {ruleJobName, ruleScheduler} from '../rule-jobs.js'
import type {DaemonFacts, RuleGroupFacts} from '../types.js'

export interface RulesComponent extends DaemonComponent {
  /** Evaluates a rule group now, outside its schedule. */
  evaluateNow(group: string): Promise<void>
  activeAlerts(): Alert[]
  stats(): ReturnType<RuleEngine['stats']> | undefined
}

/** Refuses a rule group whose interval or cron expression does not parse (located error). */
export function checkRuleSchedules(cfg: DaemonConfig): void {
  for (const g of cfg.groups) parseSchedule(g.interval, {timezone: cfg.loaded.config.agent.timezone})
}

const EMPTY_STATS = {groups: 0, rules: 0, evaluations: 0, ruleErrors: 0, duplicates: 0, pending: 0, firing: 0}

export function rulesComponent(ctx: ComponentContext, sink: AlertSink): RulesComponent {
  const log = ctx.log.child({component: 'rules'})
  let engine: RuleEngine | undefined
  let scheduler: Scheduler | undefined
  let current: DaemonConfig | undefined
  const groupRuns = new Map<string, {at: number; durationMs: number}>()

  const newEngine = (cfg: DaemonConfig): RuleEngine =>
    createRuleEngine({
      groups: cfg.groups,
      store: ctx.store,
      stateDb: ctx.db,
      clock: ctx.clock,
      log,
      sink,
      ...engineOptionsFromConfig(cfg.loaded.config.rules, cfg.loaded.config.query),
      internalTags: {host: cfg.loaded.config.host},
      // the engine's own alerts_firing counts as every other view does (hand-resolved alerts are not firing)
      countAlerts: () => countAlertsInDb(ctx.db),
    })

  const evaluate = async (group: string): Promise<void> => {
    if (!engine || !engine.groups.some((g) => g.name === group)) return
    const started = performance.now()
    const at = ctx.clock.now()
    await engine.evaluateGroup(group, at)
    groupRuns.set(group, {at, durationMs: roundMs(performance.now() - started)})
  }

  const startScheduler = (cfg: DaemonConfig) => {
    const {config} = cfg.loaded
    scheduler = ruleScheduler({groups: cfg.groups, evaluate, clock: ctx.clock, timer: ctx.timer, log, timezone: config.agent.timezone, jitterMs: parseDuration(config.rules.jitter), random: ctx.random})
    scheduler.start()
  }

  return {
    name: 'rules',
    check: checkRuleSchedules,
    async start(cfg) {
      current = cfg
      engine = newEngine(cfg)
      startScheduler(cfg)
    },
    async apply(next, prev) {
      // stop the schedule (the evaluation in progress finishes), swap, start again
      await scheduler?.drain()
      const settings = (c: DaemonConfig) => JSON.stringify({...c.loaded.config.rules, files: [], default_interval: ''})
      if (settings(next) !== settings(prev)) engine = newEngine(next)
      else engine!.replaceGroups(next.groups)
      current = next
      for (const name of [...groupRuns.keys()]) if (!next.groups.some((g) => g.name === name)) groupRuns.delete(name)
      startScheduler(next)
      return `rules: ${next.groups.length} groups, ${next.groups.reduce((n, g) => n + g.rules.length, 0)} rules`
    },
    async stop() {
      // the evaluation in progress finishes (its alerts reach the dispatcher); no new ones start
      await scheduler?.drain()
    },
    async evaluateNow(group) {
      if (!scheduler) throw new Error('the daemon is not running')
      await scheduler.runNow(ruleJobName(group))
    },
    activeAlerts: () => engine?.activeAlerts() ?? [],
    stats: () => engine?.stats(),
    status(): Partial<DaemonFacts> {
      const ruleStatus = engine?.ruleStatus() ?? []
      const jobs = new Map((scheduler?.status() ?? []).map((j) => [j.name, j]))
      const groups: RuleGroupFacts[] = (current?.groups ?? []).map((g) => {
        const run = groupRuns.get(g.name)
        return {
          name: g.name,
          file: g.file,
          schedule: jobs.get(ruleJobName(g.name))?.schedule ?? g.interval,
          rules: g.rules.length,
          job: jobs.get(ruleJobName(g.name)),
          lastEvalAt: run?.at,
          lastDurationMs: run?.durationMs,
          failing: ruleStatus.filter((r) => r.group === g.name && r.health === 'error').length,
        }
      })
      return {rules: {files: current?.loaded.config.rules.files ?? [], groups, rules: ruleStatus, stats: engine?.stats() ?? EMPTY_STATS}}
    },
  }
}
