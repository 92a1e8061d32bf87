import {z} from 'zod'
import {httpUrl, section, stringList} from '../../config/common.js'
import {jsonField, postJson} from '../deliver/http.js'
import {alertSummary, formatLabels, normalizeSeverity, plainText, truncate} from '../deliver/render.js'
import type {Notification, NotificationAlert} from '../types.js'
import {ackField, commonFields, defineChannel, joinUrl, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * Opsgenie Alert API: create, acknowledge and close, one alert per mon alert with alias = its
 * fingerprint (Opsgenie de-duplicates open alerts on the alias). `Authorization: GenieKey …`.
 * EU accounts use api_url https://api.eu.opsgenie.com.
 */

const priorities = ['P1', 'P2', 'P3', 'P4', 'P5'] as const

const responder = () =>
  section({
  type: z.enum(['team', 'user', 'escalation', 'schedule']),
  name: z.string().optional(),
  id: z.string().optional(),
  username: z.string().optional(),
}).superRefine((v, ctx) => {
  if (!v.name && !v.id && !v.username) ctx.addIssue({code: 'custom', message: `a responder needs 'name', 'id' or 'username'`})
})

const schema = lazy(() =>
  section({
    api_key: z.string().min(1),
    api_url: httpUrl().default('https://api.opsgenie.com'),
    /** fixed priority; default: from the severity label (critical P1, error P2, warning P3, info P4) */
    priority: z.enum(priorities).optional(),
    responders: z.array(responder()).optional(),
    tags: stringList.optional(),
    entity: z.string().optional(),
    ...commonFields({sendResolved: true}),
    ...ackField(true),
    ...tlsField(),
  }),
)

export type OpsgenieConfig = z.output<ReturnType<typeof schema>>

const PRIORITY_BY_SEVERITY = {critical: 'P1', error: 'P2', warning: 'P3', info: 'P4'} as const

export interface OpsgenieRequest {
  /** path below api_url, with the query string */
  path: string
  body: Record<string, unknown>
}

function createRequest(n: Notification, a: NotificationAlert, config: OpsgenieConfig): OpsgenieRequest {
  const severity = normalizeSeverity(a.labels.severity)
  const message = n.kind === 'test' ? `[TEST] ${alertSummary(a)}` : alertSummary(a)
  const body: Record<string, unknown> = {
    message: truncate(message, 130),
    alias: a.fingerprint,
    description: truncate(plainText({...n, alerts: [a]}), 15000),
    details: {...a.labels, ...(a.value === null ? {} : {value: String(a.value)})},
    source: 'mon',
    priority: config.priority ?? (severity ? PRIORITY_BY_SEVERITY[severity] : 'P3'),
    tags: [...(config.tags ?? []), ...(severity ? [severity] : [])],
  }
  if (config.responders) body.responders = config.responders
  if (config.entity ?? a.labels.host) body.entity = config.entity ?? a.labels.host
  if (n.kind === 'escalation' && n.message) body.note = n.message
  return {path: 'v2/alerts', body}
}

function aliasPath(a: NotificationAlert, action: 'acknowledge' | 'close'): string {
  return `v2/alerts/${encodeURIComponent(a.fingerprint)}/${action}?identifierType=alias`
}

/** The requests one notification becomes, in order. */
export function opsgenieRequests(n: Notification, config: OpsgenieConfig): OpsgenieRequest[] {
  const out: OpsgenieRequest[] = []
  for (const a of n.alerts) {
    if (n.kind === 'acknowledged') {
      out.push({path: aliasPath(a, 'acknowledge'), body: {user: a.ackedBy ?? 'mon', source: 'mon', ...(n.message ? {note: n.message} : {})}})
    } else if (a.status === 'resolved') {
      out.push({path: aliasPath(a, 'close'), body: {source: 'mon', note: `resolved: ${formatLabels(a.labels)}`}})
    } else if (a.ackedBy) {
      continue // acknowledged there already: a repeat must not look like news
    } else {
      out.push(createRequest(n, a, config))
      if (n.kind === 'test') out.push({path: aliasPath(a, 'close'), body: {source: 'mon', note: 'test notification'}})
    }
  }
  return out
}

export function createOpsgenieChannel(config: OpsgenieConfig, ctx: ChannelContext) {
  return {
    name: `opsgenie:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      for (const r of opsgenieRequests(n, config)) {
        await postJson(
          {
            url: joinUrl(config.api_url, r.path),
            headers: {Authorization: `GenieKey ${config.api_key}`},
            json: r.body,
            timeoutMs: timeoutMs(config),
            tlsVerify: config.tls_verify,
            secrets: [...ctx.secrets, config.api_key],
            signal,
          },
          jsonField('message', 'errors'),
        )
      }
    },
  }
}

export const opsgenieChannel = defineChannel<OpsgenieConfig>({
  type: 'opsgenie',
  summary: 'Opsgenie Alert API: create, acknowledge, close (alias = fingerprint)',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['api_key']],
  sample: `- api_key: \${OPSGENIE_API_KEY}
  # EU accounts: https://api.eu.opsgenie.com
  api_url: https://api.opsgenie.com
  responders: [{type: team, name: db-oncall}]
  send_resolved: true
  send_acknowledged: true
  # priority: P1
  # tags: [prod]
  # entity: db-cluster-1
  # timeout: 10s`,
  create: createOpsgenieChannel,
})
