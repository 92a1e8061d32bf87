import {performance} from 'node:perf_hooks'
import {systemClock, type Clock} from '../clock.js'
import {tryParseDuration} from '../config/duration.js'
import {didYouMean} from '../did-you-mean.js'
import type {QueryConfig, RulesConfig} from '../config/schema.js'
import {InputError, errorMessage} from '../errors.js'
import {silentLogger, type Logger} from '../log.js'
import type {Point} from '../model/point.js'
import {eventPoint} from '../model/events.js'
import {QueryCache, type QueryCacheStats} from '../query/cache.js'
import {DEFAULT_QUERY_TIMEOUT_MS, QueryDeadline} from '../query/deadline.js'
import {evaluateInstant, type Sample} from '../query/executor.js'
import {containsAbsent} from '../query/ast.js'
import type {StateDb} from '../state/db.js'
import {hasTierRouting, isReadOnlyStore, type QueryPlan, type Store} from '../store/types.js'
import {alertFingerprint} from './fingerprint.js'
import {AlertStateReader, AlertStateWriter, memoryStateDb} from './persist.js'
import {recordedPoints, recordedSeriesKeys, seriesKeyOf, writeRecorded} from './recording.js'
import type {AlertRule, RecordingRule, Rule, RuleGroup} from './rules.js'
import {nextState, type Condition, type SeriesState} from './state-machine.js'
import type {Alert, AlertSink, AlertState, AlertTransition, NoDataPolicy, RuleHealth, RuleStatus} from './types.js'
import {roundMs} from '../format.js'

/**
 * The alert engine: evaluates rule groups at the times it is given (the daemon's scheduler decides
 * when), runs each alert through the state machine, persists state and transitions in state.db,
 * writes every transition to the metrics store as measurement `alerts` (like Prometheus' ALERTS)
 * and hands firing and just-resolved alerts to an {@link AlertSink}. One failing rule is reported
 * (health `error`) and never stops the others. See docs/alerting.md.
 */
export interface EngineDefaults {
  /** what a rule does when its selectors return no data at all (config rules.no_data) */
  noData: NoDataPolicy
  /** what a rule does when its query fails (config rules.on_error) */
  onError: NoDataPolicy
  /** look-back of selectors without [range] (config rules.lookback) */
  lookbackMs: number
  /** a rule's query failing after this long is an evaluation error (config query.timeout) */
  queryTimeoutMs: number
}

export interface RuleEngineOptions {
  groups: RuleGroup[]
  store: Store
  /** state.db (openStateDb); without it state lives in memory only (`mon rules test|eval`) */
  stateDb?: StateDb
  clock?: Clock
  log?: Logger
  sink?: AlertSink
  defaults?: Partial<EngineDefaults>
  /**
   * Share query results between rules (see query/cache.ts); false turns it off. Default: step 10 s,
   * and on the embedded store, VictoriaMetrics and Prometheus plans over one selector share one raw
   * read (`shareReads`).
   */
  cache?: false | {step: number; maxEntries?: number; shareReads?: boolean}
  /** write transitions (`alerts`) and engine stats (`mon_internal`) to the store; default true */
  writeSeries?: boolean
  /** tags added to the `mon_internal` points (e.g. host) */
  internalTags?: Record<string, string>
  /** transitions and ended alerts older than this are pruned from state.db; default 30 days */
  historyRetentionMs?: number
  /** rules of one group whose queries run at the same time; default 8 */
  concurrency?: number
  /** `$externalLabels` in templates */
  externalLabels?: Record<string, string>
  /**
   * The alert counts people see, for `alerts_firing`/`alerts_pending` in `mon_internal`: the
   * daemon and cron pass core/incidents' countAlertsInDb so an alert resolved by hand is not counted
   * (the engine keeps it firing until its expression resolves). Default: the engine's own states.
   */
  countAlerts?: () => {firing: number; pending: number}
}

export interface RuleEvaluation {
  rule: string
  type: Rule['type']
  health: RuleHealth
  error?: string
  /** samples the expression returned */
  samples: number
  durationMs: number
  /** recording rules: points written (samples that are NaN or ±Inf cannot be stored and are not) */
  recorded?: number
}

