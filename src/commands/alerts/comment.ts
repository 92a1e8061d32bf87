import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../cli/incidents-context.js'
import {renderActionResult} from '../../cli/render/alerts.js'
import type {ActionResult} from '../../core/incidents/types.js'

export default class AlertsComment extends BaseCommand {
  static override summary = 'Add a note to an alert’s incident (shown in mon alerts show and the history).'
  static override description = 'Works in any state, also after the alert resolved (post-mortem notes). Quote the text, or give it as several words.'
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [`<%= config.bin %> <%= command.id %> 3f9a 'restarted postgres, watching replication lag'`, '<%= config.bin %> <%= command.id %> 3f9a rolled back deploy 2026-11-25.3 --by alice']

  static override args = {
    id: Args.string({description: 'alert id (a unique prefix of the fingerprint)', required: true}),
    text: Args.string({description: 'the note', required: true}),
  }

  static override flags = {by: actorFlag, ...remoteFlags}

  async run(): Promise<ActionResult> {
    const {args, argv, flags} = await this.parse(AlertsComment)
    const text = (argv as string[]).slice(1).join(' ')
    const ctx = await openIncidents(flags)
    try {
      const result = await ctx.incidents.comment(args.id, {by: ctx.actor(flags.by), comment: text})
      if (!this.jsonEnabled()) this.log(renderActionResult(result))
      return result
    } finally {
      await ctx.close()
    }
  }
}
