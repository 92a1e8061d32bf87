import {z} from 'zod'
import {parseDuration, tryParseDuration} from '../../config/duration.js'
import {duration, httpUrl, section} from '../../config/common.js'
import {basicAuth, postJson} from '../deliver/http.js'
import type {Notification} from '../types.js'
import {commonFields, defineChannel, joinUrl, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'
import {generatorUrl} from './webhook.js'

/**
 * Forwarding to a Prometheus Alertmanager (`POST /api/v2/alerts`), for teams whose paging already
 * runs through one. Alertmanager resolves an alert at its endsAt (and tells its receivers so): a
 * firing alert is sent with endsAt = now + alert_ttl, and, as Prometheus does, re-sent after every
 * rule evaluation (at most once per resend_delay) so endsAt stays ahead of the next send. A resolved
 * alert is sent with its real endsAt.
 */

const schema = lazy(() =>
  section({
    /** base URL of the Alertmanager, e.g. http://alertmanager:9093 */
    url: httpUrl(),
    /** how long Alertmanager keeps a forwarded alert firing without hearing from mon again */
    alert_ttl: duration({positive: true}).default('1h'),
    /** shortest time between two re-sends of the same firing alerts (Prometheus' --rules.alert.resend-delay) */
    resend_delay: duration({positive: true}).default('1m'),
    bearer_token: z.string().optional(),
    basic_auth: section({username: z.string(), password: z.string()}).optional(),
    ...commonFields({sendResolved: true}),
    ...tlsField(),
  }).superRefine((v, ctx) => {
    // endsAt must outlive the gap to the next re-send, or Alertmanager resolves the alert in between
    const ttl = tryParseDuration(v.alert_ttl)
    const resend = tryParseDuration(v.resend_delay)
    if (ttl !== undefined && resend !== undefined && ttl < 2 * resend) {
      ctx.addIssue({code: 'custom', path: ['alert_ttl'], message: `must be at least twice resend_delay (${v.resend_delay}), or Alertmanager resolves firing alerts between two re-sends`})
    }
  }),
)

export type AlertmanagerConfig = z.output<ReturnType<typeof schema>>

export interface PostableAlert {
  labels: Record<string, string>
  annotations: Record<string, string>
  startsAt: string
  endsAt: string
  generatorURL?: string
}

/** `now` is wall-clock time on purpose: the Alertmanager compares endsAt with its own clock. */
export function postableAlerts(n: Notification, ttlMs: number, now: number = Date.now()): PostableAlert[] {
  return n.alerts.map((a) => {
    const alert: PostableAlert = {
      labels: a.labels,
      annotations: a.annotations,
      startsAt: a.startsAt,
      endsAt: a.status === 'resolved' ? a.endsAt : new Date(Math.max(now, Date.parse(a.startsAt)) + ttlMs).toISOString(),
    }
    const link = generatorUrl(n, a.fingerprint)
    if (link) alert.generatorURL = link
    return alert
  })
}

export function createAlertmanagerChannel(config: AlertmanagerConfig, ctx: ChannelContext) {
  const headers: Record<string, string> = {}
  if (config.bearer_token) headers.Authorization = `Bearer ${config.bearer_token}`
  if (config.basic_auth) headers.Authorization = basicAuth(config.basic_auth.username, config.basic_auth.password)
  const ttl = parseDuration(config.alert_ttl)
  return {
    name: `alertmanager:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      const ttlMs = n.kind === 'test' ? Math.min(ttl, 5 * 60_000) : ttl
      await postJson({
        url: joinUrl(config.url, 'api/v2/alerts'),
        headers,
        json: postableAlerts(n, ttlMs),
        timeoutMs: timeoutMs(config),
        tlsVerify: config.tls_verify,
        secrets: ctx.secrets,
        signal,
      })
    },
  }
}

export const alertmanagerChannel = defineChannel<AlertmanagerConfig>({
  type: 'alertmanager',
  summary: 'Forward to a Prometheus Alertmanager (POST /api/v2/alerts)',
  capabilities: {resolved: true, acknowledged: false},
  schema,
  secretFields: [['bearer_token'], ['basic_auth', 'password']],
  resendIntervalMs: (config) => parseDuration(config.resend_delay),
  sample: `- url: http://alertmanager.example.com:9093
  # Alertmanager resolves a forwarded alert after this long without an update. mon re-sends
  # firing alerts after every rule evaluation (at most once per resend_delay), so keep this
  # a few times longer than the longest rule evaluation interval.
  alert_ttl: 1h
  # resend_delay: 1m
  send_resolved: true
  # bearer_token: \${ALERTMANAGER_TOKEN}
  # basic_auth: {username: mon, password: \${ALERTMANAGER_PASSWORD}}
  # timeout: 10s`,
  create: createAlertmanagerChannel,
})