export interface GroupEvaluation {
  group: string
  at: number
  durationMs: number
  rules: RuleEvaluation[]
  transitions: AlertTransition[]
  /** set when the group could not be evaluated at all (e.g. state.db not writable); evaluateAll only */
  error?: string
}

export interface EngineStats {
  groups: number
  rules: number
  /** rule evaluations since start */
  evaluations: number
  /** rule evaluations that failed since start */
  ruleErrors: number
  /** samples dropped because another sample (or rule) already gave the same alert */
  duplicates: number
  pending: number
  firing: number
  /** duration of the last evaluateAll */
  lastCycleMs?: number
  cache?: QueryCacheStats
}

export interface RuleEngine {
  readonly groups: readonly RuleGroup[]
  /** Evaluates one group at `at` (default: the clock's now). */
  evaluateGroup(name: string, at?: number): Promise<GroupEvaluation>
  /** Evaluates every group at the same `at`. */
  evaluateAll(at?: number): Promise<GroupEvaluation[]>
  /** Pending and firing alerts, firing first. */
  activeAlerts(): Alert[]
  getAlert(fingerprint: string): Alert | undefined
  /** Transitions of one alert, newest first. */
  history(fingerprint: string, limit?: number): AlertTransition[]
  ruleStatus(): RuleStatus[]
  stats(): EngineStats
  /** Swaps in reloaded rule files (SIGHUP): alerts of rules that are gone resolve. */
  replaceGroups(groups: RuleGroup[]): void
  /** The read side of the same state (what `mon alerts` reads from state.db). */
  readonly reader: AlertStateReader
}

export const DEFAULT_ENGINE: EngineDefaults = {noData: 'ok', onError: 'keep', lookbackMs: 5 * 60_000, queryTimeoutMs: DEFAULT_QUERY_TIMEOUT_MS}
export const DEFAULT_CACHE_STEP = 10_000
/**
 * Stores whose plans over one selector share one raw read by default: the embedded store (a read is
 * cheap to ship, costly to decode) and the Prometheus-API stores (they answer raw reads only, so
 * every window is mon's to compute anyway: once per plan instead of once per rule). InfluxDB
 * aggregates better on the server than shipping raw points.
 */
const RAW_READ_STORES = new Set(['sqlite', 'victoriametrics', 'prometheus'])
const PRUNE_EVERY = 3_600_000

/** Engine options from the `rules:` section of the config. */
export function engineOptionsFromConfig(rules: RulesConfig, query?: QueryConfig): Pick<RuleEngineOptions, 'defaults' | 'cache' | 'historyRetentionMs'> {
  return {
    defaults: {
      noData: rules.no_data,
      onError: rules.on_error,
      lookbackMs: tryParseDuration(rules.lookback) ?? DEFAULT_ENGINE.lookbackMs,
      queryTimeoutMs: (query && tryParseDuration(query.timeout)) ?? DEFAULT_ENGINE.queryTimeoutMs,
    },
    cache: rules.cache ? {step: tryParseDuration(rules.cache_step) ?? DEFAULT_CACHE_STEP} : false,
    historyRetentionMs: tryParseDuration(rules.history_retention),
  }
}

export function createRuleEngine(opts: RuleEngineOptions): RuleEngine {
  return new Engine(opts)
}

type Outcome = {kind: 'data'; samples: Sample[]} | {kind: 'nodata'} | {kind: 'error'; error: string}

/** What a recording rule wrote in one evaluation; `error`: the write failed or the result was refused. */
interface RecordingResult {
  written: number
  error?: string
}

interface GroupWork {
  transitions: AlertTransition[]
  touched: Map<string, Alert>
  resolved: Alert[]
  points: Point[]
  claimed: Map<string, string>
}

