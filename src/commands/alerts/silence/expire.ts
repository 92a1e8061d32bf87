import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../../cli/base.js'
import {actorFlag, openIncidents, remoteFlags} from '../../../cli/incidents-context.js'
import {renderSilence} from '../../../cli/render/alerts.js'
import {UserError} from '../../../core/errors.js'
import type {SilenceView} from '../../../core/incidents/types.js'

export default class SilenceExpire extends BaseCommand {
  static override summary = 'End silences now (a pending one never starts). They are kept, expired, for the record.'
  static override enableJsonFlag = true
  static override strict = false
  static override examples = ['<%= config.bin %> <%= command.id %> 5d1c2a90', '<%= config.bin %> <%= command.id %> 5d1c 8e02 --comment "maintenance done"']

  static override args = {id: Args.string({description: 'silence ids (or unique prefixes of at least 4 characters)', required: true})}
  static override flags = {
    comment: Flags.string({char: 'm', description: 'why, for the audit trail'}),
    by: actorFlag,
    ...remoteFlags,
  }

  async run(): Promise<SilenceView[]> {
    const {argv, flags} = await this.parse(SilenceExpire)
    const ctx = await openIncidents(flags)
    const out: SilenceView[] = []
    try {
      for (const id of argv as string[]) {
        try {
          const s = await ctx.incidents.expireSilence(id, {by: ctx.actor(flags.by), comment: flags.comment})
          out.push(s)
          if (!this.jsonEnabled()) this.log(renderSilence(s, 'expired', ctx.clock.now()))
        } catch (error) {
          // one unknown or already expired id must not keep the others alive
          if (!(error instanceof UserError) || (argv as string[]).length === 1) throw error
          this.warnLine(`error: ${error.message}`)
          process.exitCode = error.exitCode
        }
      }
      return out
    } finally {
      await ctx.close()
    }
  }
}
