import {Args, Flags} from '@oclif/core'
import {actOnAlerts, type ActionOutcomeView} from '../../cli/alert-actions.js'
import {BaseCommand} from '../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../cli/incidents-context.js'

export default class AlertsUnack extends BaseCommand {
  static override summary = 'Take back an acknowledgement: repeat notifications resume.'
  static override description = `The alert goes back to firing and its repeat notifications resume at the next repeat_interval. An escalation that the acknowledgement stopped starts again from its first step, its clock from now. Recorded in the audit trail with who and why.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [`<%= config.bin %> <%= command.id %> 3f9a --comment 'handing over to the db team'`, '<%= config.bin %> <%= command.id %> 3f9a 71c0 --json']

  static override args = {id: Args.string({description: 'alert ids (unique prefixes of fingerprints)', required: true})}
  static override flags = {
    comment: Flags.string({char: 'm', description: 'why, for the audit trail'}),
    by: actorFlag,
    ...remoteFlags,
  }

  async run(): Promise<ActionOutcomeView[]> {
    const {argv, flags} = await this.parse(AlertsUnack)
    const ctx = await openIncidents(flags)
    try {
      const by = ctx.actor(flags.by)
      return await actOnAlerts(ctx.incidents, argv as string[], (fp) => ctx.incidents.unack(fp, {by, comment: flags.comment}), {quiet: this.jsonEnabled()})
    } finally {
      await ctx.close()
    }
  }
}
