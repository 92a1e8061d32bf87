import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {renderAlerts, renderRuleHealth} from '../../cli/render/rules.js'
import {engineOptionsFromConfig} from '../../core/alerting/engine.js'
import {evaluateRulesOnce} from '../../core/alerting/eval-once.js'
import {loadRuleFiles} from '../../core/alerting/rules.js'
import type {Alert, RuleStatus} from '../../core/alerting/types.js'
import {EXIT_RUNTIME, InputError} from '../../core/errors.js'
import {parseTime} from '../../core/query/time.js'
import {plural} from '../../core/format.js'

export interface RulesEvalResult {
  at: string
  alerts: Array<Pick<Alert, 'fingerprint' | 'group' | 'state' | 'labels' | 'annotations' | 'value' | 'rule'> & {activeAt: string; firedAt?: string}>
  /** times as RFC 3339, like `at` and the alerts' times (not epoch ms) */
  rules: Array<Omit<RuleStatus, 'lastEvalAt'> & {lastEvalAt?: string}>
}

export default class RulesEval extends BaseCommand {
  static override summary = 'Evaluate rule files once against the configured store and print what would fire.'
  static override description = `Alert state is not touched and nothing is written: recording rules are evaluated and later rules read their output, from memory. Each group is replayed at its interval over its longest for + keep_firing_for before --at, so alerts that have held long enough show as firing (--no-replay: one evaluation, such alerts show as pending). Exit 1 when a rule's query fails.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/rules/host.yaml',
    '<%= config.bin %> <%= command.id %> rules/disk.yaml --at 2026-11-25T09:00:00Z',
    '<%= config.bin %> <%= command.id %> rules/*.yaml --at 2h --json',
    '<%= config.bin %> <%= command.id %>   # the files in rules.files of the config',
  ]

  static override args = {files: Args.string({description: 'rule files or globs (default: rules.files from the config)'})}
  static override flags = {
    at: Flags.string({description: 'evaluation time: RFC 3339, a duration back from now (2h) or now', default: 'now'}),
    replay: Flags.boolean({description: 'replay each group over its for window so firing shows as firing', default: true, allowNo: true}),
  }

  async run(): Promise<RulesEvalResult> {
    const {argv, flags} = await this.parse(RulesEval)
    const ctx = await openContext(flags)
    try {
      const rules = ctx.loaded.config.rules
      const files = (argv as string[]).length > 0 ? (argv as string[]) : rules.files
      if (files.length === 0) throw new InputError('no rule files given, and rules.files in the config is empty', {hint: 'mon rules eval rules/host.yaml'})
      const groups = await loadRuleFiles(files, {defaultInterval: rules.default_interval})
      const at = parseTime(flags.at, ctx.clock.now(), '--at')
      const out = await evaluateRulesOnce({groups, store: await ctx.store(), at, replay: flags.replay, defaults: engineOptionsFromConfig(rules, ctx.loaded.config.query).defaults})
      if (!this.jsonEnabled()) {
        this.log(out.alerts.length > 0 ? renderAlerts(out.alerts, at) : `nothing pending or firing at ${new Date(at).toISOString()} (${plural(out.rules.length, 'rule')})`)
        for (const r of out.rules) if (r.type === 'record' && r.health === 'ok') this.log(`would record ${r.id}: ${plural(r.samples, 'series', 'series')} (not written)`)
        const health = renderRuleHealth(out.rules)
        if (health) this.warnLine(health)
      }

      if (out.rules.some((r) => r.health === 'error')) process.exitCode = EXIT_RUNTIME
      const iso = (t?: number) => (t === undefined ? undefined : new Date(t).toISOString())
      return {
        at: iso(at)!,
        alerts: out.alerts.map((a) => ({fingerprint: a.fingerprint, group: a.group, rule: a.rule, state: a.state, labels: a.labels, annotations: a.annotations, value: a.value, activeAt: iso(a.activeAt)!, firedAt: iso(a.firedAt)})),
        rules: out.rules.map((r) => ({...r, lastEvalAt: iso(r.lastEvalAt)})),
      }
    } finally {
      await ctx.close()
    }
  }
}
