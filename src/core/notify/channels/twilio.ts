import {z} from 'zod'
import {httpUrl, int, section} from '../../config/common.js'
import {basicAuth, checkResponse, httpRequest, jsonField, type HttpRequest} from '../deliver/http.js'
import {alertSummary, notificationNote, statusTag, truncate} from '../deliver/render.js'
import type {Notification} from '../types.js'
import {ackField, commonFields, defineChannel, joinUrl, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * SMS through Twilio's Programmable Messaging REST API: `POST /2010-04-01/Accounts/{sid}/Messages.json`,
 * form-encoded To / From (or MessagingServiceSid) / Body, HTTP basic auth with the account SID and
 * auth token. One message per recipient; the text is kept short enough for a phone.
 */

const phoneList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]))

const schema = lazy(() =>
  section({
    account_sid: z.string().regex(/^AC[0-9a-fA-F]{32}$/, {error: 'expected a Twilio account SID (AC followed by 32 hex digits)'}),
    auth_token: z.string().min(1),
    /** a Twilio phone number in E.164 (+15551234567); or set messaging_service_sid */
    from: z.string().optional(),
    messaging_service_sid: z.string().optional(),
    to: phoneList,
    api_url: httpUrl().default('https://api.twilio.com'),
    /** longest message body sent */
    max_length: int({min: 20, max: 1600}).default(320),
    ...commonFields({sendResolved: true}),
    ...ackField(false),
    ...tlsField(),
  }).superRefine((v, ctx) => {
    if (!v.from && !v.messaging_service_sid) ctx.addIssue({code: 'custom', message: `needs 'from' (a Twilio number) or 'messaging_service_sid'`})
  }),
)

export type TwilioConfig = z.output<ReturnType<typeof schema>>

/** `[FIRING:2] Disk almost full on db-1; +1 more` — what fits on a phone screen. */
export function smsText(n: Notification, maxLength: number): string {
  const first = n.alerts[0]
  let text = statusTag(n)
  const note = notificationNote(n)
  if (note) text += ` ${note}`
  if (first) text += ` ${first.labels.alertname ? `${first.labels.alertname}: ` : ''}${alertSummary(first)}`
  if (n.alerts.length > 1) text += `; +${n.alerts.length - 1} more`
  return truncate(text, maxLength)
}

export function createTwilioChannel(config: TwilioConfig, ctx: ChannelContext) {
  const url = joinUrl(config.api_url, `2010-04-01/Accounts/${encodeURIComponent(config.account_sid)}/Messages.json`)
  const secrets = [...ctx.secrets, config.auth_token]
  return {
    name: `twilio:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      const body = smsText(n, config.max_length)
      for (const to of config.to) {
        const form = new URLSearchParams({To: to, Body: body})
        if (config.messaging_service_sid) form.set('MessagingServiceSid', config.messaging_service_sid)
        else form.set('From', config.from!)
        const req: HttpRequest = {
          url,
          method: 'POST',
          headers: {Authorization: basicAuth(config.account_sid, config.auth_token), 'Content-Type': 'application/x-www-form-urlencoded', Accept: 'application/json'},
          body: form.toString(),
          timeoutMs: timeoutMs(config),
          tlsVerify: config.tls_verify,
          secrets,
          signal,
        }
        checkResponse(await httpRequest(req), req, jsonField('message'))
      }
    },
  }
}

export const twilioChannel = defineChannel<TwilioConfig>({
  type: 'twilio',
  summary: 'SMS through the Twilio REST API',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['auth_token']],
  sample: `- account_sid: AC0123456789abcdef0123456789abcdef
  auth_token: \${TWILIO_AUTH_TOKEN}
  from: "+15550001111"
  to: ["+15552223333"]
  send_resolved: true
  # messaging_service_sid: MG0123456789abcdef0123456789abcdef
  # max_length: 320
  # timeout: 10s`,
  create: createTwilioChannel,
})
