import {z} from 'zod'
import {httpUrl, section} from '../../config/common.js'
import {jsonField, postJson} from '../deliver/http.js'
import {alertSummary, normalizeSeverity, runbookUrl, truncate} from '../deliver/render.js'
import type {Notification, NotificationAlert} from '../types.js'
import {ackField, commonFields, defineChannel, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * PagerDuty Events API v2: one event per alert with dedup_key = the alert's fingerprint, so a
 * trigger, its acknowledgement and its resolution all land on the same PagerDuty alert.
 */

const severities = ['critical', 'error', 'warning', 'info'] as const

const schema = lazy(() =>
  section({
    routing_key: z.string().min(1),
    url: httpUrl().default('https://events.pagerduty.com/v2/enqueue'),
    /** fixed severity; default: the alert's severity label mapped onto PagerDuty's four, else `error` */
    severity: z.enum(severities).optional(),
    /** default: the alert's `instance` or `host` label, else `mon` */
    source: z.string().optional(),
    component: z.string().optional(),
    group: z.string().optional(),
    class: z.string().optional(),
    ...commonFields({sendResolved: true}),
    ...ackField(true),
    ...tlsField(),
  }),
)

export type PagerDutyConfig = z.output<ReturnType<typeof schema>>

export type PagerDutyAction = 'trigger' | 'acknowledge' | 'resolve'

export interface PagerDutyEvent {
  routing_key: string
  event_action: PagerDutyAction
  dedup_key: string
  payload?: {
    summary: string
    source: string
    severity: (typeof severities)[number]
    timestamp?: string
    component?: string
    group?: string
    class?: string
    custom_details?: Record<string, unknown>
  }
  links?: Array<{href: string; text: string}>
  client?: string
  client_url?: string
}

function triggerEvent(n: Notification, a: NotificationAlert, config: PagerDutyConfig): PagerDutyEvent {
  const severity = config.severity ?? normalizeSeverity(a.labels.severity) ?? 'error'
  const summaryText = a.labels.alertname && !alertSummary(a).includes(a.labels.alertname) ? `${a.labels.alertname}: ${alertSummary(a)}` : alertSummary(a)
  const payload: NonNullable<PagerDutyEvent['payload']> = {
    summary: truncate(n.kind === 'test' ? `[TEST] ${summaryText}` : summaryText, 1024),
    source: config.source ?? a.labels.instance ?? a.labels.host ?? 'mon',
    severity,
    timestamp: a.startsAt,
    custom_details: {
      labels: a.labels,
      annotations: a.annotations,
      ...(a.value === null ? {} : {value: a.value}),
      ...(n.kind === 'escalation' && n.message ? {escalation: n.message} : {}),
      group_key: n.groupKey,
    },
  }
  if (config.component) payload.component = config.component
  if (config.group) payload.group = config.group
  if (config.class) payload.class = config.class
  const event: PagerDutyEvent = {routing_key: config.routing_key, event_action: 'trigger', dedup_key: a.fingerprint, payload, client: 'mon'}
  const runbook = runbookUrl(a)
  if (runbook) event.links = [{href: runbook, text: 'Runbook'}]
  if (n.externalURL) event.client_url = n.externalURL
  return event
}

/** The events one notification becomes, in the order they are sent. */
export function pagerDutyEvents(n: Notification, config: PagerDutyConfig): PagerDutyEvent[] {
  const out: PagerDutyEvent[] = []
  for (const a of n.alerts) {
    if (n.kind === 'acknowledged') out.push({routing_key: config.routing_key, event_action: 'acknowledge', dedup_key: a.fingerprint})
    else if (a.status === 'resolved') out.push({routing_key: config.routing_key, event_action: 'resolve', dedup_key: a.fingerprint})
    else if (a.ackedBy) continue // acknowledged there already: a repeat must not look like news
    else {
      out.push(triggerEvent(n, a, config))
      // a test should not leave an open incident behind
      if (n.kind === 'test') out.push({routing_key: config.routing_key, event_action: 'resolve', dedup_key: a.fingerprint})
    }
  }
  return out
}

export function createPagerDutyChannel(config: PagerDutyConfig, ctx: ChannelContext) {
  return {
    name: `pagerduty:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      // PagerDuty de-duplicates on dedup_key, so resending all events after a partial failure is safe
      for (const event of pagerDutyEvents(n, config)) {
        await postJson(
          {url: config.url, json: event, timeoutMs: timeoutMs(config), tlsVerify: config.tls_verify, secrets: [...ctx.secrets, config.routing_key], signal},
          jsonField('message', 'errors'),
        )
      }
    },
  }
}

export const pagerDutyChannel = defineChannel<PagerDutyConfig>({
  type: 'pagerduty',
  summary: 'PagerDuty Events API v2: trigger, acknowledge, resolve (dedup_key = fingerprint)',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['routing_key']],
  sample: `- routing_key: \${PAGERDUTY_ROUTING_KEY}
  send_resolved: true
  send_acknowledged: true
  # Fixed severity (default: from the alert's severity label, else error).
  # severity: critical
  # source: db-cluster-1
  # component: postgres
  # group: prod
  # class: availability
  # url: https://events.pagerduty.com/v2/enqueue
  # timeout: 10s`,
  create: createPagerDutyChannel,
})
