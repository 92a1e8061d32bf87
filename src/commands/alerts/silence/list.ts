import {Flags} from '@oclif/core'
import {BaseCommand} from '../../../cli/base.js'
import {openIncidents, remoteFlags} from '../../../cli/incidents-context.js'
import {renderSilences} from '../../../cli/render/alerts.js'
import type {SilenceView} from '../../../core/incidents/types.js'

export default class SilenceList extends BaseCommand {
  static override summary = 'List silences: active and pending by default, with how many firing alerts each silences.'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --state all --json']

  static override flags = {
    state: Flags.string({char: 's', description: 'which silences (current = active and pending)', options: ['current', 'active', 'pending', 'expired', 'all'], default: 'current'}),
    ...remoteFlags,
  }

  async run(): Promise<SilenceView[]> {
    const {flags} = await this.parse(SilenceList)
    const ctx = await openIncidents(flags)
    try {
      const silences = await ctx.incidents.listSilences({state: flags.state as 'current'})
      if (!this.jsonEnabled()) this.log(renderSilences(silences, ctx.clock.now()))
      return silences
    } finally {
      await ctx.close()
    }
  }
}
