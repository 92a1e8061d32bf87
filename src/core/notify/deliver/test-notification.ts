import {createHash} from 'node:crypto'
import {InputError, errorMessage} from '../../errors.js'
import {didYouMean} from '../../did-you-mean.js'
import {buildNotification} from './notification.js'
import type {ChannelInstance, CompiledNotify} from '../notifier.js'
import {PermanentDeliveryError, type Notification, type NotificationAlert} from '../types.js'
import {notificationTitle, plainText} from './render.js'

/**
 * `mon notify test <receiver>`: send a made-up alert straight to every channel of a receiver (not
 * through the outbox: the point is to see at once whether each channel works) and report each one.
 */

export interface TestChannelResult {
  channel: string
  type: string
  ok: boolean
  durationMs: number
  error?: string
  /** permanent (fix the config) or transient (retrying could work) */
  errorKind?: 'permanent' | 'transient'
}

export interface TestResult {
  receiver: string
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  channels: TestChannelResult[]
}

export function receiverNames(notify: CompiledNotify): string[] {
  return [...notify.receivers.keys()]
}

export interface TestOptions {
  now: number
  labels?: Record<string, string>
  annotations?: Record<string, string>
  status?: 'firing' | 'resolved'
  channel?: string
  signal?: AbortSignal
}

/** The channels a test goes to and the made-up notification for each. */
function testNotifications(notify: CompiledNotify, receiver: string, opts: TestOptions): {status: 'firing' | 'resolved'; labels: Record<string, string>; tests: Array<{inst: ChannelInstance; n: Notification}>} {
  const channels = notify.receivers.get(receiver)
  if (!channels) {
    const names = receiverNames(notify)
    const guess = didYouMean(receiver, names)
    throw new InputError(`no receiver named '${receiver}' in notify.receivers`, {
      hint: guess ? `did you mean '${guess}'?` : names.length > 0 ? `receivers: ${names.join(', ')}` : 'the config defines no receivers (see docs/notifications.md)',
    })
  }
  const selected = opts.channel ? channels.filter((c) => c.key === opts.channel || c.type === opts.channel) : channels
  if (selected.length === 0) {
    throw new InputError(opts.channel ? `receiver '${receiver}' has no channel '${opts.channel}'` : `receiver '${receiver}' has no channels`, {
      hint: channels.length > 0 ? `channels: ${channels.map((c) => c.key).join(', ')}` : 'add e.g. slack_configs or email_configs to it',
    })
  }

  const status = opts.status ?? 'firing'
  const labels = {alertname: 'MonTestNotification', severity: 'info', ...opts.labels}
  const fingerprint = createHash('sha256').update(JSON.stringify(Object.entries(labels).sort())).digest('hex').slice(0, 16)
  const startsAt = new Date(opts.now).toISOString()
  const alert: NotificationAlert = {
    status,
    labels,
    annotations: {summary: 'Test notification from mon: if you can read this, the channel works.', ...opts.annotations},
    startsAt,
    endsAt: status === 'resolved' ? startsAt : '0001-01-01T00:00:00Z',
    fingerprint,
    value: null,
  }
  const tests = selected.map((inst) => ({
    inst,
    n: buildNotification({
      kind: status === 'firing' ? 'test' : 'resolved',
      receiver,
      groupKey: `{}:{alertname="MonTestNotification"}`,
      groupLabels: {alertname: labels.alertname},
      alerts: [alert],
      now: opts.now,
      externalURL: notify.externalURL,
      message: status === 'firing' ? 'This is a test notification sent by `mon notify test`.' : undefined,
    }),
  }))
  return {status, labels, tests}
}

export interface PreviewChannel {
  channel: string
  type: string
  /** the words the channel would send: title, text, subject, html, body … */
  words: Record<string, string>
}

export interface PreviewResult {
  receiver: string
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  channels: PreviewChannel[]
  /** template failures while rendering (the channel then used its default words) */
  templateErrors: string[]
}

/** `mon notify test --preview`: what each channel would say about the test alert, rendered with the user's templates; nothing is sent. */
export function previewTestNotification(notify: CompiledNotify, receiver: string, opts: TestOptions): PreviewResult {
  const {status, labels, tests} = testNotifications(notify, receiver, opts)
  const before = notify.templates.renderErrorCount
  const channels = tests.map(({inst, n}) => ({
    channel: inst.key,
    type: inst.type,
    words: inst.definition.preview?.(inst.config, n, inst.templates) ?? {title: notificationTitle(n), text: plainText(n)},
  }))
  return {receiver, status, labels, channels, templateErrors: notify.templates.renderErrors.slice(Math.max(0, notify.templates.renderErrors.length - (notify.templates.renderErrorCount - before)))}
}

export async function sendTestNotification(notify: CompiledNotify, receiver: string, opts: TestOptions): Promise<TestResult> {
  const {status, labels, tests} = testNotifications(notify, receiver, opts)
  const results: TestChannelResult[] = []
  for (const {inst, n} of tests) {
    const t0 = performance.now()
    try {
      await inst.channel().send(n, opts.signal ?? new AbortController().signal)
      results.push({channel: inst.key, type: inst.type, ok: true, durationMs: Math.round(performance.now() - t0)})
    } catch (err) {
      results.push({
        channel: inst.key,
        type: inst.type,
        ok: false,
        durationMs: Math.round(performance.now() - t0),
        error: errorMessage(err),
        errorKind: err instanceof PermanentDeliveryError ? 'permanent' : 'transient',
      })
    }
  }
  return {receiver, status, labels, channels: results}
}
