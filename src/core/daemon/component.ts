/**
 * A part of the daemon (collection, rules, notifications + incidents, API, retention; later the cluster
 * roles) with one lifecycle: start on a config, apply a reloaded one, stop. The daemon only orders
 * components, holds the locks and assembles status from them (Alertmanager's config coordinator).
 */
import type {LoadedConfig} from '../config/load.js'
import type {RuleGroup} from '../alerting/rules.js'
import type {DaemonFacts} from './types.js'
import {UserError, errorMessage} from '../errors.js'
import type {Clock} from '../clock.js'
import type {Logger} from '../log.js'
import type {Timer} from '../scheduler/timer.js'
import type {StateDb} from '../state/db.js'
import type {FullStore} from '../store/types.js'

/** What a component runs on: the config file and the rule files it names, both already valid. */
export interface DaemonConfig {
  loaded: LoadedConfig
  groups: RuleGroup[]
}

export interface DaemonComponent<C = DaemonConfig> {
  readonly name: string
  /** Refuses a reloaded config before any component applies it (throws a located error). */
  check?(next: C): void
  start(cfg: C): Promise<void>
  /**
   * Applies a reloaded config. Returns what changed, for the log (nothing: unchanged). Throws if it
   * cannot, and then the previous config keeps running in this component.
   */
  apply(next: C, prev: C): Promise<string | undefined>
  /** Stops within `deadline` (clock ms); never throws: what is left is logged and kept for the next start. */
  stop(deadline: number): Promise<void>
  /** This component's part of the daemon's facts (status file, /healthz, /metrics, `mon status`). */
  status?(): Partial<DaemonFacts>
}

/**
 * Components in stages: started stage by stage in order (one after another within a stage), stopped
 * in reverse stage order (a stage's components at once, sharing the deadline). A failed start stops
 * what had started, in reverse, at once.
 */
export class ComponentSet<C = DaemonConfig> {
  private readonly started: DaemonComponent<C>[] = []

  constructor(private readonly stages: DaemonComponent<C>[][]) {}

  /** In start order: the order checks and reloads are applied in. */
  get all(): DaemonComponent<C>[] {
    return this.stages.flat()
  }

  async start(cfg: C, now: () => number): Promise<void> {
    try {
      for (const c of this.all) {
        await c.start(cfg)
        this.started.push(c)
      }
    } catch (err) {
      await this.stop(now())
      throw err
    }
  }

  check(next: C): void {
    for (const c of this.all) c.check?.(next)
  }

  /**
   * Applies `next` component by component. A component that fails before any change was applied
   * rejects the reload (it throws); one that fails later is reported in `problems` and the rest go on.
   */
  async apply(next: C, prev: C): Promise<{changes: string[]; problems: string[]}> {
    const changes: string[] = []
    const problems: string[] = []
    let applied = 0
    for (const c of this.all) {
      try {
        const change = await c.apply(next, prev)
        if (change) changes.push(change)
        applied++
      } catch (err) {
        if (applied === 0) throw new ComponentApplyError(c.name, err)
        problems.push(`${c.name}: ${describeError(err)}`)
      }
    }
    return {changes, problems}
  }

  async stop(deadline: number): Promise<void> {
    for (const stage of [...this.stages].reverse()) {
      const running = stage.filter((c) => this.started.includes(c))
      await Promise.all(running.map((c) => c.stop(deadline)))
      for (const c of running) this.started.splice(this.started.indexOf(c), 1)
    }
  }

  status(): Partial<DaemonFacts> {
    return Object.assign({}, ...this.all.map((c) => c.status?.() ?? {})) as Partial<DaemonFacts>
  }
}

/** The first component refused a reloaded config: nothing was applied. */
export class ComponentApplyError extends Error {
  constructor(
    readonly component: string,
    readonly reason: unknown,
  ) {
    super(`${component}: ${describeError(reason)}`)
  }
}

/** One line for the log: the message, plus the details and hint of a located config error. */
export function describeError(err: unknown): string {
  if (err instanceof UserError) return [err.message, err.details, err.hint ? `hint: ${err.hint}` : undefined].filter(Boolean).join('\n')
  return errorMessage(err)
}

/** What every component is given: the daemon's clock, timers and logger, and what it holds open. */
export interface ComponentContext {
  clock: Clock
  timer: Timer
  log: Logger
  env: NodeJS.ProcessEnv
  random?: () => number
  dataDir: string
  store: FullStore
  db: StateDb
}
