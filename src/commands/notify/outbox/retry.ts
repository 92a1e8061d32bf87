import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../../cli/base.js'
import {openNotifyContext} from '../../../cli/notify-context.js'
import {secretValues} from '../../../core/config/redact.js'
import {InputError} from '../../../core/errors.js'
import {Outbox, Sender, type FlushResult} from '../../../core/notify/index.js'

export default class NotifyOutboxRetry extends BaseCommand {
  static override summary = 'Send dead (or dropped) notifications again.'
  static override description =
    'Marks them pending with a fresh attempt budget; the running daemon sends them on its next tick. With --send, this command sends them (and anything else that is due) now, reports what happened, and exits 1 if something still failed.'
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    '<%= config.bin %> <%= command.id %> 3f2a9c1e',
    '<%= config.bin %> <%= command.id %> --dead',
    '<%= config.bin %> <%= command.id %> --dead --send',
  ]

  static override args = {ids: Args.string({description: 'notification ids (or unique prefixes, at least 4 characters)'})}
  static override flags = {
    dead: Flags.boolean({description: 'every dead notification'}),
    send: Flags.boolean({description: 'send now from this process instead of leaving it to the daemon'}),
  }

  async run(): Promise<{retried: number; sent?: FlushResult}> {
    const {argv, flags} = await this.parse(NotifyOutboxRetry)
    const ids = argv as string[]
    if (ids.length === 0 && !flags.dead) throw new InputError('name the notifications to retry, or give --dead', {hint: 'ids are in the first column of: mon notify outbox'})
    if (ids.length > 0 && flags.dead) throw new InputError('give ids or --dead, not both')
    const ctx = await openNotifyContext(flags)
    try {
      const now = ctx.clock.now()
      const outbox = new Outbox(ctx.db())
      const retried = outbox.retry(flags.dead ? {status: 'dead'} : {ids}, now)
      if (!this.jsonEnabled()) this.log(`${retried} notification(s) marked for retry`)
      if (!flags.send) return {retried}
      const sender = new Sender({outbox, resolveChannel: (r, k) => ctx.notify.channel(r, k)?.channel(), clock: ctx.clock, policy: ctx.notify.policy, secrets: secretValues(ctx.loaded)})
      const sent = await sender.flush(now)
      if (!this.jsonEnabled()) this.log(`delivered ${sent.delivered}, will retry ${sent.retried}, dead ${sent.dead}`)
      if (sent.dead > 0 || sent.retried > 0) process.exitCode = 1
      return {retried, sent}
    } finally {
      ctx.close()
    }
  }
}
