import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openNotifyContext} from '../../cli/notify-context.js'
import {renderOutbox} from '../../cli/render/notify.js'
import {Outbox, type OutboxItem} from '../../core/notify/index.js'
import type {OutboxStatus} from '../../core/notify/types.js'

export interface OutboxListing {
  counts: Record<OutboxStatus, number>
  items: OutboxItem[]
}

export default class NotifyOutbox extends BaseCommand {
  static override summary = 'List the notification outbox: pending, retrying and dead notifications.'
  static override description =
    'Every notification is written here before it is sent. By default lists what is not delivered yet (pending, sending, dead). Dead notifications failed for good or too often: fix the cause, then `mon notify outbox retry`, or give up with `mon notify outbox drop`.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --status dead',
    '<%= config.bin %> <%= command.id %> --status all --limit 20 --json',
  ]

  static override flags = {
    status: Flags.string({
      char: 's',
      description: 'which notifications',
      options: ['undelivered', 'pending', 'sending', 'dead', 'delivered', 'dropped', 'all'],
      default: 'undelivered',
    }),
    limit: Flags.integer({char: 'n', description: 'at most this many (newest first)', default: 50, min: 1}),
  }

  async run(): Promise<OutboxListing> {
    const {flags} = await this.parse(NotifyOutbox)
    const ctx = await openNotifyContext(flags)
    try {
      const outbox = new Outbox(ctx.db())
      const result = {counts: outbox.counts(), items: outbox.list({status: flags.status as OutboxStatus | 'all' | 'undelivered', limit: flags.limit})}
      if (!this.jsonEnabled()) this.log(renderOutbox(result.items, result.counts, ctx.clock.now()))
      return result
    } finally {
      ctx.close()
    }
  }
}
