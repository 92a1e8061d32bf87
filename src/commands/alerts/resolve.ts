import {Args, Flags} from '@oclif/core'
import {actOnAlerts, type ActionOutcomeView} from '../../cli/alert-actions.js'
import {BaseCommand} from '../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../cli/incidents-context.js'

export default class AlertsResolve extends BaseCommand {
  static override summary = 'Resolve an incident by hand: channels get the resolution, escalation stops.'
  static override description = `For alerts that are over but whose rule cannot tell (stale data, a kept_firing_for window). Every channel that was told the alert fires and sends resolutions is told it is resolved (PagerDuty resolve, webhook, Slack …). If the rule's condition still holds, the alert stays quiet and fires as a new incident once it clears and comes back; you are warned.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [`<%= config.bin %> <%= command.id %> 3f9a --comment 'fixed: rotated the certificate'`, '<%= config.bin %> <%= command.id %> 3f9a 71c0']

  static override args = {id: Args.string({description: 'alert ids (unique prefixes of fingerprints)', required: true})}
  static override flags = {
    comment: Flags.string({char: 'm', description: 'what was done, for the channels and the audit trail'}),
    by: actorFlag,
    ...remoteFlags,
  }

  async run(): Promise<ActionOutcomeView[]> {
    const {argv, flags} = await this.parse(AlertsResolve)
    const ctx = await openIncidents(flags)
    try {
      const by = ctx.actor(flags.by)
      return await actOnAlerts(ctx.incidents, argv as string[], (fp) => ctx.incidents.resolve(fp, {by, comment: flags.comment}), {quiet: this.jsonEnabled()})
    } finally {
      await ctx.close()
    }
  }
}