class Engine implements RuleEngine {
  groups: RuleGroup[] = []
  readonly reader: AlertStateReader
  private readonly store: Store
  private readonly cache?: QueryCache
  private readonly writer: AlertStateWriter
  private readonly clock: Clock
  private readonly log: Logger
  private readonly defaults: EngineDefaults
  private readonly writeSeries: boolean
  private readonly concurrency: number
  private readonly retentionMs: number
  private byName = new Map<string, RuleGroup>()
  private ruleIds = new Set<string>()
  /** `measurement\0field` of every recording rule: read past the query cache (see query()) */
  private recordedSeries = new Set<string>()
  /** pending and firing alerts by fingerprint */
  private readonly active = new Map<string, Alert>()
  /** fingerprints of active alerts by rule id */
  private readonly byRule = new Map<string, Set<string>>()
  private readonly status = new Map<string, RuleStatus>()
  private readonly absentRules = new WeakMap<Rule, boolean>()
  /** alerts resolved outside an evaluation (rule removed), handed on with the next one */
  private queuedResolved: Alert[] = []
  private queuedPoints: Point[] = []
  private counters = {evaluations: 0, ruleErrors: 0, duplicates: 0}
  private lastCycleMs?: number
  private lastPrune = Number.NEGATIVE_INFINITY
  private readonly running = new Map<string, Promise<unknown>>()

  constructor(private readonly opts: RuleEngineOptions) {
    this.clock = opts.clock ?? systemClock
    this.log = opts.log ?? silentLogger
    this.defaults = {...DEFAULT_ENGINE, ...opts.defaults}
    // a read-only store (Prometheus) gets no `alerts`/`mon_internal` series: state.db has the alerts
    this.writeSeries = (opts.writeSeries ?? true) && !isReadOnlyStore(opts.store)
    if ((opts.writeSeries ?? true) && isReadOnlyStore(opts.store)) this.log.debug('the store is read-only: the alerts and mon_internal series are not written', {store: opts.store.kind})
    this.concurrency = Math.max(1, opts.concurrency ?? 8)
    this.retentionMs = opts.historyRetentionMs ?? 30 * 86_400_000
    if (opts.cache !== false) {
      const share = opts.cache?.shareReads ?? RAW_READ_STORES.has(opts.store.kind)
      this.cache = new QueryCache(opts.store, {step: opts.cache?.step ?? DEFAULT_CACHE_STEP, maxEntries: opts.cache?.maxEntries, shareReads: share && {canShare: rawCoverage(opts.store)}})
    }

    this.store = this.cache ?? opts.store
    const db = opts.stateDb ?? memoryStateDb()
    this.writer = new AlertStateWriter(db)
    this.reader = new AlertStateReader(db)
    for (const a of this.writer.loadActive()) this.track(a)
    this.replaceGroups(opts.groups)
  }

  replaceGroups(groups: RuleGroup[]): void {
    const byName = new Map<string, RuleGroup>()
    for (const g of groups) {
      if (byName.has(g.name)) throw new InputError(`rule group '${g.name}' is defined twice (${byName.get(g.name)!.file} and ${g.file})`, {hint: 'group names must be unique across rule files'})
      byName.set(g.name, g)
    }

    this.groups = groups
    this.byName = byName
    this.ruleIds = new Set(groups.flatMap((g) => g.rules.map((r) => r.id)))
    this.recordedSeries = recordedSeriesKeys(groups)
    for (const id of [...this.status.keys()]) if (!this.ruleIds.has(id)) this.status.delete(id)
    this.writer.dropRules([...this.ruleIds])
    this.resolveOrphans()
  }

  /** Alerts whose rule is gone (edited out of the files, or renamed) end now. */
  private resolveOrphans(): void {
    const now = this.clock.now()
    const transitions: AlertTransition[] = []
    const ended: Alert[] = []
    for (const [ruleId, fps] of [...this.byRule]) {
      if (this.ruleIds.has(ruleId)) continue
      for (const fp of fps) {
        const prev = this.active.get(fp)!
        const to: AlertState = prev.state === 'firing' ? 'resolved' : 'inactive'
        const alert: Alert = {...prev, state: to, lastEvalAt: now, keptFiringSince: undefined, ...(to === 'resolved' ? {resolvedAt: now} : {})}
        transitions.push({alert, from: prev.state, to, at: now})
        ended.push(alert)
        if (to === 'resolved') this.queuedResolved.push(alert)
        this.untrack(alert)
      }

      this.log.info('rule removed: its alerts end', {rule: ruleId, alerts: fps.size})
    }

    if (transitions.length === 0) return
    this.writer.save(ended, transitions, [])
    if (this.writeSeries) this.queuedPoints.push(...transitions.flatMap(transitionPoints))
  }

