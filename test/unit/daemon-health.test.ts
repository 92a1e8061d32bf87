/** /healthz and /metrics as pure functions of what the daemon knows about itself. */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {assessHealth, healthHttpStatus} from '../../src/core/daemon/health.js'
import {renderMetrics} from '../../src/core/daemon/metrics.js'
import {statusView} from '../../src/core/daemon/status.js'
import {renderStatus} from '../../src/cli/render/status.js'
import type {DaemonFacts} from '../../src/core/daemon/types.js'
import {parsePrometheusText} from '../../src/core/model/prometheus-text.js'

const NOW = Date.UTC(2026, 0, 15, 12, 0, 0)

function facts(change: (f: DaemonFacts) => void = () => {}): DaemonFacts {
  const f: DaemonFacts = {
    now: NOW,
    pid: 4242,
    version: '1.2.3',
    startedAt: NOW - 3_600_000,
    state: 'running',
    dataDir: '/var/lib/mon',
    configFile: '/etc/mon/mon.yaml',
    storeName: 'sqlite:/var/lib/mon/mon.db',
    api: {url: 'http://127.0.0.1:9464'},
    agent: {
      startedAt: NOW - 3_600_000,
      running: true,
      inputs: [
        {name: 'host', kind: 'host', schedule: 'every 10s', gathered: 3600, written: 3600, dropped: 0, errors: 0, runs: 360, points: 10, missed: 0, overlapped: 0, lastRun: NOW - 5000, lastDurationMs: 12, lastOk: true},
        {name: 'http:api', kind: 'http', schedule: 'every 30s', gathered: 120, written: 120, dropped: 0, errors: 0, runs: 120, points: 1, missed: 0, overlapped: 0},
        {name: 'internal', kind: 'internal', schedule: 'every 10s', gathered: 360, written: 360, dropped: 0, errors: 0, runs: 360, points: 1, missed: 0, overlapped: 0},
      ],
      spool: {dir: '/var/lib/mon/spool', bytes: 1024, segments: 1, records: 0, points: 0, oldestAgeMs: 0, dropped: {records: 0, points: 0, segments: 0, corruptBytes: 0}, droppedByInput: {}, droppedByReason: {}, appended: {records: 1, points: 1}, acked: {records: 1, points: 1}, recovered: {records: 0, points: 0}, maxBytes: 1 << 30, whenFull: 'drop_oldest', refused: {records: 0, points: 0}, full: false, diskFull: false},
      heldPoints: 0,
      writer: {batches: 360, points: 4080, errors: 0, rejected: 0, rejectedPoints: 0, mergedPoints: 0, storeUp: true, writtenByInput: {}, latency: {count: 0, sumMs: 0, maxMs: 0}, lastWriteAt: NOW - 4000},
    },
    rules: {
      files: ['/etc/mon/rules/host.yaml'],
      groups: [{name: 'host', file: 'rules/host.yaml', schedule: 'every 1m', rules: 2, lastEvalAt: NOW - 30_000, lastDurationMs: 3.5, failing: 0, job: {name: 'rules:host', schedule: 'every 1m', running: false, runs: 60, missed: 0, overlapped: 0, nextRun: NOW + 30_000}}],
      rules: [
        {id: 'host/DiskFull', group: 'host', name: 'DiskFull', health: 'ok', samples: 1, activeAlerts: 1},
        {id: 'host/HighLoad', group: 'host', name: 'HighLoad', health: 'ok', samples: 0, activeAlerts: 0},
      ],
      stats: {groups: 1, rules: 2, evaluations: 120, ruleErrors: 0, duplicates: 0, pending: 0, firing: 1},
    },
    alerts: {firing: 1, acked: 0, pending: 0},
    outbox: {pending: 0, sending: 0, delivered: 7, dead: 0, dropped: 0},
    notify: {routes: true, ticks: 1800, delivered: 7, retried: 0, dead: 0, enqueued: 7},
    maintenance: {enabled: true, intervalMs: 300_000, runs: 12, failures: 0, lastRunAt: NOW - 60_000, lastDurationMs: 40},
    reload: {count: 0, failures: 0, lastSuccessAt: NOW - 3_600_000},
    recent: [],
  }
  change(f)
  return f
}

