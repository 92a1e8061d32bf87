import type {Notification, NotificationAlert} from '../types.js'

/**
 * The words every channel shares: a title in Alertmanager's default style (`[FIRING:2] HighCPU
 * (web-01 critical)`), one line per alert, the severity of a group, the runbook link. Channels
 * only lay these out in their own format, so a message reads the same in Slack, mail and SMS.
 */

/** Severities from worst to mildest; anything else ranks below `info`. */
export const SEVERITY_ORDER = ['critical', 'error', 'warning', 'info'] as const
export type KnownSeverity = (typeof SEVERITY_ORDER)[number]

/** Common spellings people use in rules, mapped onto the four we know. */
const SEVERITY_ALIASES: Record<string, KnownSeverity> = {
  critical: 'critical',
  crit: 'critical',
  page: 'critical',
  fatal: 'critical',
  emergency: 'critical',
  error: 'error',
  err: 'error',
  high: 'error',
  major: 'error',
  warning: 'warning',
  warn: 'warning',
  medium: 'warning',
  minor: 'warning',
  info: 'info',
  informational: 'info',
  low: 'info',
  notice: 'info',
}

export function normalizeSeverity(value: string | undefined): KnownSeverity | undefined {
  return value === undefined ? undefined : SEVERITY_ALIASES[value.trim().toLowerCase()]
}

/** The worst severity among the firing alerts (all alerts when none fire). */
export function groupSeverity(n: Pick<Notification, 'alerts'>): KnownSeverity | undefined {
  const firing = n.alerts.filter((a) => a.status === 'firing')
  const pool = firing.length > 0 ? firing : n.alerts
  let best: number | undefined
  for (const a of pool) {
    const s = normalizeSeverity(a.labels.severity)
    if (s === undefined) continue
    const rank = SEVERITY_ORDER.indexOf(s)
    if (best === undefined || rank < best) best = rank
  }
  return best === undefined ? undefined : SEVERITY_ORDER[best]
}

/** Hex colours (no `#`) by what the message means: resolved green, acknowledged grey, else by severity. */
export function notificationColor(n: Pick<Notification, 'alerts' | 'status' | 'kind'>): string {
  if (n.kind === 'acknowledged') return '9E9E9E'
  if (n.status === 'resolved') return '2EB886'
  if (n.kind === 'test') return '439FE0'
  switch (groupSeverity(n)) {
    case 'critical':
      return 'D50000'
    case 'error':
      return 'F4511E'
    case 'warning':
      return 'FFAB00'
    case 'info':
      return '439FE0'
    default:
      return 'F4511E'
  }
}

export function firingAlerts(n: Pick<Notification, 'alerts'>): NotificationAlert[] {
  return n.alerts.filter((a) => a.status === 'firing')
}

export function resolvedAlerts(n: Pick<Notification, 'alerts'>): NotificationAlert[] {
  return n.alerts.filter((a) => a.status === 'resolved')
}

function sortedValues(labels: Record<string, string>): string[] {
  return Object.keys(labels)
    .sort()
    .map((k) => labels[k]!)
}

/** `[FIRING:2]`, `[RESOLVED]`, `[ACKNOWLEDGED]`, `[ESCALATED]`, `[TEST]`. */
export function statusTag(n: Pick<Notification, 'alerts' | 'status' | 'kind'>): string {
  switch (n.kind) {
    case 'acknowledged':
      return '[ACKNOWLEDGED]'
    case 'escalation':
      return `[ESCALATED:${firingAlerts(n).length}]`
    case 'test':
      return '[TEST]'
    default:
      return n.status === 'firing' ? `[FIRING:${firingAlerts(n).length}]` : '[RESOLVED]'
  }
}

/**
 * Alertmanager's default title: the status, the group label values, and in brackets the values of
 * the other labels all alerts share. `[FIRING:2] HighCPU (web-01 critical)`.
 */