  async evaluateGroup(name: string, at = this.clock.now()): Promise<GroupEvaluation> {
    const result = await this.serialized(this.groupNamed(name), at)
    await this.writePoints([this.statsPoint(at)])
    return result
  }

  async evaluateAll(at = this.clock.now()): Promise<GroupEvaluation[]> {
    const started = performance.now()
    const out: GroupEvaluation[] = []
    for (const g of this.groups) {
      try {
        out.push(await this.serialized(g, at))
      } catch (error) {
        // one group that cannot be evaluated (state.db not writable …) does not stop the others
        this.log.error('rule group evaluation failed', {group: g.name, error: errorMessage(error)})
        out.push({group: g.name, at, durationMs: 0, rules: [], transitions: [], error: errorMessage(error)})
      }
    }

    this.lastCycleMs = roundMs(performance.now() - started)
    await this.writePoints([this.statsPoint(at)])
    return out
  }

  /** One evaluation of a group at a time: a slow evaluation and the next tick do not overlap. */
  private serialized(group: RuleGroup, at: number): Promise<GroupEvaluation> {
    const run = () => this.runGroup(group, at)
    const next = (this.running.get(group.name) ?? Promise.resolve()).then(run, run)
    this.running.set(
      group.name,
      next.catch(() => undefined),
    )
    return next
  }

  private groupNamed(name: string): RuleGroup {
    const g = this.byName.get(name)
    if (g) return g
    const guess = didYouMean(name, [...this.byName.keys()])
    throw new InputError(`no rule group named '${name}'`, {hint: guess ? `did you mean '${guess}'?` : `groups: ${[...this.byName.keys()].join(', ') || '(none loaded)'}`})
  }

  private async runGroup(group: RuleGroup, at: number): Promise<GroupEvaluation> {
    const started = performance.now()
    const {outcomes, recorded} = await this.queryGroup(group, at)
    const work: GroupWork = {transitions: [], touched: new Map(), resolved: [...this.queuedResolved], points: this.queuedPoints, claimed: new Map()}
    this.queuedResolved = []
    this.queuedPoints = []
    const evaluations: RuleEvaluation[] = []
    group.rules.forEach((rule, i) => evaluations.push(rule.type === 'record' ? this.applyRecording(rule, group, outcomes[i], recorded.get(i)!, at) : this.apply(rule, group, outcomes[i], at, work)))

    if (at - this.lastPrune >= PRUNE_EVERY) {
      this.lastPrune = at
      const pruned = this.writer.prune(at - this.retentionMs)
      if (pruned.transitions + pruned.alerts > 0) this.log.debug('pruned alert history', pruned)
    }

    try {
      this.writer.save([...work.touched.values()], work.transitions, group.rules.map((r) => this.status.get(r.id)!))
    } catch (error) {
      // memory keeps matching state.db: this evaluation did not happen; what was queued waits for the next
      this.queuedResolved.push(...work.resolved.filter((a) => !work.touched.has(a.fingerprint)))
      this.queuedPoints.push(...work.points)
      throw error
    }

    for (const a of work.touched.values()) {
      if (a.state === 'pending' || a.state === 'firing') this.track(a)
      else this.untrack(a)
    }

    if (this.writeSeries) work.points.push(...work.transitions.flatMap(transitionPoints))
    await this.writePoints(work.points)
    await this.push(group, work.resolved, at)
    return {group: group.name, at, durationMs: roundMs(performance.now() - started), rules: evaluations, transitions: work.transitions}
  }

