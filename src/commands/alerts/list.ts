import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openIncidents, remoteFlags} from '../../cli/incidents-context.js'
import {labelMatcher} from '../../core/incidents/service.js'
import {renderAlertList} from '../../cli/render/alerts.js'
import {STATE_FILTERS, type AlertView, type StateFilter} from '../../core/incidents/types.js'
import {parseTime} from '../../core/query/time.js'

export type AlertList = AlertView[]

export default class AlertsList extends BaseCommand {
  static override summary = 'List alerts: ID, severity, labels, state, age and who acknowledged them.'
  static override description = `IDs are the shortest unique prefixes of the alert fingerprints (at least 4 characters); any unique prefix works in the other commands. --state firing (the default) includes acknowledged alerts, shown as "acked"; --state acked shows only those.`
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --state all --since 24h',
    '<%= config.bin %> <%= command.id %> --severity critical --label team=db',
    `<%= config.bin %> <%= command.id %> --label 'host=~"web-.*"' --json`,
    'MON_API_TOKEN=… <%= config.bin %> <%= command.id %> --remote http://monitor.example.com:9464',
    'MON_API_TOKEN=… <%= config.bin %> <%= command.id %> --remote https://monitor.example.com:9464 --ca /etc/mon/ca.pem',
  ]

  static override flags = {
    state: Flags.string({char: 's', description: 'which alerts', options: [...STATE_FILTERS], default: 'firing'}),
    severity: Flags.string({description: 'only these severities (repeatable, or comma-separated)', multiple: true}),
    label: Flags.string({char: 'l', description: 'only alerts with this label: k=v, k!=v, k=~regex (repeatable; all must match)', multiple: true}),
    since: Flags.string({description: 'only alerts whose current state began within this time (1h, 24h, RFC 3339)'}),
    ...remoteFlags,
  }

  async run(): Promise<AlertList> {
    const {flags} = await this.parse(AlertsList)
    for (const l of flags.label ?? []) labelMatcher(l) // a bad flag is a usage error, before anything is opened
    const ctx = await openIncidents(flags, {onBrokenConfigWhileDaemonRuns: (problem) => this.warnLine(`warning: ${problem}`)})
    try {
      const state = flags.state as StateFilter
      const since = flags.since === undefined ? undefined : parseTime(flags.since, ctx.clock.now(), 'since')
      const alerts = await ctx.incidents.list({state, severity: flags.severity, labels: flags.label, since})
      if (!this.jsonEnabled()) this.log(renderAlertList(alerts, {state, width: process.stdout.columns}))
      return alerts
    } finally {
      await ctx.close()
    }
  }
}
