import {formatDuration, formatSize} from '../../core/config/duration.js'
import {formatAlertCounts} from './alerts.js'
import type {DaemonStatusView, InputView, StatusReport} from '../../core/daemon/status.js'
import type {ClusterStatusView} from '../../core/cluster/status.js'
import {color} from './color.js'
import {renderTable} from './table.js'
import {formatBytes, plural} from '../../core/format.js'

/** `mon status` for people: the daemon line, store/spool/outbox, inputs, rule groups, last errors. */
export function renderStatus(r: StatusReport, now: number): string {
  const c = color(process.stdout)
  const lines: string[] = []
  const d = r.daemon
  const healthColor = (h: string) => (h === 'ok' ? c.green(h) : h === 'degraded' ? c.yellow(h) : c.red(h))
  if (r.running) {
    lines.push(`${c.bold('mon daemon')}: ${c.green('running')} (pid ${r.pid})${d ? `, up ${roughly(d.uptimeMs)}, health ${healthColor(d.health)}${d.api ? `, api ${d.api.url}` : ''}` : ''}`)
  } else {
    lines.push(`${c.bold('mon daemon')}: ${c.red('not running')} for ${r.dataDir}${d ? ` (last ran as pid ${d.pid}, started ${ago(now, d.startedAt)})` : ''}`)
  }

  for (const n of r.notes) lines.push(c.dim(`  (${n})`))
  if (d && r.running) lines.push('', ...renderDaemon(d, now))
  else if (r.dataDirFacts) {
    const f = r.dataDirFacts
    lines.push('', `spool      ${f.spoolPendingBytes > 0 ? `${formatBytes(f.spoolPendingBytes)} of points not yet written to the store (the next mon collect or mon daemon writes them)` : 'empty'}`)
    if (f.outbox) lines.push(`outbox     ${outboxLine(f.outbox)}`)
    if (f.alerts) lines.push(`alerts     ${formatAlertCounts(f.alerts)} (as last evaluated)`)
    if (d && d.lastErrors.length > 0) lines.push('', c.bold('last errors before it stopped'), ...d.lastErrors.slice(-5).map((e) => `  ${e.at.slice(0, 19).replace('T', ' ')}  ${e.level.padEnd(5)}  ${e.msg}${e.detail ? `  ${e.detail}` : ''}`))
  }

  if (r.cluster) lines.push('', ...renderCluster(r.cluster, now))
  return lines.join('\n')
}

/** The cluster block: members, who scrapes what, streams and consumers. */
export function renderCluster(cl: ClusterStatusView, now: number): string[] {
  const c = color(process.stdout)
  const lines = [`${c.bold('cluster')} ${cl.name} via ${cl.server ?? cl.servers.join(', ')}`]
  if (cl.error) return [...lines, c.red(`  NATS: ${cl.error}`)]
  const alive = cl.members.filter((m) => m.alive).length
  lines.push(`  members (${alive} alive of ${cl.members.length})`)
  if (cl.members.length > 0) {
    const owned = (m: string) => cl.sharding.owners[m]?.length ?? 0
    lines.push(
      indent(
        indent(
          renderTable(
            ['MEMBER', 'STATE', 'SINCE', 'LAST HEARD', 'TARGETS'],
            cl.members.map((m) => [m.member, m.alive ? c.green('alive') : m.left !== undefined ? c.dim('left') : now < m.since ? c.yellow('joining') : c.red('gone'), ago(now, m.since), ago(now, m.seen), cl.sharding.mode === 'auto' ? String(owned(m.member)) : '-']),
            {alignRight: [4], stream: process.stdout},
          ),
        ),
      ),
    )
  }
  if (cl.notifier) {
    const n = cl.notifier
    lines.push(
      `  notifier ${n.notifier ? `${c.bold(n.notifier)} (term ${n.term}${n.leaseExpiresAt ? `, lease ${n.expired ? c.red(`expired ${ago(now, n.leaseExpiresAt)}`) : `ends ${ago(now, n.leaseExpiresAt)}`}` : ''})` : c.yellow('none (no daemon holds the lease)')}${n.lastDelivered ? `, last delivery ${ago(now, n.lastDelivered.at)}` : ''}`,
    )
  }
  const orphans = cl.sharding.owners['(nobody)']?.length ?? 0
  lines.push(`  sharding ${cl.sharding.mode}: ${plural(cl.sharding.targets, 'pull target')} in this config${orphans > 0 ? c.red(`, ${orphans} with no live member`) : ''}`)
  if (cl.streams.length > 0) {
    lines.push('  streams')
    lines.push(
      indent(
        indent(
          renderTable(
            ['STREAM', 'MESSAGES', 'BYTES', 'REPLICAS', 'LEADER'],
            cl.streams.map((s) => [s.name, String(s.messages), formatBytes(s.bytes), `${s.current + (s.leader ? 1 : 0)}/${s.replicas} current`, s.leader ?? c.red('none')]),
            {alignRight: [1, 2], stream: process.stdout},
          ),
        ),
      ),
    )
  }
  if (cl.consumers.length > 0) {
    lines.push('  consumers')
    lines.push(
      indent(
        indent(
          renderTable(
            ['STREAM', 'CONSUMER', 'LAG', 'UNACKED', 'REDELIVERED', 'WAITING'],
            cl.consumers.map((x) => [x.stream, x.name, String(x.pending), String(x.ackPending), String(x.redelivered), String(x.waiting)]),
            {alignRight: [2, 3, 4, 5], stream: process.stdout},
          ),
        ),
      ),
    )
  }
  return lines
}

