import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openIncidents, remoteFlags} from '../../cli/incidents-context.js'
import {renderAlertDetail} from '../../cli/render/alerts.js'
import type {AlertDetail} from '../../core/incidents/types.js'

export default class AlertsShow extends BaseCommand {
  static override summary = 'Show one alert: labels, annotations, value and its timeline.'
  static override description = `The timeline lists, in order: when it went pending and fired, every notification sent (channel and result: delivered, retrying, dead), escalation steps, acknowledgements and comments with who and from where, and the resolution. By default the current episode only; --all includes earlier ones (an alert that resolved and fired again is a new incident).`
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %> 3f9a', '<%= config.bin %> <%= command.id %> 3f9a2c1b --all', '<%= config.bin %> <%= command.id %> 3f9a --json']

  static override args = {id: Args.string({description: 'alert id (a unique prefix of the fingerprint, from mon alerts list)', required: true})}
  static override flags = {
    all: Flags.boolean({description: 'the whole history of the alert, not just its current episode'}),
    ...remoteFlags,
  }

  async run(): Promise<AlertDetail> {
    const {args, flags} = await this.parse(AlertsShow)
    const ctx = await openIncidents(flags)
    try {
      const detail = await ctx.incidents.get(args.id, {allEpisodes: flags.all})
      if (!this.jsonEnabled()) this.log(renderAlertDetail(detail))
      return detail
    } finally {
      await ctx.close()
    }
  }
}
