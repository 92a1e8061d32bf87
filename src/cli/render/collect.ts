import type {Agent} from '../../core/pipeline/agent.js'
import type {OnceSummary} from '../../core/pipeline/once.js'
import {formatBytes, plural} from '../../core/format.js'

/** What `mon collect` says when it starts: inputs and schedules, the listener, the spool, the store. */
export function renderCollectStart(agent: Agent, storeName: string): string[] {
  const status = agent.status()
  const lines = [`mon collect: ${plural(agent.inputs.length, 'input')} → ${storeName}`]
  for (const i of status.inputs) if (i.kind !== 'listener') lines.push(`  ${i.name.padEnd(24)} ${i.schedule}`)
  const a = agent.listenerAddress
  if (a) lines.push(`  listener                 ${a.scheme}://${a.host.includes(':') ? `[${a.host}]` : a.host}:${a.port}/write (and /api/v2/write)`)
  const s = status.spool
  lines.push(`  spool                    ${s.dir}${s.points > 0 ? ` (${plural(s.points, 'unsent point')} from an earlier run, ${formatBytes(s.bytes)})` : ''}`)
  lines.push('Ctrl-C (SIGINT) or SIGTERM stops after writing what is spooled.')
  return lines
}

/** The lines after `--once`: failures, what was written, what stays in the spool. */
export function renderOnceSummary(s: OnceSummary, storeName: string): {out: string[]; err: string[]} {
  const err = s.runs.filter((r) => r.error).map((r) => `input ${r.input} failed: ${r.error}`)
  const ok = s.inputs - s.failed
  const extra = [
    s.written !== s.points + s.backlog ? `${s.points} collected` : '',
    s.backlog > 0 ? `${s.backlog} left by an earlier run` : '',
    s.written > s.points + s.backlog ? `${s.written - s.points - s.backlog} self-metrics` : '',
  ].filter(Boolean)
  const out = [`wrote ${plural(s.written, 'point')} from ${plural(ok, 'input')} to ${storeName}${extra.length > 0 ? ` (${extra.join(', ')})` : ''}`]
  for (const [input, counts] of Object.entries(s.droppedBy)) {
    const reasons = Object.entries(counts).map(([reason, n]) => `${n} ${reason}`)
    if (reasons.length > 0) err.push(`input ${input}: points dropped: ${reasons.join(', ')} (mon_internal dropped_<reason> counts them; docs/pipeline.md says why)`)
  }
  if (s.pending > 0) err.push(`error: store unavailable (${s.storeError}): ${plural(s.pending, 'point')} kept in the spool ${s.spool}; they are written on the next run`)
  return {out, err}
}