describe('health', () => {
  const table: Array<[string, (f: DaemonFacts) => void, string, string | undefined, RegExp | undefined]> = [
    ['everything fine', () => {}, 'ok', undefined, undefined],
    ['an input failing', (f) => (f.agent.inputs[1].lastError = 'connect ECONNREFUSED'), 'degraded', 'collector', /1 of 2 inputs failing: http:api/],
    ['the store unreachable', (f) => Object.assign(f.agent.writer, {storeUp: false, lastError: 'connect ECONNREFUSED 127.0.0.1:8086'}), 'degraded', 'store', /unreachable: connect ECONNREFUSED.*points wait in the spool/],
    ['the spool lagging', (f) => Object.assign(f.agent.spool, {points: 5000, oldestAgeMs: 600_000}), 'degraded', 'spool', /5000 points waiting for the store, the oldest for 10m/],
    ['the spool full with when_full: reject', (f) => Object.assign(f.agent.spool, {points: 5000, full: true, whenFull: 'reject'}), 'degraded', 'spool', /spool full \(max_bytes 1GiB, when_full: reject\): new points are refused/],
    ['the disk full', (f) => Object.assign(f.agent, {heldPoints: 1200, spool: {...f.agent.spool, points: 40, diskFull: true}}), 'degraded', 'spool', /disk full: the spool cannot be written .*; 1200 points held in memory, 40 points waiting in the spool/],
    ['a rule failing', (f) => (f.rules.rules[1] = {...f.rules.rules[1], health: 'error', lastError: 'boom'}), 'degraded', 'rules', /1 of 2 rules failing: host\/HighLoad/],
    ['dead notifications', (f) => (f.outbox.dead = 2), 'degraded', 'notify', /2 dead notifications/],
    ['a rejected reload', (f) => Object.assign(f.reload, {count: 1, failures: 1, lastOk: false, lastError: 'rules.yaml:3:9: unknown function'}), 'degraded', 'config', /rejected \(running the previous config\): rules\.yaml:3:9/],
    ['a failed retention pass', (f) => (f.maintenance.lastError = 'disk I/O error'), 'degraded', 'maintenance', /disk I\/O error/],
    ['no routes', (f) => (f.notify.routes = false), 'ok', 'notify', /not delivered/],
    ['starting', (f) => (f.state = 'starting'), 'starting', undefined, undefined],
    ['stopping', (f) => (f.state = 'stopping'), 'stopping', undefined, undefined],
  ]
  for (const [what, change, status, component, message] of table) {
    it(what, () => {
      const h = assessHealth(facts(change))
      assert.equal(h.status, status)
      assert.equal(healthHttpStatus(h), status === 'ok' || status === 'degraded' ? 200 : 503)
      if (component) assert.match(h.components[component as keyof typeof h.components].message, message!)
      assert.equal(h.uptimeMs, 3_600_000)
    })
  }
})

