import type {Alert} from '../alerting/types.js'

/**
 * One message to one receiver about one alert group — the unit the outbox stores and a channel
 * sends. The shape follows Alertmanager's webhook payload (version 4) so existing receivers and
 * templates carry over.
 */
export type NotificationKind = 'firing' | 'resolved' | 'acknowledged' | 'escalation' | 'test'

export interface NotificationAlert {
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  fingerprint: string
  value: number | null
  /** who acknowledged, when the alert is acked */
  ackedBy?: string
}

export interface Notification {
  /** outbox id (unique per notification per receiver) */
  id: string
  kind: NotificationKind
  receiver: string
  /** the group this notification is about (Alertmanager's groupKey) */
  groupKey: string
  status: 'firing' | 'resolved'
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  alerts: NotificationAlert[]
  /** link back to mon (daemon API) when configured */
  externalURL?: string
  /** free text for acknowledgements, escalations and tests */
  message?: string
  createdAt: number
  /** the route whose group this is (set by the dispatcher on group notifications; HA mode records it) */
  routeId?: string
  /**
   * HA mode (docs/cluster.md#notifications): the same key on every send of the same group
   * transition by any daemon, so a receiver can drop the one duplicate a notifier killed between
   * send and record can cause. Set right before the send.
   */
  dedupKey?: string
}

/** The seam every channel implements (architecture note). Throw to have the outbox retry. */
export interface Channel {
  name: string
  send(n: Notification, signal: AbortSignal): Promise<void>
}

/** A channel failure that retrying cannot fix (4xx other than 408/429): straight to dead-letter. */
export class PermanentDeliveryError extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'PermanentDeliveryError'
  }
}

/** A retryable failure that says when to come back (HTTP 429/503 Retry-After). */
export class RetryLaterError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number,
  ) {
    super(message)
    this.name = 'RetryLaterError'
  }
}

export function toNotificationAlert(a: Alert, ackedBy?: string): NotificationAlert {
  return {
    status: a.state === 'resolved' ? 'resolved' : 'firing',
    labels: a.labels,
    annotations: a.annotations,
    startsAt: new Date(a.firedAt ?? a.activeAt).toISOString(),
    endsAt: a.resolvedAt ? new Date(a.resolvedAt).toISOString() : '0001-01-01T00:00:00Z',
    fingerprint: a.fingerprint,
    value: a.value,
    ackedBy,
  }
}

// ---------------------------------------------------------------------------------------------
// Added by the notifier (issue 6). Everything above is the shared vocabulary and stays as it is.

/**
 * Who acknowledged an alert, as the incident workflow knows it. The dispatcher asks before every
 * repeat and escalation step: an acked alert gets no repeat notifications and its escalation stops.
 */
export interface AckState {
  ackedBy(fingerprint: string): string | undefined
}

/** No alert is ever acknowledged (the default until the incident workflow provides its own). */
export const noAcks: AckState = {ackedBy: () => undefined}

/** One attempt to deliver one outbox row, as `mon alerts show` lists them. */
export interface DeliveryAttempt {
  at: number
  durationMs: number
  result: 'delivered' | 'retry' | 'dead'
  error?: string
}

/** The delivery history of one notification to one channel of one receiver. */
export interface Delivery {
  id: string
  kind: NotificationKind
  receiver: string
  /** the channel within the receiver: `slack[0]`, `pagerduty[1]` */
  channel: string
  channelType: string
  groupKey: string
  status: OutboxStatus
  attempts: DeliveryAttempt[]
  createdAt: number
  deliveredAt?: number
  nextAttemptAt?: number
  lastError?: string
}

export type OutboxStatus = 'pending' | 'sending' | 'delivered' | 'dead' | 'dropped'