  /**
   * Runs the queries of a group's rules, in order as Prometheus does: the rules up to a recording
   * rule run concurrently, then the recording rule's output is written (through the query cache,
   * which drops what it held of that measurement) before any later rule of the group runs, so a
   * later rule of the same evaluation reads it. Never throws.
   */
  private async queryGroup(group: RuleGroup, at: number): Promise<{outcomes: Array<{outcome: Outcome; ms: number}>; recorded: Map<number, RecordingResult>}> {
    const outcomes: Array<{outcome: Outcome; ms: number}> = []
    const recorded = new Map<number, RecordingResult>()
    let from = 0
    while (from < group.rules.length) {
      let to = from
      while (to < group.rules.length - 1 && group.rules[to].type !== 'record') to++
      const batch = group.rules.slice(from, to + 1)
      outcomes.push(...(await mapLimit(batch, this.concurrency, (rule) => this.query(rule, group, at))))
      const last = group.rules[to]
      if (last.type === 'record') recorded.set(to, await this.record(last, group, outcomes[to].outcome, at))
      from = to + 1
    }

    return {outcomes, recorded}
  }

  /** Writes a recording rule's output at `at`; what went wrong is the rule's error. */
  private async record(rule: RecordingRule, group: RuleGroup, outcome: Outcome, at: number): Promise<RecordingResult> {
    if (outcome.kind !== 'data') return {written: 0}
    if (group.limit > 0 && outcome.samples.length > group.limit) return {written: 0, error: `the rule gave ${outcome.samples.length} series, more than the group's limit of ${group.limit}; nothing written`}
    const built = recordedPoints(rule, outcome.samples, at)
    if (!built.ok) return {written: 0, error: built.error}
    if (built.nonFinite > 0) this.log.warn('recording rule gave NaN or infinite values, which the store cannot keep: not written', {rule: rule.id, samples: built.nonFinite})
    const error = await writeRecorded(this.store, rule, built.points)
    return error === undefined ? {written: built.points.length} : {written: 0, error}
  }

  /** The status of a recording rule after its evaluation (no alerts: its output is its series). */
  private applyRecording(rule: RecordingRule, group: RuleGroup, result: {outcome: Outcome; ms: number}, rec: RecordingResult, at: number): RuleEvaluation {
    const {outcome} = result
    const error = outcome.kind === 'error' ? outcome.error : rec.error
    const health: RuleHealth = error !== undefined ? 'error' : outcome.kind === 'nodata' ? 'nodata' : 'ok'
    if (error !== undefined) {
      this.counters.ruleErrors++
      this.log.warn('rule evaluation failed', {rule: rule.id, error})
    }

    this.counters.evaluations++
    const samples = outcome.kind === 'data' ? outcome.samples.length : 0
    this.status.set(rule.id, {id: rule.id, type: 'record', group: group.name, name: rule.name, health, lastError: error, lastEvalAt: at, durationMs: result.ms, samples, activeAlerts: 0})
    return {rule: rule.id, type: 'record', health, error, samples, durationMs: result.ms, recorded: rec.written}
  }

  /** Runs a rule's query. Never throws: a failure is an outcome. */
  private async query(rule: Rule, group: RuleGroup, at: number): Promise<{outcome: Outcome; ms: number}> {
    const started = performance.now()
    let rows = 0
    const base = this.store
    const counting: Store = {
      kind: base.kind,
      query: async (plan, opts) => {
        // recorded series are read from the store itself: the cache moves windows back to its step
        // boundary, and a point recorded at `at` earlier in this evaluation lies after it
        const from = this.recordedSeries.size > 0 && this.recordedSeries.has(seriesKeyOf(plan)) ? this.opts.store : base
        const frames = await from.query(plan, opts)
        for (const f of frames) rows += f.rows.length
        return frames
      },
      write: (points) => base.write(points),
      close: async () => {},
    }
    let outcome: Outcome
    try {
      const samples = await evaluateInstant(rule.query, counting, at, {
        lookback: group.lookbackMs ?? this.defaults.lookbackMs,
        deadline: new QueryDeadline(this.defaults.queryTimeoutMs, this.clock),
      })
      // no data: the selectors found nothing at all (not: the comparison filtered everything out)
      outcome = samples.length === 0 && rows === 0 && !this.usesAbsent(rule) ? {kind: 'nodata'} : {kind: 'data', samples}
    } catch (error) {
      outcome = {kind: 'error', error: errorMessage(error)}
    }

    return {outcome, ms: roundMs(performance.now() - started)}
  }

