import {z} from 'zod'
import {httpUrl, int, scalarString, section} from '../../config/common.js'
import {basicAuth, postJson} from '../deliver/http.js'
import {generatorUrl, plainText} from '../deliver/render.js'
import {NO_TEMPLATES, type ChannelTemplates} from '../template/set.js'
import type {Notification} from '../types.js'
import {commonFields, defineChannel, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * A generic webhook that receives exactly Alertmanager's webhook payload (version 4), so anything
 * written for Alertmanager's webhook_config (alertmanager-webhook-logger, prometheus-msteams,
 * SIGNL4, custom handlers) accepts it unchanged.
 */

const schema = lazy(() =>
  section({
    url: httpUrl(),
    /** most alerts in one payload; the rest are counted in truncatedAlerts (0 = all) */
    max_alerts: int({min: 0}).default(0),
    bearer_token: z.string().optional(),
    basic_auth: section({username: z.string(), password: z.string()}).optional(),
    headers: z.record(z.string(), scalarString).optional(),
    /** a template: its rendering is added to the payload as `text` (default: the receiver's text; none: no field) */
    text: z.string().optional(),
    ...commonFields({sendResolved: true}),
    ...tlsField(),
  }).superRefine((v, ctx) => {
    if (v.bearer_token && v.basic_auth) ctx.addIssue({code: 'custom', path: ['bearer_token'], message: `set either 'bearer_token' or 'basic_auth', not both`})
  }),
)

export type WebhookConfig = z.output<ReturnType<typeof schema>>

export interface WebhookAlertV4 {
  status: 'firing' | 'resolved'
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL: string
  fingerprint: string
}

/** Alertmanager's webhook payload, version 4, field for field. */
export interface WebhookPayloadV4 {
  version: '4'
  groupKey: string
  truncatedAlerts: number
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  externalURL: string
  alerts: WebhookAlertV4[]
}

export {generatorUrl} from '../deliver/render.js'

export function webhookPayload(n: Notification, maxAlerts = 0): WebhookPayloadV4 {
  const shown = maxAlerts > 0 ? n.alerts.slice(0, maxAlerts) : n.alerts
  return {
    version: '4',
    groupKey: n.groupKey,
    truncatedAlerts: n.alerts.length - shown.length,
    status: n.status,
    receiver: n.receiver,
    groupLabels: n.groupLabels,
    commonLabels: n.commonLabels,
    commonAnnotations: n.commonAnnotations,
    externalURL: n.externalURL ?? '',
    alerts: shown.map((a) => ({
      status: a.status,
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.endsAt,
      generatorURL: generatorUrl(n, a.fingerprint),
      fingerprint: a.fingerprint,
    })),
  }
}

/** The payload, with `text` when the channel (or its receiver) has a text template. */
export function webhookBody(n: Notification, config: Pick<WebhookConfig, 'max_alerts'>, templates: ChannelTemplates = NO_TEMPLATES): WebhookPayloadV4 & {text?: string} {
  const payload: WebhookPayloadV4 & {text?: string} = webhookPayload(n, config.max_alerts)
  if (templates.has('text')) payload.text = templates.render('text', n) ?? plainText(n)
  return payload
}

export function createWebhookChannel(config: WebhookConfig, ctx: ChannelContext) {
  const headers: Record<string, string> = {...config.headers}
  if (config.bearer_token) headers.Authorization = `Bearer ${config.bearer_token}`
  if (config.basic_auth) headers.Authorization = basicAuth(config.basic_auth.username, config.basic_auth.password)
  return {
    name: `webhook:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      await postJson({
        url: config.url,
        // the id lets a receiver drop the duplicate a crash between send and mark can cause
        // in a cluster (HA), the dedup key is the same on every send of one group transition by any daemon
        headers: {...headers, 'X-Mon-Notification-Id': n.id, ...(n.dedupKey ? {'X-Mon-Dedup-Key': n.dedupKey} : {})},
        json: webhookBody(n, config, ctx.templates),
        timeoutMs: timeoutMs(config),
        tlsVerify: config.tls_verify,
        secrets: ctx.secrets,
        signal,
      })
    },
  }
}

export const webhookChannel = defineChannel<WebhookConfig>({
  type: 'webhook',
  summary: 'Generic webhook: Alertmanager webhook payload version 4',
  capabilities: {resolved: true, acknowledged: false},
  schema,
  secretFields: [['bearer_token'], ['basic_auth', 'password']],
  sample: `- url: https://hooks.example.com/alertmanager
  send_resolved: true
  # Most alerts per payload, the rest counted in truncatedAlerts (0 = all).
  max_alerts: 0
  # bearer_token: \${WEBHOOK_TOKEN}
  # basic_auth: {username: mon, password: \${WEBHOOK_PASSWORD}}
  # headers: {X-Team: db}
  # A template rendered into the payload's "text" field (the rest stays Alertmanager's payload).
  # text: '{{ .CommonAnnotations.summary }}'
  # timeout: 10s
  # tls_verify: true`,
  create: createWebhookChannel,
  preview: (config, n, templates) => ({body: JSON.stringify(webhookBody(n, config, templates), null, 2)}),
})
