import {z} from 'zod'
import {httpUrl, int, section, stringList} from '../../config/common.js'
import {basicAuth, checkResponse, httpRequest, jsonField, type HttpRequest} from '../deliver/http.js'
import {groupSeverity, notificationTitle, plainText, runbookUrl, truncate} from '../deliver/render.js'
import type {Notification} from '../types.js'
import {NO_TEMPLATES, type ChannelTemplates} from '../template/set.js'
import {ackField, commonFields, defineChannel, joinUrl, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * Mobile push through ntfy (ntfy.sh or a self-hosted server): the message is the body of a POST to
 * the topic, with Title, Priority, Tags and Click headers. A title that is not ASCII is sent as an
 * RFC 2047 encoded word, which ntfy decodes.
 */

const priority = () => z.union([int({min: 1, max: 5}), z.enum(['min', 'low', 'default', 'high', 'max', 'urgent'])])

const schema = lazy(() =>
  section({
    url: httpUrl().default('https://ntfy.sh'),
    topic: z.string().regex(/^[-_A-Za-z0-9]{1,64}$/, {error: 'expected a topic name: letters, digits, - and _ (at most 64)'}),
    token: z.string().optional(),
    username: z.string().optional(),
    password: z.string().optional(),
    /** fixed priority; default: critical 5, error 4, warning 3, info and resolved 2 */
    priority: priority().optional(),
    tags: stringList.optional(),
    /** templates of the title and the message (default: the receiver's title/text, else mon's words) */
    title: z.string().optional(),
    text: z.string().optional(),
    ...commonFields({sendResolved: true}),
    ...ackField(true),
    ...tlsField(),
  }).superRefine((v, ctx) => {
    if (v.token && v.username) ctx.addIssue({code: 'custom', path: ['token'], message: `set either 'token' or 'username'/'password', not both`})
    if (v.password && !v.username) ctx.addIssue({code: 'custom', path: ['password'], message: `'password' needs 'username'`})
  }),
)

export type NtfyConfig = z.output<ReturnType<typeof schema>>

const PRIORITY_BY_SEVERITY = {critical: 5, error: 4, warning: 3, info: 2} as const

/** RFC 2047 `=?UTF-8?B?…?=` for header values that are not printable ASCII. */
export function encodeHeaderValue(value: string): string {
  const flat = value.replace(/[\r\n]+/g, ' ')
  if (/^[\x20-\x7e]*$/.test(flat)) return flat
  return `=?UTF-8?B?${Buffer.from(flat, 'utf8').toString('base64')}?=`
}

export interface NtfyMessage {
  headers: Record<string, string>
  body: string
}

export function ntfyMessage(n: Notification, config: Pick<NtfyConfig, 'priority' | 'tags'>, templates: ChannelTemplates = NO_TEMPLATES): NtfyMessage {
  const severity = groupSeverity(n)
  let prio: string | number
  if (config.priority !== undefined) prio = config.priority
  else if (n.status === 'resolved' || n.kind === 'acknowledged' || n.kind === 'test') prio = 2
  else prio = severity ? PRIORITY_BY_SEVERITY[severity] : 3
  const tags = [...(config.tags ?? [])]
  if (n.kind === 'acknowledged') tags.push('eyes')
  else if (n.status === 'resolved') tags.push('white_check_mark')
  else if (n.kind === 'test') tags.push('test_tube')
  else tags.push(severity === 'warning' ? 'warning' : 'rotating_light')
  const headers: Record<string, string> = {
    Title: encodeHeaderValue(truncate(templates.render('title', n) ?? notificationTitle(n), 250)),
    Priority: String(prio),
    Tags: tags.join(','),
  }
  const click = n.alerts.map(runbookUrl).find((u) => u !== undefined) ?? n.externalURL
  if (click) headers.Click = click
  return {headers, body: truncate(templates.render('text', n) ?? plainText(n, {maxAlerts: 10}), 4000)}
}

export function createNtfyChannel(config: NtfyConfig, ctx: ChannelContext) {
  const auth: Record<string, string> = {}
  if (config.token) auth.Authorization = `Bearer ${config.token}`
  else if (config.username) auth.Authorization = basicAuth(config.username, config.password ?? '')
  return {
    name: `ntfy:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      const msg = ntfyMessage(n, config, ctx.templates)
      const req: HttpRequest = {
        url: joinUrl(config.url, encodeURIComponent(config.topic)),
        method: 'POST',
        headers: {...auth, ...msg.headers, 'Content-Type': 'text/plain; charset=utf-8'},
        body: msg.body,
        timeoutMs: timeoutMs(config),
        tlsVerify: config.tls_verify,
        secrets: [...ctx.secrets, ...(config.token ? [config.token] : []), ...(config.password ? [config.password] : [])],
        signal,
      }
      checkResponse(await httpRequest(req), req, jsonField('error'))
    },
  }
}

export const ntfyChannel = defineChannel<NtfyConfig>({
  type: 'ntfy',
  summary: 'Mobile push through ntfy (ntfy.sh or self-hosted)',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['token'], ['password']],
  sample: `- url: https://ntfy.sh
  topic: mon-alerts-7f3k2
  token: \${NTFY_TOKEN}
  send_resolved: true
  send_acknowledged: true
  # priority: high
  # tags: [prod]
  # timeout: 10s`,
  create: createNtfyChannel,
  preview: (config, n, templates) => {
    const msg = ntfyMessage(n, config, templates)
    return {title: msg.headers.Title!, text: msg.body}
  },
})
