import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../../cli/base.js'
import {openNotifyContext} from '../../../cli/notify-context.js'
import {InputError} from '../../../core/errors.js'
import {Outbox} from '../../../core/notify/index.js'

export default class NotifyOutboxDrop extends BaseCommand {
  static override summary = 'Give up on notifications: they are never sent (kept as "dropped" for the record).'
  static override enableJsonFlag = true
  static override strict = false
  static override examples = ['<%= config.bin %> <%= command.id %> 3f2a9c1e 77b0d2aa', '<%= config.bin %> <%= command.id %> --dead', '<%= config.bin %> <%= command.id %> --pending']

  static override args = {ids: Args.string({description: 'notification ids (or unique prefixes, at least 4 characters)'})}
  static override flags = {
    dead: Flags.boolean({description: 'every dead notification', exclusive: ['pending']}),
    pending: Flags.boolean({description: 'every pending notification (e.g. after an outage made them pointless)', exclusive: ['dead']}),
  }

  async run(): Promise<{dropped: number}> {
    const {argv, flags} = await this.parse(NotifyOutboxDrop)
    const ids = argv as string[]
    if (ids.length === 0 && !flags.dead && !flags.pending) throw new InputError('name the notifications to drop, or give --dead or --pending', {hint: 'ids are in the first column of: mon notify outbox'})
    if (ids.length > 0 && (flags.dead || flags.pending)) throw new InputError('give ids or --dead/--pending, not both')
    const ctx = await openNotifyContext(flags)
    try {
      const dropped = new Outbox(ctx.db()).drop(flags.dead ? {status: 'dead'} : flags.pending ? {status: 'pending'} : {ids}, ctx.clock.now())
      if (!this.jsonEnabled()) this.log(`${dropped} notification(s) dropped`)
      return {dropped}
    } finally {
      ctx.close()
    }
  }
}