  private usesAbsent(rule: Rule): boolean {
    let known = this.absentRules.get(rule)
    if (known === undefined) {
      known = containsAbsent(rule.query.expr)
      this.absentRules.set(rule, known)
    }

    return known
  }

  /** Runs the state machine of every alert of one rule for one outcome. */
  private apply(rule: AlertRule, group: RuleGroup, result: {outcome: Outcome; ms: number}, at: number, work: GroupWork): RuleEvaluation {
    let {outcome} = result
    const timing = {forMs: rule.forMs, keepFiringForMs: rule.keepFiringForMs}
    const produced = new Map<string, Alert>()
    if (outcome.kind === 'data') {
      for (const s of outcome.samples) {
        const alert = this.buildAlert(rule, group, s.labels, s.value, at)
        const owner = work.claimed.get(alert.fingerprint)
        if (produced.has(alert.fingerprint) || (owner !== undefined && owner !== rule.id)) {
          this.counters.duplicates++
          continue
        }

        produced.set(alert.fingerprint, alert)
      }

      if (group.limit > 0 && produced.size > group.limit) {
        outcome = {kind: 'error', error: `the rule gave ${produced.size} alerts, more than the group's limit of ${group.limit}`}
        produced.clear()
      }
    }

    const health: RuleHealth = outcome.kind === 'data' ? 'ok' : outcome.kind
    const error = outcome.kind === 'error' ? outcome.error : undefined
    let others: Condition = 'inactive'
    if (outcome.kind !== 'data') {
      const policy = outcome.kind === 'error' ? (rule.onError ?? this.defaults.onError) : (rule.noData ?? this.defaults.noData)
      others = policy === 'keep' ? 'keep' : policy === 'alerting' ? 'active' : 'inactive'
      // alerting on no data / error with no alert to carry it: one alert for the rule itself
      if (policy === 'alerting' && !(this.byRule.get(rule.id)?.size ?? 0)) {
        const alert = this.buildAlert(rule, group, {}, null, at)
        produced.set(alert.fingerprint, alert)
      }

      if (outcome.kind === 'error') {
        this.counters.ruleErrors++
        this.log.warn('rule evaluation failed', {rule: rule.id, error})
      }
    }

    let activeAlerts = 0
    const isActive = (a: Alert | undefined) => a !== undefined && (a.state === 'pending' || a.state === 'firing')
    for (const [fp, alert] of produced) {
      work.claimed.set(fp, rule.id)
      if (isActive(this.step(alert, this.active.get(fp), 'active', at, timing, work, health, error))) activeAlerts++
    }

    for (const fp of [...(this.byRule.get(rule.id) ?? [])]) {
      if (produced.has(fp)) continue
      const prev = this.active.get(fp)!
      if (isActive(this.step(prev, prev, others, at, timing, work, health, error))) activeAlerts++
    }

    this.counters.evaluations++
    const samples = outcome.kind === 'data' ? outcome.samples.length : 0
    const status: RuleStatus = {id: rule.id, type: 'alert', group: group.name, name: rule.name, health, lastError: error, lastEvalAt: at, durationMs: result.ms, samples, activeAlerts}
    this.status.set(rule.id, status)
    return {rule: rule.id, type: 'alert', health, error, samples, durationMs: result.ms}
  }

  /** Moves one alert: `candidate` carries this evaluation's labels/annotations/value, `prev` the state so far. */
  private step(candidate: Alert, prev: Alert | undefined, cond: Condition, at: number, timing: {forMs: number; keepFiringForMs: number}, work: GroupWork, health: RuleHealth, error?: string): Alert | undefined {
    const from: AlertState = prev?.state ?? 'inactive'
    const next = nextState(prev ? seriesState(prev) : undefined, cond, at, timing)
    if (!next) return undefined
    const alert: Alert = {
      ...candidate,
      state: next.state,
      activeAt: next.activeAt,
      firedAt: next.firedAt,
      resolvedAt: next.resolvedAt,
      keptFiringSince: next.keptFiringSince,
      lastEvalAt: at,
      health: health === 'unknown' ? 'ok' : health,
      error,
    }
    if (alert.resolvedAt === undefined) delete alert.resolvedAt
    if (alert.firedAt === undefined) delete alert.firedAt
    if (alert.keptFiringSince === undefined) delete alert.keptFiringSince
    if (alert.error === undefined) delete alert.error
    work.touched.set(alert.fingerprint, alert)
    if (next.state !== from) {
      work.transitions.push({alert, from, to: next.state, at})
      if (next.state === 'resolved') work.resolved.push(alert)
    }

    return alert
  }

