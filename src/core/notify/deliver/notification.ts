import {randomUUID} from 'node:crypto'
import {commonPairs} from './render.js'
import type {Notification, NotificationAlert, NotificationKind} from '../types.js'

/** A notification about some alerts of one group, with Alertmanager's common labels and annotations. */
export function buildNotification(opts: {
  kind: NotificationKind
  receiver: string
  groupKey: string
  groupLabels: Record<string, string>
  alerts: NotificationAlert[]
  now: number
  externalURL?: string
  message?: string
}): Notification {
  const firing = opts.alerts.some((a) => a.status === 'firing')
  const n: Notification = {
    id: randomUUID(),
    kind: opts.kind,
    receiver: opts.receiver,
    groupKey: opts.groupKey,
    status: firing ? 'firing' : 'resolved',
    groupLabels: opts.groupLabels,
    commonLabels: commonPairs(opts.alerts.map((a) => a.labels)),
    commonAnnotations: commonPairs(opts.alerts.map((a) => a.annotations)),
    alerts: opts.alerts,
    createdAt: opts.now,
  }
  if (opts.externalURL) n.externalURL = opts.externalURL
  if (opts.message) n.message = opts.message
  return n
}
