import type {ActionResult, AlertDetail, AlertView, DisplayState, HistoryEntry, SilenceView, TimelineEntry} from '../../core/incidents/types.js'
import {countAlerts} from '../../core/incidents/counts.js'
import {color, severityColor} from './color.js'
import {formatNumber, renderTable} from './table.js'
import {plural} from '../../core/format.js'

/** Rendering for `mon alerts …`: the commands return the data (--json); this makes it readable. */

/** `42s`, `5m`, `2h13m`, `3d4h`: the two largest units, like kubectl's AGE. */
export function formatAge(ms: number): string {
  const s = Math.max(0, Math.floor(ms / 1000))
  if (s < 60) return `${s}s`
  const m = Math.floor(s / 60)
  if (m < 60) return `${m}m`
  const h = Math.floor(m / 60)
  if (h < 24) return m % 60 ? `${h}h${m % 60}m` : `${h}h`
  const d = Math.floor(h / 24)
  return h % 24 ? `${d}d${h % 24}h` : `${d}d`
}

export function stateStyle(state: DisplayState | string): (s: string) => string {
  const c = color()
  switch (state) {
    case 'firing':
      return (s) => c.red(s)
    case 'acked':
      return (s) => c.magenta(s)
    case 'pending':
      return (s) => c.yellow(s)
    case 'resolved':
      return (s) => c.green(s)
    default:
      return (s) => c.dim(s)
  }
}

export function labelText(labels: Record<string, string>, omit: readonly string[] = ['alertname', 'severity']): string {
  return Object.keys(labels)
    .filter((k) => !omit.includes(k))
    .sort()
    .map((k) => `${k}=${labels[k]}`)
    .join(' ')
}

function short(text: string, max: number): string {
  return text.length <= max ? text : text.slice(0, max - 1) + '…'
}

export function renderAlertList(alerts: AlertView[], opts: {state: string; width?: number}): string {
  const c = color()
  if (alerts.length === 0) {
    const what = opts.state === 'all' ? 'alerts' : `${opts.state} alerts`
    return `no ${what}${opts.state === 'all' ? '' : c.dim('  (mon alerts list --state all shows every state)')}`
  }
  const labelWidth = Math.max(20, (opts.width ?? 160) - 90)
  const rows = alerts.map((a) => [
    a.id,
    a.severity ?? '-',
    a.alertname,
    short(labelText(a.labels), labelWidth),
    a.state + (a.silencedBy.length > 0 ? ' (silenced)' : ''),
    formatAge(a.ageMs),
    a.state === 'resolved' && a.incident?.resolvedBy ? `resolved by ${a.incident.resolvedBy}` : (a.ackedBy ?? ''),
  ])
  const table = renderTable(['ID', 'SEVERITY', 'ALERT', 'LABELS', 'STATE', 'AGE', 'ACKED BY'], rows, {
    alignRight: [5],
    style: (ri, ci, text) => {
      const a = alerts[ri]!
      if (ci === 0) return c.bold(text)
      if (ci === 1 || ci === 2) return severityColor(a.severity ?? '', c)(text)
      if (ci === 4) return stateStyle(a.state)(text)
      return text
    },
  })
  // the firing/pending part is the count every view shows; resolved and inactive ones are listed as such
  const others = new Map<string, number>()
  for (const a of alerts) if (a.state === 'resolved' || a.state === 'inactive') others.set(a.state, (others.get(a.state) ?? 0) + 1)
  const active = countAlerts(alerts)
  const summary = [active.firing + active.pending > 0 || others.size === 0 ? formatAlertCounts(active) : '', ...[...others].map(([s, n]) => `${n} ${s}`)].filter(Boolean).join(', ')
  return `${table}\n${c.dim(summary)}`
}

/** `3 firing (1 acked), 1 pending`: the same words wherever alerts are counted. */
export function formatAlertCounts(counts: {firing: number; pending: number; acked?: number}): string {
  return `${counts.firing} firing${counts.acked ? ` (${counts.acked} acked)` : ''}, ${counts.pending} pending`
}

export function renderAlertDetail(d: AlertDetail): string {
  const c = color()
  const sev = severityColor(d.severity ?? '', c)
  const lines: string[] = []
  lines.push(`${c.bold(d.id)}  ${sev(d.alertname)}  ${stateStyle(d.state)(d.state)}${d.state !== d.alertState ? c.dim(` (rule: ${d.alertState})`) : ''}  ${c.dim(`for ${formatAge(d.ageMs)}`)}`)
  lines.push('')
  const field = (name: string, value: string) => lines.push(`${c.dim(name.padEnd(13))}${value}`)
  field('fingerprint', d.fingerprint)
  field('severity', d.severity ? sev(d.severity) : '-')
  field('value', d.value === null ? '-' : formatNumber(d.value))
  field('rule', `${d.rule ?? '-'}${d.health !== 'ok' ? c.yellow(`  (health: ${d.health})`) : ''}`)
  field('labels', labelText(d.labels, ['alertname']) || '-')
  if (d.incident) {
    const i = d.incident
    field('incident', `#${i.id} opened ${i.openedAt}`)
    if (i.ackedBy) field('acked by', `${i.ackedBy} at ${i.ackedAt}${i.ackComment ? `: ${i.ackComment}` : ''}`)
    if (i.resolvedBy) field('resolved by', `${i.resolvedBy} at ${i.resolvedAt}${i.resolveComment ? `: ${i.resolveComment}` : ''}`)
  }
  if (d.silencedBy.length > 0) field('silenced by', d.silencedBy.map((s) => s.slice(0, 8)).join(', '))
  const annotations = Object.entries(d.annotations)
  if (annotations.length > 0) {
    lines.push('', c.bold('Annotations'))
    for (const [k, v] of annotations) lines.push(`  ${c.dim(k + ':')} ${v}`)
  }
  lines.push('', c.bold(`Timeline${d.episodes > 1 ? ` (${d.episodes} episodes)` : ''}`))
  if (d.timeline.length === 0) lines.push(c.dim('  (nothing recorded)'))
  for (const e of d.timeline) lines.push(`  ${c.dim(e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'))}  ${timelineStyle(e)(e.kind.padEnd(13))}${e.text}`)
  return lines.join('\n')
}

