import {z} from 'zod'
import {httpUrl, int, section} from '../../config/common.js'
import {postJson, type HttpResponse} from '../deliver/http.js'
import {alertSummary, formatLabels, groupSeverity, notificationColor, notificationNote, notificationTitle, runbookUrl, truncate} from '../deliver/render.js'
import {PermanentDeliveryError, type Notification} from '../types.js'
import {NO_TEMPLATES, type ChannelTemplates} from '../template/set.js'
import {ackField, commonFields, defineChannel, joinUrl, lazy, threadKey, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * Slack, two ways:
 * - an incoming webhook (`webhook_url`): simplest; every message is a new post (a webhook cannot
 *   reply in a thread);
 * - a bot token (`bot_token` + `channel`) through chat.postMessage: the first message of a group is
 *   remembered, and acknowledgements and resolutions are posted as replies in its thread
 *   (resolutions also broadcast to the channel).
 * Messages are attachments coloured by severity, with the labels and a runbook link per alert.
 */

const schema = lazy(() =>
  section({
    webhook_url: httpUrl().optional(),
    bot_token: z.string().optional(),
    channel: z.string().optional(),
    api_url: httpUrl().default('https://slack.com/api'),
    username: z.string().optional(),
    icon_emoji: z.string().optional(),
    /** most alerts listed in one message */
    max_alerts: int({min: 1}).default(20),
    /** templates of the message title and text (default: the receiver's, else mon's words) */
    title: z.string().optional(),
    text: z.string().optional(),
    ...commonFields({sendResolved: true}),
    ...ackField(true),
    ...tlsField(),
  }).superRefine((v, ctx) => {
    if (!v.webhook_url && !v.bot_token) ctx.addIssue({code: 'custom', message: `needs 'webhook_url' (an incoming webhook) or 'bot_token' and 'channel' (chat.postMessage)`})
    if (v.webhook_url && v.bot_token) ctx.addIssue({code: 'custom', path: ['bot_token'], message: `set either 'webhook_url' or 'bot_token', not both`})
    if (v.bot_token && !v.channel) ctx.addIssue({code: 'custom', path: ['bot_token'], message: `'bot_token' needs 'channel' (e.g. "#alerts" or a channel id)`})
  }),
)

export type SlackConfig = z.output<ReturnType<typeof schema>>

/** Slack's mrkdwn needs &, < and > escaped; links are <url|text>. */
function esc(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;')
}

/** The words of a Slack message: the user's templates when set, else mon's. */
export function slackWords(n: Notification, config: Pick<SlackConfig, 'max_alerts'>, templates: ChannelTemplates = NO_TEMPLATES): {title: string; text: string} {
  return {title: templates.render('title', n) ?? notificationTitle(n), text: templates.render('text', n) ?? slackText(n, config)}
}

function slackText(n: Notification, config: Pick<SlackConfig, 'max_alerts'>): string {
  const lines: string[] = []
  const note = notificationNote(n)
  if (note) lines.push(`_${esc(note)}_`)
  for (const a of n.alerts.slice(0, config.max_alerts)) {
    const mark = a.status === 'firing' ? ':red_circle:' : ':white_check_mark:'
    const ack = a.ackedBy && n.kind !== 'acknowledged' ? ` _(acked by ${esc(a.ackedBy)})_` : ''
    lines.push(`${mark} *${esc(alertSummary(a))}*${ack}`)
    const runbook = runbookUrl(a)
    lines.push(`\`${esc(formatLabels(a.labels))}\`${runbook ? ` · <${runbook}|Runbook>` : ''}`)
  }
  if (n.alerts.length > config.max_alerts) lines.push(`… and ${n.alerts.length - config.max_alerts} more`)
  return lines.join('\n')
}

export function slackPayload(n: Notification, config: Pick<SlackConfig, 'max_alerts' | 'username' | 'icon_emoji'>, templates: ChannelTemplates = NO_TEMPLATES): Record<string, unknown> {
  const {title, text} = slackWords(n, config, templates)
  const fields = [] as Array<{title: string; value: string; short: boolean}>
  const severity = groupSeverity(n)
  if (severity) fields.push({title: 'Severity', value: severity, short: true})
  fields.push({title: 'Receiver', value: n.receiver, short: true})
  const attachment: Record<string, unknown> = {
    color: `#${notificationColor(n)}`,
    fallback: title,
    title: truncate(title, 300),
    text: truncate(text, 7000),
    fields,
    footer: 'mon',
    ts: Math.floor(n.createdAt / 1000),
    mrkdwn_in: ['text'],
  }
  if (n.externalURL) attachment.title_link = n.externalURL
  const payload: Record<string, unknown> = {text: truncate(title, 3000), attachments: [attachment]}
  if (config.username) payload.username = config.username
  if (config.icon_emoji) payload.icon_emoji = config.icon_emoji
  return payload
}

/** chat.postMessage errors that retrying cannot fix. */
const PERMANENT_API_ERRORS = new Set([
  'invalid_auth',
  'not_authed',
  'account_inactive',
  'token_revoked',
  'token_expired',
  'no_permission',
  'missing_scope',
  'channel_not_found',
  'not_in_channel',
  'is_archived',
  'invalid_arguments',
  'invalid_attachments',
  'msg_too_long',
  'no_text',
  'restricted_action',
  'team_access_not_granted',
])

function readApiResponse(res: HttpResponse): {ts: string; channel: string} {
  let body: {ok?: boolean; error?: string; ts?: string; channel?: string}
  try {
    body = JSON.parse(res.body) as typeof body
  } catch {
    throw new Error(`chat.postMessage: unreadable response (HTTP ${res.status})`)
  }
  if (body.ok && body.ts) return {ts: body.ts, channel: body.channel ?? ''}
  const error = body.error ?? 'unknown_error'
  if (PERMANENT_API_ERRORS.has(error)) throw new PermanentDeliveryError(`chat.postMessage: ${error}`)
  throw new Error(`chat.postMessage: ${error}`)
}

export function createSlackChannel(config: SlackConfig, ctx: ChannelContext) {
  const common = {timeoutMs: timeoutMs(config), tlsVerify: config.tls_verify, secrets: ctx.secrets}
  return {
    name: `slack:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      const payload = slackPayload(n, config, ctx.templates)
      if (config.webhook_url) {
        if (config.channel) payload.channel = config.channel
        await postJson({...common, url: config.webhook_url, json: payload, signal})
        return
      }

      const key = threadKey(ctx, n)
      const thread = n.kind === 'test' ? undefined : ctx.threads.get(key)
      const threaded = thread !== undefined && (n.kind === 'acknowledged' || n.kind === 'resolved')
      const body: Record<string, unknown> = {...payload, channel: threaded ? thread.channel || config.channel : config.channel}
      if (threaded) {
        body.thread_ts = thread.ts
        // a resolution is news for the whole channel, an acknowledgement only for the thread
        if (n.kind === 'resolved') body.reply_broadcast = true
      }
      const res = await postJson({
        ...common,
        url: joinUrl(config.api_url, 'chat.postMessage'),
        headers: {Authorization: `Bearer ${config.bot_token}`, 'Content-Type': 'application/json; charset=utf-8'},
        json: body,
        signal,
      })
      const posted = readApiResponse(res)
      if (n.kind === 'test') return
      if (n.status === 'resolved' && n.kind === 'resolved') ctx.threads.clear(key)
      else if (!thread && (n.kind === 'firing' || n.kind === 'escalation')) ctx.threads.set(key, posted)
    },
  }
}

export const slackChannel = defineChannel<SlackConfig>({
  type: 'slack',
  summary: 'Slack: incoming webhook, or a bot token with threaded acknowledgements',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['webhook_url'], ['bot_token']],
  sample: `# Incoming webhook (each message a new post):
- webhook_url: \${SLACK_WEBHOOK_URL}
  # Post resolved messages too.
  send_resolved: true
  # Post a note when an alert is acknowledged.
  send_acknowledged: true
# Or a bot token (chat.postMessage): acknowledgements and resolutions reply in the group's thread.
- bot_token: \${SLACK_BOT_TOKEN}
  channel: "#alerts"
  # api_url: https://slack.com/api
  # username: mon
  # icon_emoji: ":rotating_light:"
  # max_alerts: 20
  # Templates of the words (default: the receiver's title/text, else mon's); see notify.templates.
  # title: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'
  # text: '{{ range .Alerts }}{{ .Labels.host }}: {{ .Annotations.summary }} {{ end }}'
  # timeout: 10s
  # tls_verify: true`,
  create: createSlackChannel,
  preview: (config, n, templates) => slackWords(n, config, templates),
})