  private buildAlert(rule: AlertRule, group: RuleGroup, sampleLabels: Record<string, string>, value: number | null, at: number): Alert {
    const base: Record<string, string> = {}
    for (const k in sampleLabels) if (sampleLabels[k] !== '') base[k] = sampleLabels[k]
    const externalLabels = this.opts.externalLabels
    for (const k in rule.labels) {
      const v = rule.labels[k].render({labels: sampleLabels, value, externalLabels})
      if (v === '') delete base[k]
      else base[k] = v
    }

    base.alertname = rule.name
    const labels: Record<string, string> = {}
    for (const k of Object.keys(base).sort()) labels[k] = base[k]
    const annotations: Record<string, string> = {}
    for (const k in rule.annotations) annotations[k] = rule.annotations[k].render({labels, value, externalLabels})
    return {fingerprint: alertFingerprint(group.name, labels), group: group.name, labels, annotations, state: 'inactive', value, activeAt: at, lastEvalAt: at, rule: rule.id}
  }

  private track(a: Alert): void {
    // another rule that gave the same labels before hands the alert over
    const before = this.active.get(a.fingerprint)
    if (before && before.rule !== a.rule) this.untrack(before)
    this.active.set(a.fingerprint, a)
    const id = a.rule ?? ''
    let set = this.byRule.get(id)
    if (!set) {
      set = new Set()
      this.byRule.set(id, set)
    }

    set.add(a.fingerprint)
  }

  private untrack(a: Alert): void {
    this.active.delete(a.fingerprint)
    const set = this.byRule.get(a.rule ?? '')
    set?.delete(a.fingerprint)
    if (set && set.size === 0) this.byRule.delete(a.rule ?? '')
  }

  private async push(group: RuleGroup, resolved: Alert[], at: number): Promise<void> {
    if (!this.opts.sink) return
    const firing = [...this.active.values()].filter((a) => a.group === group.name && a.state === 'firing')
    if (firing.length === 0 && resolved.length === 0) return
    try {
      await this.opts.sink.push([...firing, ...resolved], at)
    } catch (error) {
      this.log.error('alert sink failed', {group: group.name, error: errorMessage(error)})
    }
  }

  private async writePoints(points: Point[]): Promise<void> {
    if (!this.writeSeries || points.length === 0) return
    try {
      await this.store.write(points)
    } catch (error) {
      // the state is safe in state.db; the series is for dashboards
      this.log.warn('cannot write alert series to the store', {points: points.length, error: errorMessage(error)})
    }
  }

  private statsPoint(at: number): Point {
    const s = this.stats()
    const counts = this.peopleCounts() ?? s
    const fields: Point['fields'] = {
      rules: BigInt(s.rules),
      rule_evaluations: BigInt(s.evaluations),
      rule_errors: BigInt(s.ruleErrors),
      alerts_pending: BigInt(counts.pending),
      alerts_firing: BigInt(counts.firing),
    }
    if (s.cache) {
      fields.cache_hits = BigInt(s.cache.hits)
      fields.cache_misses = BigInt(s.cache.misses)
      fields.cache_hit_ratio = s.cache.hitRatio
    }

    if (this.lastCycleMs !== undefined) fields.cycle_ms = this.lastCycleMs
    return {measurement: 'mon_internal', tags: {...this.opts.internalTags, component: 'rules'}, fields, ts: at}
  }

