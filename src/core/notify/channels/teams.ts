import {z} from 'zod'
import {httpUrl, int, section} from '../../config/common.js'
import {postJson} from '../deliver/http.js'
import {alertSummary, groupSeverity, notificationColor, notificationNote, notificationTitle, runbookUrl, truncate} from '../deliver/render.js'
import type {Notification} from '../types.js'
import {ackField, commonFields, defineChannel, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * Microsoft Teams through a webhook. `format: adaptive` (default) posts an Adaptive Card, what
 * Teams Workflows ("Post to a channel when a webhook request is received") expect;
 * `format: messagecard` posts the legacy MessageCard of Office 365 connectors.
 */

const schema = lazy(() =>
  section({
    webhook_url: httpUrl(),
    format: z.enum(['adaptive', 'messagecard']).default('adaptive'),
    max_alerts: int({min: 1}).default(20),
    ...commonFields({sendResolved: true}),
    ...ackField(true),
    ...tlsField(),
  }),
)

export type TeamsConfig = z.output<ReturnType<typeof schema>>

/** Adaptive Card text colours by meaning. */
function adaptiveColor(n: Notification): string {
  if (n.kind === 'acknowledged') return 'Default'
  if (n.status === 'resolved') return 'Good'
  if (n.kind === 'test') return 'Accent'
  return groupSeverity(n) === 'warning' ? 'Warning' : 'Attention'
}

function runbookActions(n: Notification, max: number): Array<{title: string; url: string}> {
  const seen = new Set<string>()
  const out: Array<{title: string; url: string}> = []
  for (const a of n.alerts.slice(0, max)) {
    const url = runbookUrl(a)
    if (url && !seen.has(url)) {
      seen.add(url)
      out.push({title: seen.size === 1 ? 'Runbook' : `Runbook ${seen.size}`, url})
    }
  }
  if (n.externalURL) out.push({title: 'Open in mon', url: n.externalURL})
  return out.slice(0, 5)
}

export function adaptiveCardPayload(n: Notification, config: Pick<TeamsConfig, 'max_alerts'>): Record<string, unknown> {
  const body: Array<Record<string, unknown>> = [
    {type: 'TextBlock', text: notificationTitle(n), weight: 'Bolder', size: 'Medium', wrap: true, color: adaptiveColor(n)},
  ]
  const note = notificationNote(n)
  if (note) body.push({type: 'TextBlock', text: note, wrap: true, isSubtle: true})
  for (const a of n.alerts.slice(0, config.max_alerts)) {
    const ack = a.ackedBy && n.kind !== 'acknowledged' ? ` (acked by ${a.ackedBy})` : ''
    body.push({type: 'TextBlock', text: `**${a.status === 'firing' ? 'FIRING' : 'RESOLVED'}**: ${alertSummary(a)}${ack}`, wrap: true, separator: true})
    body.push({type: 'FactSet', facts: Object.keys(a.labels).sort().map((k) => ({title: k, value: a.labels[k]!}))})
  }
  if (n.alerts.length > config.max_alerts) body.push({type: 'TextBlock', text: `… and ${n.alerts.length - config.max_alerts} more`, wrap: true})
  const actions = runbookActions(n, config.max_alerts).map((a) => ({type: 'Action.OpenUrl', title: a.title, url: a.url}))
  return {
    type: 'message',
    attachments: [
      {
        contentType: 'application/vnd.microsoft.card.adaptive',
        contentUrl: null,
        content: {
          $schema: 'http://adaptivecards.io/schemas/adaptive-card.json',
          type: 'AdaptiveCard',
          version: '1.4',
          msteams: {width: 'Full'},
          body,
          ...(actions.length > 0 ? {actions} : {}),
        },
      },
    ],
  }
}

export function messageCardPayload(n: Notification, config: Pick<TeamsConfig, 'max_alerts'>): Record<string, unknown> {
  const title = notificationTitle(n)
  const sections = n.alerts.slice(0, config.max_alerts).map((a) => ({
    activityTitle: `${a.status === 'firing' ? 'FIRING' : 'RESOLVED'}: ${alertSummary(a)}`,
    facts: Object.keys(a.labels)
      .sort()
      .map((k) => ({name: k, value: a.labels[k]!})),
    markdown: true,
  }))
  const note = notificationNote(n)
  const card: Record<string, unknown> = {
    '@type': 'MessageCard',
    '@context': 'https://schema.org/extensions',
    themeColor: notificationColor(n),
    summary: truncate(title, 200),
    title,
    ...(note ? {text: note} : {}),
    sections,
  }
  const actions = runbookActions(n, config.max_alerts)
  if (actions.length > 0) card.potentialAction = actions.map((a) => ({'@type': 'OpenUri', name: a.title, targets: [{os: 'default', uri: a.url}]}))
  if (n.alerts.length > config.max_alerts) sections.push({activityTitle: `… and ${n.alerts.length - config.max_alerts} more`, facts: [], markdown: true})
  return card
}

export function createTeamsChannel(config: TeamsConfig, ctx: ChannelContext) {
  return {
    name: `teams:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      const json = config.format === 'adaptive' ? adaptiveCardPayload(n, config) : messageCardPayload(n, config)
      await postJson({url: config.webhook_url, json, timeoutMs: timeoutMs(config), tlsVerify: config.tls_verify, secrets: ctx.secrets, signal})
    },
  }
}

export const teamsChannel = defineChannel<TeamsConfig>({
  type: 'teams',
  summary: 'Microsoft Teams webhook (Adaptive Card for Workflows, or legacy MessageCard)',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['webhook_url']],
  sample: `- webhook_url: \${TEAMS_WEBHOOK_URL}
  # adaptive (Teams Workflows) or messagecard (legacy Office 365 connector).
  format: adaptive
  send_resolved: true
  send_acknowledged: true
  # max_alerts: 20
  # timeout: 10s`,
  create: createTeamsChannel,
})
