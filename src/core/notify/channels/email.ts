import {createHash} from 'node:crypto'
import {hostname} from 'node:os'
import type {Transporter} from 'nodemailer'
import {z} from 'zod'
import {redactString} from '../../config/redact.js'
import {bool, dialAddress, int, parseHostPort, scalarString, section} from '../../config/common.js'
import {alertSummary, escapeHtml, notificationColor, notificationNote, notificationTitle, oneLine, plainText, runbookUrl} from '../deliver/render.js'
import {NO_TEMPLATES, type ChannelTemplates} from '../template/set.js'
import {PermanentDeliveryError, type Notification} from '../types.js'
import {ackField, commonFields, defineChannel, lazy, timeoutMs, tlsField, type ChannelContext} from './common.js'

/**
 * Email over SMTP with nodemailer: a text and an HTML part. Option names follow Alertmanager's
 * email_configs (smarthost, auth_username, auth_password, require_tls). STARTTLS is required and
 * the server certificate verified unless the config says otherwise; port 465 means implicit TLS.
 */

const emailList = z.union([z.string().min(1), z.array(z.string().min(1)).min(1)]).transform((v) => (Array.isArray(v) ? v : [v]))

const schema = lazy(() =>
  section({
    to: emailList,
    from: z.string().min(1),
    /** host:port of the SMTP server */
    smarthost: dialAddress(),
    /** implicit TLS (SMTPS); default: true on port 465 */
    secure: bool().optional(),
    /** refuse to send unless the server offers STARTTLS (ignored with implicit TLS) */
    require_tls: bool().default(true),
    auth_username: z.string().optional(),
    auth_password: z.string().optional(),
    /** the name sent in EHLO (default: this host's name) */
    hello: z.string().optional(),
    headers: z.record(z.string(), scalarString).optional(),
    max_alerts: int({min: 1}).default(50),
    /** templates of the subject (default: the receiver's title), text part (the receiver's text) and HTML part */
    subject: z.string().optional(),
    text: z.string().optional(),
    html: z.string().optional(),
    ...commonFields({sendResolved: false}),
    ...ackField(false),
    ...tlsField(),
  }).superRefine((v, ctx) => {
    if (v.auth_password && !v.auth_username) ctx.addIssue({code: 'custom', path: ['auth_password'], message: `'auth_password' needs 'auth_username'`})
  }),
)

export type EmailConfig = z.output<ReturnType<typeof schema>>

export function emailHtml(n: Notification, maxAlerts: number): string {
  const color = notificationColor(n)
  const note = notificationNote(n)
  const rows = n.alerts.slice(0, maxAlerts).map((a) => {
    const labels = Object.keys(a.labels)
      .sort()
      .map((k) => `<code>${escapeHtml(k)}=${escapeHtml(a.labels[k]!)}</code>`)
      .join(' ')
    const runbook = runbookUrl(a)
    const ack = a.ackedBy && n.kind !== 'acknowledged' ? ` <em>(acked by ${escapeHtml(a.ackedBy)})</em>` : ''
    return [
      '<tr><td style="padding:8px 0;border-bottom:1px solid #eee">',
      `<strong>${a.status === 'firing' ? 'FIRING' : 'RESOLVED'}</strong>: ${escapeHtml(alertSummary(a))}${ack}<br>`,
      `<span style="color:#555;font-size:12px">${labels}</span>`,
      runbook ? `<br><a href="${escapeHtml(runbook)}">Runbook</a>` : '',
      '</td></tr>',
    ].join('')
  })
  const more = n.alerts.length > maxAlerts ? `<p>… and ${n.alerts.length - maxAlerts} more</p>` : ''
  const link = n.externalURL ? `<p><a href="${escapeHtml(n.externalURL)}">Open in mon</a></p>` : ''
  return [
    '<!DOCTYPE html><html><body style="font-family:sans-serif">',
    `<h2 style="border-left:6px solid #${color};padding-left:8px">${escapeHtml(notificationTitle(n))}</h2>`,
    note ? `<p>${escapeHtml(note)}</p>` : '',
    `<table style="border-collapse:collapse;width:100%">${rows.join('')}</table>`,
    more,
    link,
    '</body></html>',
  ].join('\n')
}

