/** The daemon's collection: inputs on their schedules and the push listener → spool → store. */
import {isReadOnlyStore} from '../../store/types.js'
import {buildInputs, collectorContext} from '../../collectors/registry.js'
import {errorMessage} from '../../errors.js'
import {forwarding} from '../../cluster/forward.js'
import {createAgent, type Agent, type AgentStopSummary} from '../../pipeline/agent.js'
import type {ComponentContext, DaemonComponent} from '../component.js'

export interface CollectionComponent extends DaemonComponent {
  /** inputs running (for the start log line) */
  readonly inputs: number
  /** what the last stop wrote and left in the spool */
  readonly stopped: AgentStopSummary
}

export function collectionComponent(ctx: ComponentContext): CollectionComponent {
  let agent: Agent | undefined
  let stopped: AgentStopSummary = {written: 0, pending: 0, drained: true}
  return {
    name: 'inputs',
    get inputs() {
      return agent?.inputs.length ?? 0
    },
    get stopped() {
      return stopped
    },
    check(next) {
      buildInputs(next.loaded.config, collectorContext(next.loaded.config, ctx.dataDir, ctx.clock, ctx.log))
    },
    async start(cfg) {
      if (isReadOnlyStore(ctx.store) && !forwarding(cfg.loaded.config.cluster)) {
        // a Prometheus store: it scrapes for itself; rules, notifications and incidents still run
        ctx.log.warn('the store is read-only: inputs are not collected (the daemon evaluates rules, notifies and runs incidents)', {store: ctx.store.kind})
        return
      }

      agent = await createAgent({config: cfg.loaded.config, dataDir: ctx.dataDir, store: ctx.store, clock: ctx.clock, timer: ctx.timer, log: ctx.log, random: ctx.random})
      await agent.start()
    },
    async apply(next) {
      if (!agent) return 'inputs: none (read-only store)'
      await agent.reload(next.loaded.config)
      return `inputs: ${agent.inputs.length}`
    },
    async stop(deadline) {
      if (!agent) return
      stopped = await agent.stop(Math.max(0, deadline - ctx.clock.now())).catch((err) => {
        ctx.log.error('stopping collection failed; unwritten points stay in the spool', {error: errorMessage(err)})
        return {written: 0, pending: 0, drained: false}
      })
    },
    status() {
      return agent ? {agent: agent.status()} : {}
    },
  }
}
