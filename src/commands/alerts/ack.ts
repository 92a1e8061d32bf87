import {Args, Flags} from '@oclif/core'
import {actOnAlerts, type ActionOutcomeView} from '../../cli/alert-actions.js'
import {BaseCommand} from '../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../cli/incidents-context.js'
import {InputError, UserError} from '../../core/errors.js'
import {canPick, pickAlerts} from '../../tui/picker/index.js'

export default class AlertsAck extends BaseCommand {
  static override summary = 'Acknowledge alerts: no more repeat notifications or escalation; PagerDuty/Opsgenie/Slack are told.'
  static override description = `Without ids, on a terminal, opens a picker (up/down, space to select, enter, then an optional comment). If someone else acknowledged the alert first, nothing changes and you are told who (exit 1). A resolved alert cannot be acknowledged; when it fires again that is a new incident. The acknowledgement is queued in the outbox and the daemon delivers it to the channels.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    '<%= config.bin %> <%= command.id %>   # pick from a list',
    `<%= config.bin %> <%= command.id %> 3f9a --comment 'looking into it'`,
    '<%= config.bin %> <%= command.id %> 3f9a 71c0 --by alice@laptop',
    `MON_API_TOKEN=… <%= config.bin %> <%= command.id %> 3f9a --remote http://monitor.example.com:9464 -m 'on it'`,
  ]

  static override args = {id: Args.string({description: 'alert ids (unique prefixes of fingerprints, from mon alerts list); none: pick on a terminal'})}
  static override flags = {
    comment: Flags.string({char: 'm', description: 'a note for the channels and the audit trail'}),
    by: actorFlag,
    ...remoteFlags,
  }

  async run(): Promise<ActionOutcomeView[]> {
    const {argv, flags} = await this.parse(AlertsAck)
    let ids = argv as string[]
    let comment = flags.comment
    const ctx = await openIncidents(flags)
    try {
      if (ids.length === 0) {
        if (!canPick()) throw new InputError('no alert id given, and no terminal to pick from', {hint: 'give the ids: mon alerts ack <id>… (mon alerts list shows them)'})
        const open = (await ctx.incidents.list({state: 'firing'})).filter((a) => a.state === 'firing')
        if (open.length === 0) {
          this.log('nothing to acknowledge: no firing alert is unacknowledged')
          return []
        }
        const picked = await pickAlerts(open, {askComment: comment === undefined})
        if (!picked || picked.alerts.length === 0) throw new UserError('cancelled: nothing acknowledged')
        ids = picked.alerts.map((a) => a.fingerprint)
        comment ??= picked.comment
      }
      const by = ctx.actor(flags.by)
      return await actOnAlerts(ctx.incidents, ids, (fp) => ctx.incidents.ack(fp, {by, comment}), {quiet: this.jsonEnabled()})
    } finally {
      await ctx.close()
    }
  }
}