export function notificationTitle(n: Pick<Notification, 'alerts' | 'status' | 'kind' | 'groupLabels' | 'commonLabels'>): string {
  const group = sortedValues(n.groupLabels)
  const rest: Record<string, string> = {}
  for (const [k, v] of Object.entries(n.commonLabels)) if (!(k in n.groupLabels)) rest[k] = v
  const extra = sortedValues(rest)
  let title = statusTag(n)
  if (group.length > 0) title += ' ' + group.join(' ')
  if (extra.length > 0) title += ` (${extra.join(' ')})`
  if (group.length === 0 && extra.length === 0) title += ' ' + (n.alerts[0]?.labels.alertname ?? 'alerts')
  return title
}

/** What the alert says in one line: its summary, else description, else alertname and labels. */
export function alertSummary(a: NotificationAlert): string {
  const text = a.annotations.summary ?? a.annotations.description ?? a.annotations.message
  if (text) return oneLine(text)
  return `${a.labels.alertname ?? 'alert'} ${formatLabels(a.labels, ['alertname'])}`.trim()
}

export function runbookUrl(a: NotificationAlert): string | undefined {
  const url = a.annotations.runbook_url ?? a.annotations.runbook
  return url && /^https?:\/\//i.test(url) ? url : undefined
}

/** `host=web-01 severity=critical` (sorted), leaving out the given names. */
export function formatLabels(labels: Record<string, string>, omit: readonly string[] = []): string {
  return Object.keys(labels)
    .filter((k) => !omit.includes(k))
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(' ')
}

export function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim()
}

export function truncate(text: string, max: number): string {
  if (text.length <= max) return text
  return text.slice(0, Math.max(0, max - 1)) + '…'
}

/** The sentence an acknowledgement or escalation carries (`acknowledged by alice: on it`). */
export function notificationNote(n: Pick<Notification, 'kind' | 'alerts' | 'message'>): string | undefined {
  if (n.kind === 'acknowledged') {
    const by = n.alerts.find((a) => a.ackedBy)?.ackedBy
    const head = by ? `Acknowledged by ${by}` : 'Acknowledged'
    return n.message ? `${head}: ${n.message}` : head
  }
  return n.message
}

/** A plain-text rendering (mail text part, SMS, ntfy body, notify test output). */
export function plainText(n: Notification, opts: {maxAlerts?: number} = {}): string {
  const lines: string[] = []
  const note = notificationNote(n)
  if (note) lines.push(note, '')
  const shown = opts.maxAlerts === undefined ? n.alerts : n.alerts.slice(0, opts.maxAlerts)
  for (const a of shown) {
    const ack = a.ackedBy && n.kind !== 'acknowledged' ? ` (acked by ${a.ackedBy})` : ''
    lines.push(`${a.status === 'firing' ? 'FIRING' : 'RESOLVED'}: ${alertSummary(a)}${ack}`)
    lines.push(`  ${formatLabels(a.labels)}`)
    const runbook = runbookUrl(a)
    if (runbook) lines.push(`  runbook: ${runbook}`)
  }
  if (shown.length < n.alerts.length) lines.push(`… and ${n.alerts.length - shown.length} more`)
  if (n.externalURL) lines.push('', n.externalURL)
  return lines.join('\n')
}

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({'&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;'})[c]!)
}

/** Labels every alert of the list shares (Alertmanager's commonLabels / commonAnnotations). */
export function commonPairs(maps: ReadonlyArray<Record<string, string>>): Record<string, string> {
  if (maps.length === 0) return {}
  const out: Record<string, string> = {...maps[0]}
  for (const m of maps.slice(1)) for (const k of Object.keys(out)) if (m[k] !== out[k]) delete out[k]
  return out
}

/** A link to the alert in mon, when mon knows its own address (notify.external_url). */
export function generatorUrl(n: Pick<Notification, 'externalURL'>, fingerprint: string): string {
  return n.externalURL ? `${n.externalURL.replace(/\/+$/, '')}/alerts/${fingerprint}` : ''
}
