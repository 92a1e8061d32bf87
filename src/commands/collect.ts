import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {buildInputs, collectorContext} from '../core/collectors/registry.js'
import {UserError} from '../core/errors.js'
import {silentLogger} from '../core/log.js'
import {collectOnce, type CollectSummary} from '../core/pipeline/once.js'

export type CollectResult = CollectSummary & {store: string}

export default class Collect extends BaseCommand {
  static override summary = 'Collect metrics from the configured inputs and store them.'
  static override description = 'With --once, every input runs once (cron-friendly); the default input is host metrics with Telegraf names.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> --once',
    '<%= config.bin %> <%= command.id %> --once --input host --json',
    '*/1 * * * * <%= config.bin %> <%= command.id %> --once --config /etc/mon/mon.yaml   # crontab line',
  ]

  static override flags = {
    once: Flags.boolean({description: 'run every input once, write, and exit'}),
    input: Flags.string({char: 'i', description: 'only this input (name or kind); repeatable', multiple: true}),
    timeout: Flags.string({description: 'per-input time limit for --once', default: '30s'}),
  }

  async run(): Promise<CollectResult> {
    const {flags} = await this.parse(Collect)
    if (!flags.once) throw new UserError('continuous collection is not available yet; use --once (e.g. from cron)', {exitCode: 2})
    const ctx = await openContext(flags)
    try {
      const {config} = ctx.loaded
      const inputs = buildInputs(config, collectorContext(config, ctx.loaded.dataDir, ctx.clock, silentLogger), flags.input)
      if (inputs.length === 0) throw new UserError('no inputs to run', {hint: 'enable inputs in the config (mon config init writes a sample)', exitCode: 2})
      const store = await ctx.store()
      const {parseDuration} = await import('../core/config/duration.js')
      const summary = await collectOnce(inputs, (points) => store.write(points), {timeout: parseDuration(flags.timeout)})
      const result = {...summary, store: ctx.storeName}
      if (!this.jsonEnabled()) {
        for (const r of summary.runs) if (r.error) this.warnLine(`input ${r.input} failed: ${r.error}`)
        this.log(`wrote ${summary.points} points from ${summary.inputs - summary.failed} input${summary.inputs - summary.failed === 1 ? '' : 's'} to ${ctx.storeName}`)
      }

      if (summary.failed > 0) process.exitCode = 1
      return result
    } finally {
      await ctx.close()
    }
  }
}