describe('metrics', () => {
  it('is valid Prometheus text with the self-metrics', () => {
    const f = facts((x) => {
      x.agent.inputs[1].name = 'http:"odd\\name"\n'
      x.agent.inputs[1].lastError = 'down'
      x.agent.inputs.push({name: 'statsd', kind: 'statsd', schedule: 'every 10s', gathered: 9, written: 9, dropped: 0, errors: 0, runs: 3, points: 3, missed: 0, overlapped: 0, service: {datagrams: 120, lines: 130, parse_errors_bad_type: 2, kernel_drops: 5}})
    })
    const text = renderMetrics(f, assessHealth(f), {cpuSeconds: 1.5, residentBytes: 50e6, heapUsedBytes: 20e6, openFds: 30})
    const parsed = parsePrometheusText(text)
    assert.deepEqual(parsed.errors, [])
    const family = (name: string) => parsed.families.find((fam) => fam.name === name)
    const value = (name: string, labels: Record<string, string> = {}) => family(name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
    assert.equal(family('mon_input_runs_total')?.type, 'counter')
    assert.equal(value('mon_input_runs_total', {input: 'host'}), 360)
    assert.equal(value('mon_input_up', {input: 'http:"odd\\name"\n'}), 0, 'label values are escaped and round-trip')
    assert.equal(value('mon_up'), 1)
    // a service input's own counters, the kernel's UDP drops among them
    assert.equal(family('mon_input_service_total')?.type, 'counter')
    assert.equal(value('mon_input_service_total', {input: 'statsd', counter: 'kernel_drops'}), 5)
    assert.equal(value('mon_input_service_total', {input: 'statsd', counter: 'parse_errors_bad_type'}), 2)
    assert.equal(value('mon_component_healthy', {component: 'collector'}), 0)
    assert.equal(value('mon_rules'), 2)
    assert.equal(value('mon_alerts', {state: 'firing'}), 1)
    assert.equal(value('mon_rule_group_last_duration_seconds', {group: 'host'}), 0.0035)
    assert.equal(value('mon_notify_outbox', {status: 'delivered'}), 7)
    assert.equal(value('mon_store_up'), 1)
    assert.equal(value('mon_spool_disk_full'), 0)
    assert.equal(value('mon_held_points'), 0)
    assert.equal(value('process_resident_memory_bytes'), 50e6)
    assert.equal(value('mon_config_last_reload_successful'), 1)
    assert.equal(value('mon_build_info', {version: '1.2.3'}), 1)
    for (const fam of parsed.families) assert.ok(fam.help, `${fam.name} has HELP`)
  })
})

describe('metrics: drops by reason', () => {
  it('every input has a dropped counter per reason, adding up to its dropped total', () => {
    const f = facts((x) => Object.assign(x.agent.inputs[1], {dropped: 3, droppedBy: {unserializable: 2, store_rejected: 1}}))
    const parsed = parsePrometheusText(renderMetrics(f, assessHealth(f), {cpuSeconds: 1, residentBytes: 1, heapUsedBytes: 1, openFds: 1}))
    assert.deepEqual(parsed.errors, [])
    const samples = parsed.families.find((fam) => fam.name === 'mon_input_points_dropped_by_reason_total')!.samples.filter((s) => s.labels.input === 'http:api')
    assert.deepEqual(Object.fromEntries(samples.map((s) => [s.labels.reason, s.value])), {unserializable: 2, spool_write_failed: 0, spool_full: 0, spool_corrupt: 0, store_rejected: 1})
  })
})

describe('status view', () => {
  it('uses RFC 3339 times and says where it came from', () => {
    const f = facts()
    const v = statusView(f, assessHealth(f), 'snapshot')
    assert.equal(v.source, 'snapshot')
    assert.equal(v.startedAt, '2026-01-15T11:00:00.000Z')
    assert.equal(v.inputs[0].lastRun, '2026-01-15T11:59:55.000Z')
    assert.equal(v.ruleGroups[0].nextEval, '2026-01-15T12:00:30.000Z')
    assert.equal(v.store.up, true)
    assert.deepEqual(v.alerts, {firing: 1, acked: 0, pending: 0})
  })

  it('shows what each input dropped and why', () => {
    const f = facts((x) => Object.assign(x.agent.inputs[1], {gathered: 120, written: 117, dropped: 3, droppedBy: {unserializable: 2, store_rejected: 1}}))
    const v = statusView(f, assessHealth(f), 'api')
    assert.deepEqual([v.inputs[1].dropped, v.inputs[1].droppedBy], [3, {unserializable: 2, store_rejected: 1}])
    assert.deepEqual(v.inputs[0].droppedBy, {})
    const text = renderStatus({running: true, pid: 4242, dataDir: '/var/lib/mon', daemon: v, dataDirFacts: null, notes: []}, NOW)
    assert.match(text, /NAME +SCHEDULE +LAST RUN +POINTS +ERRORS +DROPPED +LAST ERROR/)
    assert.match(text, /http:api .* 3 \(2 unserializable, 1 store_rejected\)/)
  })

  it('shows a full disk and the points held in memory (status line, --json view, metrics)', () => {
    const f = facts((x) => Object.assign(x.agent, {heldPoints: 1200, spool: {...x.agent.spool, diskFull: true}}))
    const v = statusView(f, assessHealth(f), 'api')
    assert.deepEqual([v.spool.diskFull, v.spool.heldPoints, v.health], [true, 1200, 'degraded'])
    const text = renderStatus({running: true, pid: 4242, dataDir: '/var/lib/mon', daemon: v, dataDirFacts: null, notes: []}, NOW)
    assert.match(text, /^spool .*; disk full: 1200 points held in memory until there is room$/m)
    const parsed = parsePrometheusText(renderMetrics(f, assessHealth(f), {cpuSeconds: 1, residentBytes: 1, heapUsedBytes: 1, openFds: 1}))
    const value = (name: string) => parsed.families.find((fam) => fam.name === name)?.samples[0]?.value
    assert.deepEqual([value('mon_spool_disk_full'), value('mon_held_points')], [1, 1200])
  })

  it('spool sizes on disk in the shared human format ("8 B", "1.5 KB"), as store info prints them; max_bytes as configured', () => {
    const f = facts((x) => Object.assign(x.agent.spool, {bytes: 8}))
    const text = renderStatus({running: true, pid: 4242, dataDir: '/var/lib/mon', daemon: statusView(f, assessHealth(f), 'api'), dataDirFacts: null, notes: []}, NOW)
    assert.match(text, /, 8 B on disk; max 1GiB/)
    const g = facts((x) => Object.assign(x.agent.spool, {bytes: 1536}))
    assert.match(renderStatus({running: true, pid: 4242, dataDir: '/var/lib/mon', daemon: statusView(g, assessHealth(g), 'api'), dataDirFacts: null, notes: []}, NOW), /, 1\.5 KB on disk/)
    const stopped = renderStatus({running: false, pid: null, dataDir: '/var/lib/mon', daemon: null, dataDirFacts: {spoolPendingBytes: 2048}, notes: []}, NOW)
    assert.match(stopped, /spool +2 KB of points not yet written/)
  })
})
