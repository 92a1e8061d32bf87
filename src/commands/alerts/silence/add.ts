import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../../cli/incidents-context.js'
import {renderSilence} from '../../../cli/render/alerts.js'
import {parseDuration} from '../../../core/config/duration.js'
import {InputError} from '../../../core/errors.js'
import type {SilenceView} from '../../../core/incidents/types.js'
import {parseTime} from '../../../core/query/time.js'

export default class SilenceAdd extends BaseCommand {
  static override summary = 'Silence alerts matching label matchers for a while: they still fire and are listed, but nobody is notified.'
  static override description = `Matchers are Alertmanager's: name=value, name!=value, name=~regex, name!~regex (regexes match the whole value). All must match. A silence that would match every alert is refused. Quote matchers with regexes or spaces for the shell.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    `<%= config.bin %> <%= command.id %> alertname=DiskAlmostFull host=db-1 --duration 2h --comment 'resizing the volume, JIRA-123'`,
    `<%= config.bin %> <%= command.id %> 'host=~"web-0[1-3]"' --duration 30m --comment 'rolling deploy'`,
    `<%= config.bin %> <%= command.id %> team=db --start 2026-11-28T22:00:00Z --duration 4h --comment 'maintenance window'`,
  ]

  static override args = {matchers: Args.string({description: 'label matchers, e.g. alertname=HighCpu host=web-1', required: true})}
  static override flags = {
    duration: Flags.string({char: 'd', description: 'how long (30m, 2h, 1d)', default: '2h'}),
    start: Flags.string({description: 'when it starts (default: now)'}),
    comment: Flags.string({char: 'm', description: 'why: shown with the silence and in the audit trail', required: true}),
    by: actorFlag,
    ...remoteFlags,
  }

  async run(): Promise<SilenceView> {
    const {argv, flags} = await this.parse(SilenceAdd)
    let durationMs: number
    try {
      durationMs = parseDuration(flags.duration)
    } catch {
      throw new InputError(`invalid --duration '${flags.duration}'`, {hint: 'e.g. 30m, 2h, 1d'})
    }
    if (durationMs <= 0) throw new InputError('--duration must be more than 0')
    const ctx = await openIncidents(flags, {createDataDir: true})
    try {
      const now = ctx.clock.now()
      const startsAt = flags.start === undefined ? undefined : parseTime(flags.start, now, 'start')
      const silence = await ctx.incidents.addSilence({matchers: argv as string[], durationMs, startsAt, comment: flags.comment, by: ctx.actor(flags.by)})
      if (!this.jsonEnabled()) this.log(renderSilence(silence, 'created', now))
      return silence
    } finally {
      await ctx.close()
    }
  }
}
