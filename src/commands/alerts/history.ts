import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openIncidents, remoteFlags} from '../../cli/incidents-context.js'
import {renderHistory} from '../../cli/render/alerts.js'
import type {HistoryEntry} from '../../core/incidents/types.js'
import {parseTime} from '../../core/query/time.js'

export default class AlertsHistory extends BaseCommand {
  static override summary = 'What happened: alerts firing and resolving, and every ack, comment, resolve and silence, with who and from where.'
  static override description = `Newest first. The actions come from the audit trail in state.db (refused API requests included, as auth_failed with the remote address); firing and resolving from the rule engine's history (kept rules.history_retention, default 30d).`
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --since 24h --id 3f9a', '<%= config.bin %> <%= command.id %> --since 2026-11-01 --limit 1000 --json']

  static override flags = {
    since: Flags.string({description: 'from (a duration back from now, or RFC 3339)', default: '7d'}),
    until: Flags.string({description: 'until (default: now)'}),
    id: Flags.string({description: 'only this alert (an id prefix)'}),
    limit: Flags.integer({char: 'n', description: 'at most this many entries', default: 200, min: 1}),
    ...remoteFlags,
  }

  async run(): Promise<HistoryEntry[]> {
    const {flags} = await this.parse(AlertsHistory)
    const ctx = await openIncidents(flags)
    try {
      const now = ctx.clock.now()
      const since = parseTime(flags.since, now, 'since')
      const until = flags.until === undefined ? undefined : parseTime(flags.until, now, 'until')
      const entries = await ctx.incidents.history({since, until, id: flags.id, limit: flags.limit})
      if (!this.jsonEnabled()) this.log(renderHistory(entries))
      return entries
    } finally {
      await ctx.close()
    }
  }
}