/**
 * `; max 1GiB, when full: reject (full: refusing new points)` — a status from an older daemon may lack it.
 * max_bytes is spelled as the config spells it (formatSize); measured sizes use formatBytes.
 */
function spoolLimit(s: DaemonStatusView['spool'], c: ReturnType<typeof color>): string {
  if (s.whenFull === undefined) return ''
  const state = s.full ? c.red(' (full: refusing new points)') : ''
  const refused = s.refusedPoints > 0 ? `, ${s.refusedPoints} points refused so far (their senders keep them)` : ''
  return `; max ${formatSize(s.maxBytes)}, when full: ${s.whenFull}${state}${refused}${spoolHeld(s, c)}`
}

/** `; DISK FULL: 1200 points held in memory until there is room` — an older daemon's status lacks both */
function spoolHeld(s: DaemonStatusView['spool'], c: ReturnType<typeof color>): string {
  const held = s.heldPoints ? `${plural(s.heldPoints, 'point')} held in memory` : ''
  if (s.diskFull) return c.red(`; disk full: ${held || 'nothing held in memory'} until there is room`)
  return held ? `; ${held}` : ''
}

function renderDaemon(d: DaemonStatusView, now: number): string[] {
  const c = color(process.stdout)
  const lines: string[] = []
  lines.push(`store      ${d.store.name}: ${d.store.up ? c.green('up') : c.red(`down (${d.store.lastError ?? 'write failed'})`)}${d.store.lastWriteAt ? `, last write ${ago(now, d.store.lastWriteAt)}` : ''}`)
  lines.push(`spool      ${plural(d.spool.points, 'point')} waiting${d.spool.points > 0 ? ` (oldest ${roughly(d.spool.oldestAgeMs)})` : ''}, ${formatBytes(d.spool.bytes)} on disk${d.spool.droppedPoints > 0 ? c.red(`, ${d.spool.droppedPoints} dropped`) : ''}${spoolLimit(d.spool, c)}`)
  lines.push(`outbox     ${outboxLine(d.outbox)}${d.notify.routes ? '' : c.dim('  (no notify.route: nothing is delivered)')}`)
  lines.push(`alerts     ${formatAlertCounts(d.alerts)}`)
  const si = d.sharedIncidents
  if (si) lines.push(`incidents  shared through NATS stream ${si.stream}: applied ${si.appliedSeq} of ${si.streamSeq}${si.lag > 0 ? c.yellow(` (${si.lag} behind)`) : ''}${si.lastError ? c.red(`; ${si.lastError}`) : ''}`)
  if (d.notifier) lines.push(`notifier   ${notifierLine(d.notifier, now, c)}`)
  if (d.maintenance.enabled) lines.push(`retention  ${d.maintenance.lastRunAt ? `last pass ${ago(now, d.maintenance.lastRunAt)}${d.maintenance.lastError ? c.red(`: ${d.maintenance.lastError}`) : ''}` : 'first pass within 5m'}`)
  if (d.reload.count > 0) lines.push(`reload     ${d.reload.count} so far, last ${d.reload.lastAt ? ago(now, d.reload.lastAt) : ''}: ${d.reload.ok ? 'applied' : c.red(`rejected: ${(d.reload.lastError ?? '').split('\n')[0]}`)}`)

  const inputs = d.inputs.filter((i) => i.kind !== 'internal')
  lines.push('', c.bold(`inputs (${inputs.length})`))
  if (inputs.length > 0) {
    lines.push(
      indent(
        renderTable(
          ['NAME', 'SCHEDULE', 'LAST RUN', 'POINTS', 'ERRORS', 'DROPPED', 'LAST ERROR'],
          inputs.map((i) => [i.name, i.schedule, i.lastRun ? ago(now, i.lastRun) : '-', String(i.points), String(i.errors), droppedCell(i), i.lastError ? truncate(i.lastError, 60) : '']),
          {alignRight: [3, 4], stream: process.stdout},
        ),
      ),
    )
  }

  lines.push('', c.bold(`rule groups (${d.ruleGroups.length}, ${plural(d.rules.total, 'rule')})`))
  if (d.ruleGroups.length > 0) {
    lines.push(
      indent(
        renderTable(
          ['GROUP', 'SCHEDULE', 'RULES', 'LAST EVAL', 'DURATION', 'FAILING'],
          d.ruleGroups.map((g) => [g.name, g.schedule, String(g.rules), g.lastEval ? ago(now, g.lastEval) : '-', g.lastDurationMs === null ? '-' : `${g.lastDurationMs} ms`, String(g.failing)]),
          {alignRight: [2, 4, 5], stream: process.stdout},
        ),
      ),
    )
  } else {
    lines.push(c.dim('  none (rules.files in the config)'))
  }

  if (d.lastErrors.length > 0) {
    lines.push('', c.bold('last errors'))
    for (const e of d.lastErrors.slice(-5)) lines.push(`  ${ago(now, e.at).padEnd(8)}  ${e.level === 'error' ? c.red(e.level) : c.yellow(e.level)}  ${e.msg}${e.detail ? `  ${c.dim(truncate(e.detail, 120))}` : ''}`)
  }

  return lines
}