/** The subject and parts of a mail: the user's templates when set, else mon's. */
export function emailWords(n: Notification, config: Pick<EmailConfig, 'max_alerts'>, templates: ChannelTemplates = NO_TEMPLATES): {subject: string; text: string; html: string} {
  return {
    subject: oneLine(templates.render('subject', n) ?? notificationTitle(n)),
    text: templates.render('text', n) ?? plainText(n, {maxAlerts: config.max_alerts}),
    html: templates.render('html', n) ?? emailHtml(n, config.max_alerts),
  }
}

/** SMTP replies: 5xx and authentication failures will not get better by retrying. */
function classify(err: Error & {code?: string; responseCode?: number}, secrets: readonly string[]): Error {
  const message = redactString(`SMTP: ${err.message}`, secrets)
  if (err.code === 'EAUTH') return new PermanentDeliveryError(message)
  if (err.responseCode !== undefined && err.responseCode >= 500) return new PermanentDeliveryError(message)
  return new Error(message)
}

export function createEmailChannel(config: EmailConfig, ctx: ChannelContext) {
  const hp = parseHostPort(config.smarthost)!
  const secure = config.secure ?? hp.port === 465
  const ms = timeoutMs(config)
  // nodemailer is loaded on first use: a daemon without email never pays for it
  let transport: Transporter | undefined
  const options = {
    host: hp.host,
    port: hp.port,
    secure,
    requireTLS: !secure && config.require_tls,
    name: config.hello ?? hostname(),
    auth: config.auth_username ? {user: config.auth_username, pass: config.auth_password ?? ''} : undefined,
    tls: {rejectUnauthorized: config.tls_verify},
    connectionTimeout: ms,
    greetingTimeout: ms,
    socketTimeout: ms,
    disableFileAccess: true,
    disableUrlAccess: true,
  }
  return {
    name: `email:${ctx.receiver}/${ctx.key}`,
    async send(n: Notification, signal: AbortSignal): Promise<void> {
      if (signal.aborted) throw new Error('SMTP: aborted')
      // every message about one group references the same id, so mail clients thread them
      const thread = `<${createHash('sha256').update(`${n.receiver}\u0000${n.groupKey}`).digest('hex').slice(0, 24)}@mon>`
      try {
        transport ??= (await import('nodemailer')).default.createTransport(options)
        const words = emailWords(n, config, ctx.templates)
        await transport.sendMail({
          from: config.from,
          to: config.to,
          subject: words.subject,
          text: words.text,
          html: words.html,
          headers: {...config.headers, 'X-Mon-Notification-Id': n.id, References: thread, 'In-Reply-To': thread},
        })
      } catch (err) {
        throw classify(err as Error, ctx.secrets)
      }
    },
  }
}

export const emailChannel = defineChannel<EmailConfig>({
  type: 'email',
  summary: 'Email over SMTP (nodemailer): HTML and text',
  capabilities: {resolved: true, acknowledged: true},
  schema,
  secretFields: [['auth_password']],
  sample: `- to: [oncall@example.com]
  from: mon@example.com
  # SMTP server host:port; 465 means implicit TLS, other ports STARTTLS.
  smarthost: smtp.example.com:587
  auth_username: mon@example.com
  auth_password: \${SMTP_PASSWORD}
  # Refuse to send without STARTTLS; verify the server certificate.
  require_tls: true
  tls_verify: true
  send_resolved: false
  send_acknowledged: false
  # hello: mon.example.com
  # headers: {X-Priority: "1"}
  # Templates (default: the receiver's title/text, else mon's words); the HTML part escapes values.
  # subject: '[{{ .Status | toUpper }}] {{ .CommonLabels.alertname }}'
  # text: '{{ range .Alerts }}{{ .Annotations.summary }} {{ end }}'
  # html: '{{ range .Alerts }}<p>{{ .Annotations.summary }}</p>{{ end }}'
  # timeout: 10s`,
  create: createEmailChannel,
  preview: (config, n, templates) => emailWords(n, config, templates),
})
