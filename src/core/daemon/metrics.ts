import {readdirSync} from 'node:fs'
import {formatGoFloat} from '../model/prometheus-text.js'
import type {Health} from './health.js'
import type {DaemonFacts} from './types.js'
import {DROP_REASONS} from '../pipeline/drops.js'

/**
 * `GET /metrics`: the daemon's own metrics in the Prometheus text format (version 0.0.4), so a
 * Prometheus (or mon's own prometheus input) can scrape mon itself. Counters end in `_total` and
 * count since the daemon started; times are Unix seconds.
 */
export const METRICS_CONTENT_TYPE = 'text/plain; version=0.0.4; charset=utf-8'

export interface ProcessFacts {
  cpuSeconds: number
  residentBytes: number
  heapUsedBytes: number
  /** open file descriptors, when the platform can tell */
  openFds?: number
}

export function processFacts(): ProcessFacts {
  const cpu = process.cpuUsage()
  const mem = process.memoryUsage()
  let openFds: number | undefined
  try {
    openFds = readdirSync('/proc/self/fd').length
  } catch {
    // no /proc (macOS)
  }
  return {cpuSeconds: (cpu.user + cpu.system) / 1e6, residentBytes: mem.rss, heapUsedBytes: mem.heapUsed, openFds}
}

type Labels = Record<string, string>

/** Writes metric families: HELP and TYPE once, then the samples. */
class Exposition {
  private readonly lines: string[] = []

  family(name: string, type: 'counter' | 'gauge', help: string, samples: Array<[Labels, number | undefined]> | number | undefined): void {
    const list: Array<[Labels, number | undefined]> = Array.isArray(samples) ? samples : [[{}, samples]]
    const present = list.filter((s): s is [Labels, number] => s[1] !== undefined && s[1] !== null)
    if (present.length === 0) return
    this.lines.push(`# HELP ${name} ${help.replace(/\\/g, '\\\\').replace(/\n/g, '\\n')}`, `# TYPE ${name} ${type}`)
    for (const [labels, value] of present) this.lines.push(`${name}${formatLabels(labels)} ${formatGoFloat(value)}`)
  }

  text(): string {
    return this.lines.join('\n') + '\n'
  }
}

function formatLabels(labels: Labels): string {
  const keys = Object.keys(labels)
  if (keys.length === 0) return ''
  return `{${keys.map((k) => `${k}="${labels[k].replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')}"`).join(',')}}`
}

const seconds = (ms: number | undefined) => (ms === undefined ? undefined : ms / 1000)

