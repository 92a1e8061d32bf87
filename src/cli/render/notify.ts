import type {OutboxItem, PreviewResult, RoutesExplanation, RouteView, TestResult} from '../../core/notify/index.js'
import type {OutboxStatus} from '../../core/notify/types.js'
import {color} from './color.js'
import {renderTable} from './table.js'
import {relativeTime} from '../../core/format.js'

/** Rendering for `mon notify …`: tables and trees for people; the commands return the data for --json. */

function routeLine(r: RouteView): string {
  const parts = [`receiver=${r.receiver}`]
  if (r.matchers.length > 0) parts.unshift(`{${r.matchers.join(', ')}}`)
  parts.push(`group_by=[${r.groupBy.join(', ')}]`, `wait=${r.groupWait}`, `interval=${r.groupInterval}`, `repeat=${r.repeatInterval}`)
  if (r.continue) parts.push('continue')
  if (r.muteTimeIntervals.length > 0) parts.push(`mute=[${r.muteTimeIntervals.join(', ')}]`)
  if (r.activeTimeIntervals.length > 0) parts.push(`active=[${r.activeTimeIntervals.join(', ')}]`)
  if (r.escalation) parts.push(`escalation=${r.escalation}`)
  return parts.join('  ')
}

export function renderRouteTree(routes: RouteView[]): string {
  if (routes.length === 0) return 'no routes: notify.route is not configured, so nothing is delivered'
  const c = color()
  return routes.map((r) => `${'  '.repeat(r.depth)}${c.dim(r.id.padEnd(6))} ${routeLine(r)}`).join('\n')
}

export function renderRoutesExplanation(x: RoutesExplanation): string {
  const c = color()
  if (x.routes.length === 0) return 'no receiver: notify.route is not configured'
  const lines = [c.bold(x.receivers.join(','))]
  for (const r of x.routes) {
    lines.push(`  ${c.dim('route')} ${r.id}  ${routeLine(r)}`)
    lines.push(`    ${c.dim('group')}    ${r.groupKey}`)
    lines.push(`    ${c.dim('channels')} ${r.channels.length > 0 ? r.channels.join(', ') : '(none: alerts reaching this receiver are dropped)'}`)
    if (r.mutedBy) lines.push(`    ${c.yellow('muted now')}: ${r.mutedBy}`)
  }
  if (x.silencedBy.length > 0) lines.push(`${c.yellow('silenced now')} by ${x.silencedBy.join(', ')}`)
  return lines.join('\n')
}

const STATUS_STYLE: Record<OutboxStatus, (s: string) => string> = {
  pending: (s) => color().yellow(s),
  sending: (s) => color().cyan(s),
  delivered: (s) => color().green(s),
  dead: (s) => color().bold.red(s),
  dropped: (s) => color().dim(s),
}

/** A pending item's next attempt: `next in 7s`, or `due 7s ago` when no sender has run since it came due. */
function nextAttempt(at: number, now: number): string {
  return `${at > now ? 'next' : 'due'} ${relativeTime(at, now)}`
}

export function renderOutbox(items: OutboxItem[], counts: Record<OutboxStatus, number>, now: number): string {
  const summary = (Object.keys(counts) as OutboxStatus[]).map((s) => `${s} ${counts[s]}`).join(', ')
  if (items.length === 0) return `outbox: ${summary}\n(nothing to show; --status all lists delivered ones too)`
  const rows = items.map((i) => [
    i.id.slice(0, 8),
    i.status,
    i.kind,
    `${i.receiver}/${i.channel}`,
    String(i.attempts.length),
    i.status === 'pending' && i.nextAttemptAt !== undefined ? nextAttempt(i.nextAttemptAt, now) : relativeTime(i.createdAt, now),
    i.title,
    i.lastError ?? '',
  ])
  const table = renderTable(['ID', 'STATUS', 'KIND', 'RECEIVER/CHANNEL', 'TRIES', 'WHEN', 'TITLE', 'LAST ERROR'], rows, {
    style: (_r, col, text) => (col === 1 ? STATUS_STYLE[text as OutboxStatus]?.(text) ?? text : text),
    alignRight: [4],
  })
  return `${table}\noutbox: ${summary}`
}

export function renderTestResult(r: TestResult): string {
  const c = color()
  return r.channels
    .map((ch) =>
      ch.ok
        ? `${c.green('ok')}    ${r.receiver}/${ch.channel}  (${ch.durationMs} ms)`
        : `${c.red('FAIL')}  ${r.receiver}/${ch.channel}  ${ch.error}${ch.errorKind === 'permanent' ? c.dim('  (permanent: check the channel config)') : ''}`,
    )
    .join('\n')
}

/** `mon notify test --preview`: each channel's words, one block per channel. */
export function renderPreview(r: PreviewResult): string {
  const c = color()
  const blocks = r.channels.map((ch) => {
    const lines = [c.bold(`${r.receiver}/${ch.channel}`)]
    for (const [field, text] of Object.entries(ch.words)) {
      lines.push(`  ${c.dim(field + ':')}`)
      for (const line of text.split('\n')) lines.push(`    ${line}`)
    }
    return lines.join('\n')
  })
  for (const e of r.templateErrors) blocks.push(`${c.yellow('template failed')} (default words used): ${e}`)
  return blocks.join('\n\n')
}
