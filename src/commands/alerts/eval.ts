import {Flags} from '@oclif/core'
import {formatAlertCounts} from '../../cli/render/alerts.js'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {createCliLogger} from '../../cli/log.js'
import {fixedClock, systemClock} from '../../core/clock.js'
import {parseDuration} from '../../core/config/duration.js'
import {parseTime} from '../../core/query/time.js'
import {secretValues} from '../../core/config/redact.js'
import {alertsEvalOnce, type AlertsEvalOnceSummary} from '../../core/daemon/cron.js'
import {EXIT_RUNTIME, InputError} from '../../core/errors.js'
import {systemTimer} from '../../core/scheduler/timer.js'
import {plural} from '../../core/format.js'
import {EVAL_ONCE_SECTIONS} from '../../core/config/load.js'

export default class AlertsEval extends BaseCommand {
  static override summary = 'Evaluate the rules once and deliver notifications: cron mode, for setups without `mon daemon`.'
  static override description = `Evaluates each rule group of rules.files that is due (its interval or cron schedule has come since its last evaluation; --all for every group), with alert state kept in state.db between runs so \`for:\` holds across runs, then routes the alerts and sends what is due through the outbox, and exits. group_wait does not apply (each run is one instant); notifications that fail are retried by the next run.

Refuses when a mon daemon runs on the same data dir; waits for an earlier run that is still going (up to --lock-wait). Exit status: 0 ok, 1 a rule failed or a notification could not be delivered (yet), 2 bad config or rule files. \`mon install crontab\` prints the line.`
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> --once',
    '<%= config.bin %> <%= command.id %> --once --all --json',
    '<%= config.bin %> <%= command.id %> --once --all --at 2026-11-25T09:00:00Z   # as a run at that time would',
    '* * * * * <%= config.bin %> <%= command.id %> --once --config /etc/mon/mon.yaml >/dev/null   # crontab line',
  ]

  static override flags = {
    once: Flags.boolean({description: 'evaluate once and exit (required: continuous evaluation is `mon daemon`)'}),
    all: Flags.boolean({description: 'evaluate every group, not only those that are due'}),
    'lock-wait': Flags.string({description: 'how long to wait for an earlier run that is still going', default: '30s'}),
    timeout: Flags.string({description: 'how long to keep sending notifications (the rest is retried by the next run)', default: '30s'}),
    at: Flags.string({description: "evaluate as of this time instead of now (RFC 3339, epoch, or a duration back: 10m); for replaying what a cron run saw"}),
  }

  async run(): Promise<AlertsEvalOnceSummary> {
    const {flags} = await this.parse(AlertsEval)
    if (!flags.once) throw new InputError('mon alerts eval needs --once', {hint: 'continuous evaluation runs in `mon daemon`; for cron: mon alerts eval --once'})
    const at = flags.at === undefined ? undefined : parseTime(flags.at, systemClock.now(), '--at')
    const ctx = await openContext(flags, {clock: at === undefined ? undefined : fixedClock(at), sections: EVAL_ONCE_SECTIONS})
    try {
      const log = createCliLogger({...ctx.loaded.config.log, level: this.debugEnabled() ? 'debug' : 'warn'}, {secrets: secretValues(ctx.loaded)})
      const out = await alertsEvalOnce({
        loaded: ctx.loaded,
        store: () => ctx.store(),
        clock: ctx.clock,
        timer: systemTimer,
        log,
        all: flags.all,
        lockWaitMs: parseDuration(flags['lock-wait']),
        deliverTimeoutMs: parseDuration(flags.timeout),
      })
      const n = out.notifications
      if (!this.jsonEnabled()) {
        const evaluated = out.groups.filter((g) => g.evaluated)
        this.log(`evaluated ${evaluated.length} of ${plural(out.groups.length, 'group')} (${plural(evaluated.reduce((s, g) => s + g.rules, 0), 'rule')}): ${formatAlertCounts(out.alerts)}`)
        for (const t of out.transitions) this.log(`  ${t.alertname} (${t.fingerprint.slice(0, 8)}): ${t.from} → ${t.to}`)
        for (const r of out.recorded) this.log(`  recorded ${r.rule}: ${plural(r.points, 'series', 'series')}`)
        if (n.enqueued + n.delivered + n.retried + n.dead > 0) this.log(`notifications: ${n.enqueued} queued, ${n.delivered} delivered${n.retried ? `, ${n.retried} to retry` : ''}${n.dead ? `, ${n.dead} dead` : ''}`)
      }

      for (const e of out.ruleErrors) this.warnLine(`rule ${e.rule} failed: ${e.error}`)
      if (n.retried + n.dead > 0 || n.timedOut) this.warnLine(`${plural(n.stillPending, 'notification')} left in the outbox for the next run${n.dead ? `; ${n.dead} dead (mon notify outbox)` : ''}`)
      if (out.ruleErrors.length > 0 || n.retried + n.dead > 0 || n.timedOut) process.exitCode = EXIT_RUNTIME
      return out
    } finally {
      await ctx.close()
    }
  }
}
