/**
 * mon's own metrics, measurement `mon_internal`, written through the pipeline like any other
 * input (Telegraf's `internal` plugin, in one measurement). Counters are cumulative since the
 * process started (use rate()/difference in queries); gauges are current values.
 *
 *   mon_internal,input=<name>,kind=<kind>  gathered, written, dropped, errors, runs (counters);
 *                                          dropped_<reason> for each reason of pipeline/drops.ts
 *                                          (counters; they add up to dropped);
 *                                          gather_time_ms (last run), last_ok (bool);
 *                                          service inputs (statsd, udp) add their counters: datagrams, bytes,
 *                                          lines, parse_errors, parse_errors_<reason>, kernel_drops (UDP drops
 *                                          of the socket's port from /proc/net/udp), tcp_connections…
 *   mon_internal,component=spool           bytes, segments, records, points, oldest_age_s (gauges);
 *                                          dropped_points, dropped_segments, corrupt_bytes, refused_points (counters);
 *                                          full (bool: refusing appends, when_full: reject),
 *                                          disk_full (bool: the disk refused the last append),
 *                                          held_points (gauge: collected points kept in memory until the spool takes them)
 *   mon_internal,component=writer          points_written, batches, errors, rejected_points, merged_points (counters);
 *                                          write_latency_ms, write_latency_max_ms (since last sample), store_up
 *   mon_internal,component=listener        requests, points, rejected_lines, bad_requests, unauthorized, throttled, refused_connections, connections, too_large, overloaded, spool_full, errors
 *   mon_internal,component=agent           uptime_s, rss_bytes, heap_used_bytes
 *   mon_internal,component=forward         cluster.forward: messages, duplicates, points, errors, full (counters)
 */
import type {FieldValue, Point} from '../model/point.js'
import type {ListenerStats} from '../collectors/listener.js'
import {DROP_REASONS, type DropCounts} from './drops.js'
import type {SpoolStatus} from './spool.js'
import type {WriterStats} from './writer.js'

export const SELF_MEASUREMENT = 'mon_internal'

export interface InputCounters {
  name: string
  kind: string
  gathered: number
  written: number
  dropped: number
  /** `dropped` by reason */
  droppedBy?: DropCounts
  errors: number
  runs: number
  lastDurationMs?: number
  lastOk?: boolean
  /** a service input's own counters (statsd, udp: datagrams, lines, parse_errors_<reason>, kernel_drops…) */
  service?: Record<string, number>
}

export interface SelfMetricsInput {
  now: number
  startedAt: number
  inputs: InputCounters[]
  spool: SpoolStatus
  /** points the batcher keeps in memory because the spool refused them (disk full, when_full: reject) */
  heldPoints?: number
  writer: WriterStats
  latency: WriterStats['latency']
  listener?: ListenerStats
  /** cluster.forward: what went to the points stream (src/core/cluster/forward.ts ForwardStats) */
  forward?: {messages: number; duplicates: number; points: number; errors: number; full: number}
}

const int = (n: number): bigint => BigInt(Math.max(0, Math.round(n)))

export function selfMetricsPoints(m: SelfMetricsInput): Point[] {
  const ts = m.now
  const points: Point[] = []
  for (const i of m.inputs) {
    const fields: Record<string, FieldValue> = {gathered: int(i.gathered), written: int(i.written), dropped: int(i.dropped), errors: int(i.errors), runs: int(i.runs)}
    for (const reason of DROP_REASONS) fields[`dropped_${reason}`] = int(i.droppedBy?.[reason] ?? 0)
    if (i.lastDurationMs !== undefined) fields.gather_time_ms = Math.round(i.lastDurationMs * 1000) / 1000
    if (i.lastOk !== undefined) fields.last_ok = i.lastOk
    for (const [k, v] of Object.entries(i.service ?? {})) if (!(k in fields)) fields[k] = int(v)
    points.push({measurement: SELF_MEASUREMENT, tags: {input: i.name, kind: i.kind}, fields, ts})
  }
  const s = m.spool
  points.push({
    measurement: SELF_MEASUREMENT,
    tags: {component: 'spool'},
    fields: {
      bytes: int(s.bytes),
      segments: int(s.segments),
      records: int(s.records),
      points: int(s.points),
      oldest_age_s: Math.round(s.oldestAgeMs) / 1000,
      dropped_points: int(s.dropped.points),
      refused_points: int(s.refused.points),
      full: s.full,
      disk_full: s.diskFull,
      held_points: int(m.heldPoints ?? 0),
      dropped_segments: int(s.dropped.segments),
      corrupt_bytes: int(s.dropped.corruptBytes),
    },
    ts,
  })
  const w = m.writer
  const writerFields: Record<string, FieldValue> = {points_written: int(w.points), batches: int(w.batches), errors: int(w.errors), rejected_points: int(w.rejectedPoints), merged_points: int(w.mergedPoints), store_up: w.storeUp}
  if (m.latency.count > 0) {
    writerFields.write_latency_ms = Math.round((m.latency.sumMs / m.latency.count) * 1000) / 1000
    writerFields.write_latency_max_ms = Math.round(m.latency.maxMs * 1000) / 1000
  }
  points.push({measurement: SELF_MEASUREMENT, tags: {component: 'writer'}, fields: writerFields, ts})
  if (m.listener) {
    const l = m.listener
    points.push({
      measurement: SELF_MEASUREMENT,
      tags: {component: 'listener'},
      fields: {requests: int(l.requests), points: int(l.points), rejected_lines: int(l.rejectedLines), bad_requests: int(l.badRequests), unauthorized: int(l.unauthorized), throttled: int(l.throttled), refused_connections: int(l.refusedConnections), connections: int(l.connections), too_large: int(l.tooLarge), overloaded: int(l.overloaded), spool_full: int(l.spoolFull), errors: int(l.errors)},
      ts,
    })
  }
  const f = m.forward
  if (f) points.push({measurement: SELF_MEASUREMENT, tags: {component: 'forward'}, fields: {messages: int(f.messages), duplicates: int(f.duplicates), points: int(f.points), errors: int(f.errors), full: int(f.full)}, ts})
  const mem = process.memoryUsage()
  points.push({measurement: SELF_MEASUREMENT, tags: {component: 'agent'}, fields: {uptime_s: Math.round((m.now - m.startedAt) / 100) / 10, rss_bytes: int(mem.rss), heap_used_bytes: int(mem.heapUsed)}, ts})
  return points
}