function timelineStyle(e: TimelineEntry): (s: string) => string {
  const c = color()
  switch (e.kind) {
    case 'fired':
      return (s) => c.red(s)
    case 'resolved':
    case 'resolve':
      return (s) => c.green(s)
    case 'ack':
      return (s) => c.magenta(s)
    case 'escalation':
      return (s) => c.bold.yellow(s)
    case 'notification':
      return e.result === 'dead' ? (s) => c.bold.red(s) : e.result === 'delivered' ? (s) => c.cyan(s) : (s) => c.yellow(s)
    default:
      return (s) => s
  }
}

const PAST: Record<ActionResult['action'], string> = {ack: 'acknowledged', unack: 'unacknowledged', resolve: 'resolved', comment: 'commented on'}

export function renderActionResult(r: ActionResult): string {
  const c = color()
  if (r.unchanged) return `${c.bold(r.id)} ${r.alertname}: already acknowledged by you (${r.by}); nothing changed`
  const lines = [`${c.green(PAST[r.action])} ${c.bold(r.id)} ${r.alertname} (incident #${r.incident}) as ${r.by}${r.comment ? `: ${r.comment}` : ''}`]
  if (r.notified.length > 0) lines.push(c.dim(`  queued for ${r.notified.join(', ')}`))
  if (r.escalationsCancelled > 0) lines.push(c.dim(`  escalation stopped`))
  if (r.escalationsRestarted > 0) lines.push(c.dim(`  escalation started again from its first step`))
  if (r.warning) lines.push(`${c.yellow('warning:')} ${r.warning}`)
  return lines.join('\n')
}

export function renderHistory(entries: HistoryEntry[]): string {
  const c = color()
  if (entries.length === 0) return 'nothing happened in that time'
  const rows = entries.map((e) => [
    e.at.replace('T', ' ').replace(/\.\d+Z$/, 'Z'),
    e.action,
    e.id ?? (e.silence ? e.silence.slice(0, 8) : '-'),
    e.alertname ?? '',
    e.actor,
    e.source,
    short([e.comment, e.detail].filter(Boolean).join(' — '), 80),
  ])
  return renderTable(['TIME', 'ACTION', 'ID', 'ALERT', 'BY', 'SOURCE', 'COMMENT / DETAIL'], rows, {
    style: (ri, ci, text) => {
      const e = entries[ri]!
      if (ci === 1) {
        if (e.action === 'fired') return c.red(text)
        if (e.action === 'resolved' || e.action === 'resolve') return c.green(text)
        if (e.action === 'auth_failed') return c.bold.red(text)
        if (e.action === 'ack') return c.magenta(text)
      }
      if (ci === 3) return severityColor(e.severity ?? '', c)(text)
      return text
    },
  })
}

export function renderSilences(silences: SilenceView[], now: number): string {
  const c = color()
  if (silences.length === 0) return `no silences${c.dim('  (--state all shows expired ones too)')}`
  const rows = silences.map((s) => [
    s.id.slice(0, 8),
    s.state,
    s.matchers.join(', '),
    s.state === 'pending' ? `starts in ${formatAge(Date.parse(s.startsAt) - now)}` : s.state === 'active' ? `ends in ${formatAge(Date.parse(s.endsAt) - now)}` : `ended ${formatAge(now - Date.parse(s.endsAt))} ago`,
    String(s.silencing),
    s.createdBy,
    short(s.comment, 60),
  ])
  return renderTable(['ID', 'STATE', 'MATCHERS', 'WHEN', 'SILENCING', 'BY', 'COMMENT'], rows, {
    alignRight: [4],
    style: (ri, ci, text) => (ci === 1 ? (silences[ri]!.state === 'active' ? c.green(text) : silences[ri]!.state === 'pending' ? c.yellow(text) : c.dim(text)) : text),
  })
}

export function renderSilence(s: SilenceView, verb: string, now: number): string {
  const c = color()
  const startsAt = Date.parse(s.startsAt)
  const endsAt = Date.parse(s.endsAt)
  // a silence that starts later lasts from its start, not from now
  const when =
    s.state === 'expired'
      ? `ended ${s.endsAt}`
      : s.state === 'pending'
        ? `from ${s.startsAt} until ${s.endsAt} (for ${formatAge(endsAt - startsAt)}, starting in ${formatAge(startsAt - now)})`
        : `until ${s.endsAt} (${formatAge(endsAt - now)})`
  const lines = [`${c.green(verb)} silence ${c.bold(s.id.slice(0, 8))} {${s.matchers.join(', ')}} ${when}`]
  if (s.state === 'active') lines.push(c.dim(`  silencing ${plural(s.silencing, 'firing alert')} now`))
  return lines.join('\n')
}