/** `0`, or the count with its reasons: `3 (2 unserializable, 1 store_rejected)` */
function droppedCell(i: InputView): string {
  if (i.dropped === 0) return '0'
  const reasons = Object.entries(i.droppedBy).map(([reason, n]) => `${n} ${reason}`)
  return reasons.length > 0 ? `${i.dropped} (${reasons.join(', ')})` : String(i.dropped)
}

/** cluster HA (docs/cluster.md#notifications): who sends, until when, the last delivery recorded */
function notifierLine(n: NonNullable<DaemonStatusView['notifier']>, now: number, c: ReturnType<typeof color>): string {
  const who = n.notifier === undefined ? c.red('none (the lease is free)') : n.active ? c.green(`this daemon (${n.member})`) : `${n.notifier}${n.notifier === n.member ? c.red(' (this daemon, lease not valid here)') : ''}`
  const lease = n.leaseExpiresAt ? `, lease until ${n.leaseExpiresAt}` : ''
  const last = n.lastDelivered ? `; last delivered ${n.lastDelivered.kind} ${n.lastDelivered.groupKey} ${ago(now, n.lastDelivered.at)}` : ''
  return `${who}${lease}${last}${n.caughtUp ? '' : c.dim(' (still reading the log)')}${n.lastError ? c.red(`; ${n.lastError}`) : ''}`
}

function outboxLine(o: Record<string, number>): string {
  return `${o.pending + o.sending} pending, ${o.dead} dead, ${o.delivered} delivered`
}

function indent(text: string): string {
  return text
    .split('\n')
    .map((l) => `  ${l}`)
    .join('\n')
}

function truncate(s: string, n: number): string {
  const one = s.replace(/\s+/g, ' ')
  return one.length > n ? `${one.slice(0, n - 1)}…` : one
}

/** `12s ago`, `3m ago` (times as ISO strings or ms) */
function ago(now: number, at: string | number): string {
  const t = typeof at === 'string' ? Date.parse(at) : at
  const ms = now - t
  if (ms < 0) return `in ${roughly(-ms)}`
  return `${roughly(ms)} ago`
}

function roughly(ms: number): string {
  const s = Math.round(ms / 1000)
  if (s < 60) return `${s}s`
  if (s < 172_800) return formatDuration(Math.round(s / 60) * 60_000)
  return formatDuration(Math.round(s / 3600) * 3_600_000)
}
