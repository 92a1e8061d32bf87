import {Flags} from '@oclif/core'
import {actOnAlerts, splitIdsAndNote, type ActionOutcomeView} from '../../cli/alert-actions.js'
import {BaseCommand} from '../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../cli/incidents-context.js'
import {InputError} from '../../core/errors.js'

export default class AlertsComment extends BaseCommand {
  static override summary = 'Add a note to alerts’ incidents (shown in mon alerts show and the history).'
  static override description = `Works in any state, also after the alert resolved (post-mortem notes). Give one or more ids, then the note: quoted, or as several words. Every leading argument that names an alert is an id; with -m every argument is an id. Every id is checked before anything is written. --json gives one outcome per alert, as mon alerts ack does.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    `<%= config.bin %> <%= command.id %> 3f9a 'restarted postgres, watching replication lag'`,
    '<%= config.bin %> <%= command.id %> 3f9a rolled back deploy 2026-11-25.3 --by alice',
    `<%= config.bin %> <%= command.id %> 3f9a 71c0 'same cause: the failed switch'`,
    `<%= config.bin %> <%= command.id %> 3f9a 71c0 -m 'same cause: the failed switch'`,
  ]

  static override flags = {
    comment: Flags.string({char: 'm', description: 'the note; then every argument is an alert id'}),
    by: actorFlag,
    ...remoteFlags,
  }

  async run(): Promise<ActionOutcomeView[]> {
    const {argv, flags} = await this.parse(AlertsComment)
    const args = argv as string[]
    const ctx = await openIncidents(flags)
    try {
      if (flags.comment !== undefined && args.length === 0) throw new InputError('missing alert id', {hint: "e.g. mon alerts comment 3f9a -m 'note'"})
      const {ids, note} = flags.comment === undefined ? await splitIdsAndNote(args, ctx.incidents) : {ids: args, note: flags.comment}
      if (note.trim() === '') throw new InputError('the note is empty', {hint: 'say what happened, e.g. -m "restarted postgres"'})
      const by = ctx.actor(flags.by)
      return await actOnAlerts(ctx.incidents, ids, (fp) => ctx.incidents.comment(fp, {by, comment: note}), {quiet: this.jsonEnabled()})
    } finally {
      await ctx.close()
    }
  }
}