export function renderMetrics(f: DaemonFacts, health: Health, proc: ProcessFacts = processFacts()): string {
  const e = new Exposition()
  e.family('mon_build_info', 'gauge', 'Always 1; the version is a label.', [[{version: f.version}, 1]])
  e.family('mon_up', 'gauge', '1 while the daemon is healthy or degraded, 0 while it starts or stops.', health.status === 'ok' || health.status === 'degraded' ? 1 : 0)
  e.family(
    'mon_component_healthy',
    'gauge',
    '1 when the component is ok (or disabled), 0 when degraded or down.',
    Object.entries(health.components).map(([name, c]) => [{component: name}, c.status === 'ok' || c.status === 'disabled' ? 1 : 0]),
  )
  e.family('mon_start_time_seconds', 'gauge', 'When the daemon started (Unix seconds).', seconds(f.startedAt))
  e.family('process_cpu_seconds_total', 'counter', 'User and system CPU time of the process.', proc.cpuSeconds)
  e.family('process_resident_memory_bytes', 'gauge', 'Resident memory of the process.', proc.residentBytes)
  e.family('process_start_time_seconds', 'gauge', 'When the process started (Unix seconds).', seconds(f.startedAt))
  e.family('process_open_fds', 'gauge', 'Open file descriptors.', proc.openFds)
  e.family('nodejs_heap_used_bytes', 'gauge', 'V8 heap in use.', proc.heapUsedBytes)

  // collection
  const inputs = f.agent.inputs
  const by = (pick: (i: (typeof inputs)[number]) => number | undefined): Array<[Labels, number | undefined]> => inputs.map((i) => [{input: i.name, kind: i.kind}, pick(i)])
  e.family('mon_input_runs_total', 'counter', 'Runs of each input.', by((i) => i.runs))
  e.family('mon_input_errors_total', 'counter', 'Failed runs of each input (push listener: refused requests).', by((i) => i.errors))
  e.family('mon_input_points_gathered_total', 'counter', 'Points each input produced.', by((i) => i.gathered))
  e.family('mon_input_points_written_total', 'counter', 'Points of each input the store accepted.', by((i) => i.written))
  e.family('mon_input_points_dropped_total', 'counter', 'Points of each input dropped (invalid, spool full, rejected by the store).', by((i) => i.dropped))
  e.family(
    'mon_input_points_dropped_by_reason_total',
    'counter',
    'mon_input_points_dropped_total by reason (unserializable, spool_write_failed, spool_full, spool_corrupt, store_rejected).',
    inputs.flatMap((i) => DROP_REASONS.map((reason): [Labels, number] => [{input: i.name, kind: i.kind, reason}, i.droppedBy?.[reason] ?? 0])),
  )
  e.family('mon_input_missed_runs_total', 'counter', 'Scheduled runs missed while the machine was suspended or the clock jumped (replaced by one run).', by((i) => i.missed))
  e.family('mon_input_overlapped_runs_total', 'counter', 'Runs skipped because the previous run was still going.', by((i) => i.overlapped))
  e.family('mon_input_up', 'gauge', '1 when the last run of the input succeeded.', by((i) => (i.runs === 0 ? undefined : i.lastError === undefined ? 1 : 0)))
  e.family('mon_input_last_run_timestamp_seconds', 'gauge', 'When each input last ran.', by((i) => seconds(i.lastRun)))
  e.family('mon_input_last_duration_seconds', 'gauge', 'How long the last run of each input took.', by((i) => seconds(i.lastDurationMs)))
  // service inputs (statsd, udp): their own counters, one series per counter name
  const service = (keep: (name: string) => boolean) =>
    inputs.flatMap((i) => Object.entries(i.service ?? {}).flatMap(([counter, v]): Array<[Labels, number]> => (keep(counter) ? [[{input: i.name, kind: i.kind, counter}, v]] : [])))
  e.family('mon_input_service_total', 'counter', 'Counters of the statsd and udp inputs: datagrams, bytes, lines, parse errors (by reason), kernel_drops (the socket\'s drops in /proc/net/udp) …', service((c) => c !== 'tcp_connections'))
  e.family('mon_input_service_tcp_connections', 'gauge', 'Open TCP connections of a statsd input over TCP.', service((c) => c === 'tcp_connections'))

  const {spool, writer, listener} = f.agent
  e.family('mon_spool_points', 'gauge', 'Points in the spool not yet written to the store.', spool.points)
  e.family('mon_spool_records', 'gauge', 'Records in the spool not yet written to the store.', spool.records)
  e.family('mon_spool_bytes', 'gauge', 'Bytes of spool segment files on disk.', spool.bytes)
  e.family('mon_spool_oldest_age_seconds', 'gauge', 'Age of the oldest point waiting in the spool.', spool.oldestAgeMs / 1000)
  e.family('mon_spool_dropped_points_total', 'counter', 'Points dropped because the spool was full or unreadable.', spool.dropped.points)
  e.family('mon_spool_refused_points_total', 'counter', 'Points refused because the spool was full (spool.when_full: reject); their senders keep them.', spool.refused.points)
  e.family('mon_spool_disk_full', 'gauge', '1 while the disk refuses spool appends (mon retries by itself once there is room).', spool.diskFull ? 1 : 0)
  e.family('mon_held_points', 'gauge', 'Collected points kept in memory because the spool refused them (disk full, or when_full: reject).', f.agent.heldPoints)
  e.family('mon_store_up', 'gauge', '1 while the store accepts writes.', writer.storeUp ? 1 : 0)
  e.family('mon_store_written_points_total', 'counter', 'Points written to the store.', writer.points)
  e.family('mon_store_write_batches_total', 'counter', 'Batches written to the store.', writer.batches)
  e.family('mon_store_write_errors_total', 'counter', 'Failed store writes (retried).', writer.errors)
  e.family('mon_store_rejected_points_total', 'counter', 'Points the store rejected for good.', writer.rejectedPoints)
  e.family('mon_store_merged_points_total', 'counter', 'Values replaced by a later one of the same batch on the same series, field and store timestamp (finer timestamps than the store keeps).', writer.mergedPoints)
  e.family('mon_store_last_write_timestamp_seconds', 'gauge', 'When the store last accepted a write.', seconds(writer.lastWriteAt))
  if (listener) {
    e.family('mon_listener_requests_total', 'counter', 'Requests to the line-protocol listener.', listener.requests)
    e.family('mon_listener_points_total', 'counter', 'Points received by the listener.', listener.points)
    e.family('mon_listener_rejected_lines_total', 'counter', 'Malformed lines the listener refused.', listener.rejectedLines)
    e.family('mon_listener_overloaded_total', 'counter', 'Writes refused with 503 because max_buffered was reached.', listener.overloaded)
    e.family('mon_listener_spool_full_total', 'counter', 'Writes refused with 503 because the spool was full (spool.when_full: reject).', listener.spoolFull)
    e.family('mon_listener_buffered_bytes', 'gauge', 'Request bytes the listener holds right now.', listener.bufferedBytes)
  }

  // rules
  const rs = f.rules.stats
  e.family('mon_rule_groups', 'gauge', 'Rule groups loaded.', f.rules.groups.length)
  e.family('mon_rules', 'gauge', 'Rules loaded (alerting and recording).', rs.rules)
  e.family('mon_rule_evaluations_total', 'counter', 'Rule evaluations.', rs.evaluations)
  e.family('mon_rule_evaluation_failures_total', 'counter', 'Rule evaluations that failed.', rs.ruleErrors)
  e.family('mon_alerts', 'gauge', 'Alerts by state, as mon alerts list counts them (firing includes acknowledged, not hand-resolved).', [
    [{state: 'firing'}, f.alerts.firing],
    [{state: 'pending'}, f.alerts.pending],
  ])
  e.family('mon_alerts_acknowledged', 'gauge', 'Firing alerts somebody acknowledged.', f.alerts.acked)
  const groups = f.rules.groups
  e.family('mon_rule_group_rules', 'gauge', 'Rules per group.', groups.map((g) => [{group: g.name}, g.rules]))
  e.family('mon_rule_group_last_evaluation_timestamp_seconds', 'gauge', 'When each group was last evaluated.', groups.map((g) => [{group: g.name}, seconds(g.lastEvalAt)]))
  e.family('mon_rule_group_last_duration_seconds', 'gauge', 'How long the last evaluation of each group took.', groups.map((g) => [{group: g.name}, seconds(g.lastDurationMs)]))
  e.family('mon_rule_group_evaluations_total', 'counter', 'Evaluations of each group.', groups.map((g) => [{group: g.name}, g.job?.runs]))
  e.family('mon_rule_group_missed_total', 'counter', 'Evaluations of each group missed during a suspend or clock jump (replaced by one).', groups.map((g) => [{group: g.name}, g.job?.missed]))
  e.family('mon_rule_group_overlapped_total', 'counter', 'Evaluations skipped because the previous one was still going.', groups.map((g) => [{group: g.name}, g.job?.overlapped]))
  e.family('mon_rule_group_failing_rules', 'gauge', 'Rules of each group whose last evaluation failed.', groups.map((g) => [{group: g.name}, g.failing]))
  if (rs.cache) {
    e.family('mon_rule_cache_hits_total', 'counter', 'Rule queries answered from the shared query cache.', rs.cache.hits)
    e.family('mon_rule_cache_misses_total', 'counter', 'Rule queries that went to the store.', rs.cache.misses)
  }

  // notifications
  e.family('mon_notify_outbox', 'gauge', 'Notifications in the outbox by status.', Object.entries(f.outbox).map(([status, n]) => [{status}, n]))
  e.family('mon_notify_enqueued_total', 'counter', 'Notifications written to the outbox by this daemon.', f.notify.enqueued)
  e.family('mon_notify_delivered_total', 'counter', 'Notifications delivered by this daemon.', f.notify.delivered)
  e.family('mon_notify_retried_total', 'counter', 'Failed deliveries that will be retried.', f.notify.retried)
  e.family('mon_notify_dead_total', 'counter', 'Notifications given up on (permanent failure or too many attempts).', f.notify.dead)

  // housekeeping
  if (f.maintenance.enabled) {
    e.family('mon_retention_runs_total', 'counter', 'Retention passes (rollups and pruning) of the embedded store.', f.maintenance.runs)
    e.family('mon_retention_failures_total', 'counter', 'Retention passes that failed.', f.maintenance.failures)
    e.family('mon_retention_last_run_timestamp_seconds', 'gauge', 'When the last retention pass ran.', seconds(f.maintenance.lastRunAt))
    e.family('mon_retention_last_duration_seconds', 'gauge', 'How long the last retention pass took.', seconds(f.maintenance.lastDurationMs))
  }

  e.family('mon_config_reloads_total', 'counter', 'Reloads (SIGHUP) by result.', [
    [{result: 'success'}, f.reload.count - f.reload.failures],
    [{result: 'failure'}, f.reload.failures],
  ])
  e.family('mon_config_last_reload_successful', 'gauge', '1 when the last reload was applied (or none was asked), 0 when it was rejected.', f.reload.lastOk === false ? 0 : 1)
  e.family('mon_config_last_reload_success_timestamp_seconds', 'gauge', 'When the running config was loaded.', seconds(f.reload.lastSuccessAt))
  return e.text()
}
