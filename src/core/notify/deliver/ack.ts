import type {Alert} from '../../alerting/types.js'
import type {StateDb} from '../../state/db.js'
import {EscalationStore} from './escalation.js'
import {buildNotification} from './notification.js'
import type {CompiledNotify} from '../notifier.js'
import type {Outbox, OutboxEntry} from './outbox.js'
import {toNotificationAlert} from '../types.js'

/**
 * Telling the channels that an alert is acknowledged. Works from any process (the daemon, or the
 * CLI's `mon alerts ack`): it only writes outbox rows and stops the alert's escalation; whichever
 * sender runs next delivers them.
 *
 * Every channel that was told the alert fires (its original receivers and any escalated to) and
 * can say "acknowledged" gets one: PagerDuty and Opsgenie acknowledge their alert, Slack (with a
 * bot token) replies in the group's thread, and the others post a note if `send_acknowledged`.
 */
export function enqueueAcknowledgement(opts: {
  notify: CompiledNotify
  db: StateDb
  outbox: Outbox
  alert: Alert
  by: string
  comment?: string
  now: number
}): {ids: string[]; escalationsCancelled: number} {
  const {notify, outbox, alert, now} = opts
  const escalationsCancelled = new EscalationStore(opts.db).cancel(alert.fingerprint, now)
  const entries: OutboxEntry[] = []
  for (const target of outbox.notifiedChannelsFor(alert.fingerprint)) {
    const inst = notify.channel(target.receiver, target.channel)
    if (!inst || !inst.sendAcknowledged) continue
    entries.push({
      notification: buildNotification({
        kind: 'acknowledged',
        receiver: target.receiver,
        groupKey: target.groupKey,
        groupLabels: target.groupLabels,
        alerts: [toNotificationAlert(alert, opts.by)],
        now,
        externalURL: notify.externalURL,
        message: opts.comment,
      }),
      channel: inst.key,
      channelType: inst.type,
    })
  }
  return {ids: entries.length > 0 ? outbox.enqueue(entries, now) : [], escalationsCancelled}
}
