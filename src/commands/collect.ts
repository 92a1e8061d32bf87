import {Flags} from '@oclif/core'
import {requireWritableStore} from '../core/store/open.js'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {createCliLogger} from '../cli/log.js'
import {handleSignals} from '../cli/signals.js'
import {renderCollectStart, renderOnceSummary} from '../cli/render/collect.js'
import {buildInputs, collectorContext, inputNames} from '../core/collectors/registry.js'
import {createSharding} from '../core/cluster/shard-filter.js'
import {didYouMean} from '../core/did-you-mean.js'
import {secretValues} from '../core/config/redact.js'
import {parseDuration} from '../core/config/duration.js'
import {InputError, UserError} from '../core/errors.js'
import {createAgent, SELF_INPUT, type AgentStopSummary, type InputStatus} from '../core/pipeline/agent.js'
import {runOnce, type OnceSummary} from '../core/pipeline/once.js'
import {whenSpoolIsFree} from '../core/daemon/cron.js'
import {systemTimer} from '../core/scheduler/timer.js'
import {plural} from '../core/format.js'
import {COLLECT_SECTIONS} from '../core/config/load.js'
import {forwarding, openForwarder, type StreamForwarder} from '../core/cluster/forward.js'
import {clusterNames} from '../core/cluster/nats.js'

export type CollectResult = {store: string} & (({mode: 'once'} & OnceSummary) | ({mode: 'continuous'; inputs: InputStatus[]} & AgentStopSummary))

export default class Collect extends BaseCommand {
  static override summary = 'Collect metrics from the configured inputs into the store, continuously or once.'
  static override description = `Runs every input on its interval (with jitter) and the push listener until SIGINT/SIGTERM, then writes what is spooled and exits. Points go through the disk spool (<data_dir>/spool), so a store outage or a crash loses nothing: they are written when the store is back, or by the next run. With --once every input runs once (for cron) through the same spool. See docs/collectors.md and docs/pipeline.md.`
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --input host --input http:api',
    '<%= config.bin %> <%= command.id %> --once --json',
    '*/1 * * * * <%= config.bin %> <%= command.id %> --once --config /etc/mon/mon.yaml   # crontab line',
  ]

  static override flags = {
    once: Flags.boolean({description: 'run every input once, write to the store, and exit (the listener is not started)'}),
    input: Flags.string({char: 'i', description: 'only this input (name such as http:api, or kind such as http); repeatable', multiple: true}),
    timeout: Flags.string({description: 'per-input time limit for --once', default: '30s'}),
    optimize: Flags.boolean({description: "continuous mode: keep V8's defaults (optimizing compiler from the start, no periodic full GC; see docs/daemon.md#memory)"}),
    'drain-timeout': Flags.string({description: 'how long to keep writing to the store at exit (--once: after collecting)', default: '10s'}),
    'lock-wait': Flags.string({description: '--once: how long to wait while another `mon collect --once` holds the spool (two crontab lines in the same minute); refuses at once if a daemon holds it', default: '45s'}),
  }

  async run(): Promise<CollectResult> {
    const {flags} = await this.parse(Collect)
    const [timeout, drain] = [parseDuration(flags.timeout), parseDuration(flags['drain-timeout'])]
    const ctx = await openContext(flags, {sections: COLLECT_SECTIONS})
    const {config, dataDir} = ctx.loaded
    // cluster.forward: points go to the cluster's points stream (docs/cluster.md#pipeline), not the store
    const forward = forwarding(config.cluster)
    if (config.cluster.forward && !config.cluster.enabled) this.warnLine('warning: cluster.forward is ignored while cluster.enabled is false: points go to the store')
    if (!forward) requireWritableStore(config.store, 'store collected points (mon collect)')
    const storeName = forward ? `nats:${clusterNames(config.cluster).pointsStream}` : ctx.storeName
    const log = createCliLogger(config.log, {secrets: secretValues(ctx.loaded), debug: this.debugEnabled()})
    const known = [...inputNames(config), ...new Set(buildInputs(config, collectorContext(config, dataDir, ctx.clock, log)).map((i) => i.kind)), SELF_INPUT]
    for (const name of flags.input ?? []) {
      if (!known.includes(name)) throw new InputError(`--input ${name}: no such input`, {hint: `${didYouMean(name, known) ? `did you mean ${didYouMean(name, known)}? ` : ''}configured: ${known.join(', ')}`})
    }
    let forwarder: StreamForwarder | undefined
    try {
      if (flags.once) {
        // a static shard (i/N) holds in cron mode too; auto sharding needs a long-running collector
        const shard = createSharding(config, {clock: ctx.clock, timer: systemTimer, log, once: true})?.filter
        const inputs = buildInputs(config, {...collectorContext(config, dataDir, ctx.clock, log), ...(shard ? {shard} : {})}, flags.input)
        if (inputs.length === 0) throw new UserError('no inputs to run', {hint: 'enable inputs in the config (mon config init writes a sample)', exitCode: 2})
        const summary = await whenSpoolIsFree(dataDir, {waitMs: parseDuration(flags['lock-wait']), clock: ctx.clock, timer: systemTimer}, () =>
          runOnce({config, dataDir, inputs, store: forward ? async () => (forwarder = await openForwarder(config.cluster, {log})) : () => ctx.store(), clock: ctx.clock, log, timeout, flushTimeout: drain}),
        )
        const text = renderOnceSummary(summary, storeName)
        if (!this.jsonEnabled()) for (const l of text.out) this.log(l)
        for (const l of text.err) this.warnLine(l)
        if (summary.failed > 0 || summary.pending > 0) process.exitCode = 1
        return {mode: 'once', ...summary, store: storeName}
      }
      const agent = await createAgent({config, dataDir, store: () => ctx.store(), clock: ctx.clock, log, only: flags.input})
      await agent.start()
      for (const l of renderCollectStart(agent, storeName)) this.warnLine(l)
      const signal = await handleSignals().stopped
      this.warnLine(`${signal}: stopping; writing what is spooled (up to ${flags['drain-timeout']}, Ctrl-C again to quit now)`)
      const summary = await agent.stop(drain)
      const inputs = agent.status().inputs
      this.warnLine(`wrote ${plural(summary.written, 'point')}${summary.pending > 0 ? `; ${summary.pending} left in the spool for the next run` : ''}`)
      return {mode: 'continuous', ...summary, inputs, store: storeName}
    } finally {
      await forwarder?.close().catch(() => {})
      await ctx.close()
    }
  }
}