  /** {@link RuleEngineOptions.countAlerts}; undefined (the engine's own count is used) if it fails */
  private peopleCounts(): {firing: number; pending: number} | undefined {
    if (!this.opts.countAlerts) return undefined
    try {
      return this.opts.countAlerts()
    } catch (error) {
      this.log.warn('cannot count alerts as people see them; mon_internal counts the engine\'s states', {error: errorMessage(error)})
      return undefined
    }
  }

  activeAlerts(): Alert[] {
    const rank = (a: Alert) => (a.state === 'firing' ? 0 : 1)
    return [...this.active.values()].sort((a, b) => rank(a) - rank(b) || a.activeAt - b.activeAt || (a.fingerprint < b.fingerprint ? -1 : 1))
  }

  getAlert(fingerprint: string): Alert | undefined {
    return this.active.get(fingerprint) ?? this.reader.get(fingerprint)
  }

  history(fingerprint: string, limit = 100): AlertTransition[] {
    return this.reader.history({fingerprint, limit})
  }

  ruleStatus(): RuleStatus[] {
    return this.groups.flatMap((g) =>
      g.rules.map((r) => this.status.get(r.id) ?? {id: r.id, type: r.type, group: g.name, name: r.name, health: 'unknown' as const, samples: 0, activeAlerts: this.byRule.get(r.id)?.size ?? 0}),
    )
  }

  stats(): EngineStats {
    let pending = 0
    let firing = 0
    for (const a of this.active.values()) {
      if (a.state === 'firing') firing++
      else pending++
    }

    return {
      groups: this.groups.length,
      rules: this.ruleIds.size,
      ...this.counters,
      pending,
      firing,
      lastCycleMs: this.lastCycleMs,
      cache: this.cache?.stats(),
    }
  }
}

/**
 * Whether the store still has raw points for a read (the embedded store rolls old raw points up);
 * a store that cannot say is asked nothing and answers for itself.
 */
function rawCoverage(store: Store): ((plan: QueryPlan) => boolean) | undefined {
  if (!hasTierRouting(store)) return undefined
  return (plan) => {
    try {
      return store.tierFor(plan).tier.resolution === 0
    } catch {
      return false
    }
  }
}

function seriesState(a: Alert): SeriesState {
  return {state: a.state, activeAt: a.activeAt, firedAt: a.firedAt, resolvedAt: a.resolvedAt, keptFiringSince: a.keptFiringSince}
}

/** A transition as a point of measurement `alerts` (Prometheus' ALERTS): value 1 while pending/firing, 0 after. */
export function alertsPoint(t: AlertTransition): Point {
  const fields: Point['fields'] = {value: t.to === 'pending' || t.to === 'firing' ? 1 : 0}
  if (t.alert.value !== null && Number.isFinite(t.alert.value)) fields.metric_value = t.alert.value
  return {measurement: 'alerts', tags: {...t.alert.labels, alertstate: t.to}, fields, ts: t.at}
}

/**
 * A transition as an event (docs/events.md): source `alerts`, tags alertname, severity (when the
 * rule sets it) and alertstate, title "HighCpu firing on web-01" (the host or instance label), text
 * the summary annotation.
 */
export function alertEventPoint(t: AlertTransition): Point {
  const labels = t.alert.labels
  const name = labels.alertname ?? t.alert.rule ?? 'alert'
  const where = labels.host ?? labels.instance
  const tags: Record<string, string> = {alertname: name, alertstate: t.to}
  if (labels.severity) tags.severity = labels.severity
  return eventPoint({source: 'alerts', title: `${name} ${t.to}${where ? ` on ${where}` : ''}`, text: t.alert.annotations.summary, tags, ts: t.at})
}

/** What a transition writes when the engine writes series (writeSeries): the `alerts` series point and the event. */
function transitionPoints(t: AlertTransition): Point[] {
  return [alertsPoint(t), alertEventPoint(t)]
}

async function mapLimit<T, R>(items: readonly T[], limit: number, fn: (item: T) => Promise<R>): Promise<R[]> {
  const out = new Array<R>(items.length)
  let next = 0
  const worker = async (): Promise<void> => {
    while (next < items.length) {
      const i = next++
      out[i] = await fn(items[i])
    }
  }

  await Promise.all(Array.from({length: Math.min(limit, items.length)}, worker))
  return out
}
