import assert from 'node:assert/strict'
import {join} from 'node:path'
import {describe, it} from 'node:test'
import {createRuleEngine, type RuleEngineOptions} from '../../src/core/alerting/engine.js'
import {alertFingerprint, groupKey} from '../../src/core/alerting/fingerprint.js'
import {ALERTING_MIGRATIONS, openAlertReader} from '../../src/core/alerting/persist.js'
import type {Alert} from '../../src/core/alerting/types.js'
import type {Point} from '../../src/core/model/point.js'
import {openStateDb} from '../../src/core/state/db.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {cpuPoints, M, ruleWorlds, rules, T0} from '../helpers/rule-world.js'

class RecordingSink {
  pushes: Array<{at: number; alerts: Array<{name: string; host?: string; state: string}>}> = []
  push(alerts: Alert[], now: number): void {
    this.pushes.push({at: now, alerts: alerts.map((a) => ({name: a.labels.alertname, host: a.labels.host, state: a.state}))})
  }
}

const worlds = ruleWorlds('mon-engine-')
const tmp = worlds.tmp
function setup(points: Point[], yaml: string, extra: Partial<RuleEngineOptions> = {}) {
  const {dir, clock, store, stateDb, groups} = worlds.open(points, yaml)
  const sink = new RecordingSink()
  const make = (more: Partial<RuleEngineOptions> = {}) => createRuleEngine({groups, store, stateDb, clock, sink, ...extra, ...more})
  return {dir, clock, store, stateDb, sink, groups, engine: make(), make}
}

const CPU_RULE = `groups:
  - name: host
    rules:
      - alert: HighCpu
        expr: max(cpu.busy[1m]) by host > 90
        for: 2m
        labels: {severity: warning}
        annotations: {summary: 'CPU {{ $value }} on {{ $labels.host }}'}
`

describe('alert engine', () => {
  it('fires and resolves at the expected evaluation times, with history, series and sink pushes', async () => {
    // a: busy from minute 2 to minute 6; b: never
    const s = setup(cpuPoints({a: [10, 10, 95, 96, 97, 98, 99, 10, 10, 10], b: [10, 10, 10, 10, 10, 10, 10, 10, 10, 10]}), CPU_RULE)
    const states: string[] = []
    for (let i = 0; i < 10; i++) {
      const ev = await s.engine.evaluateAll(T0 + i * M)
      states.push(s.engine.activeAlerts().map((a) => `${a.labels.host}:${a.state}`).join(',') || '-')
      assert.equal(ev[0].rules[0].health, 'ok')
      assert.equal(s.engine.ruleStatus()[0].activeAlerts, s.engine.activeAlerts().length)
    }

    assert.deepEqual(states, ['-', '-', 'a:pending', 'a:pending', 'a:firing', 'a:firing', 'a:firing', '-', '-', '-'])
    const fp = alertFingerprint('host', {alertname: 'HighCpu', host: 'a', severity: 'warning'})
    const alert = s.engine.getAlert(fp)!
    assert.equal(alert.state, 'resolved')
    assert.equal(alert.activeAt, T0 + 2 * M)
    assert.equal(alert.firedAt, T0 + 4 * M)
    assert.equal(alert.resolvedAt, T0 + 7 * M)
    assert.equal(alert.annotations.summary, 'CPU 99 on a')
    assert.deepEqual(
      s.engine.history(fp).map((t) => `${t.from}→${t.to}@${(t.at - T0) / M}`),
      ['firing→resolved@7', 'pending→firing@4', 'inactive→pending@2'],
    )
    // the sink hears of firing alerts at every evaluation and of the resolution once
    assert.deepEqual(
      s.sink.pushes.map((p) => `${(p.at - T0) / M}:${p.alerts.map((a) => a.state).join(',')}`),
      ['4:firing', '5:firing', '6:firing', '7:resolved'],
    )
    // ALERTS-like series: one point per transition
    const frames = await s.store.query({measurement: 'alerts', field: 'value', matchers: [{name: 'alertname', op: '=', value: 'HighCpu'}], start: T0, end: T0 + 10 * M})
    const points = frames.flatMap((f) => f.rows.map((r) => `${(Number(r[0]) - T0) / M}:${f.tags.alertstate}:${r[1]}:${f.tags.host}:${f.tags.severity}`)).sort()
    assert.deepEqual(points, ['2:pending:1:a:warning', '4:firing:1:a:warning', '7:resolved:0:a:warning'])
  })

  it('continues after a restart without firing again', async () => {
    const s = setup(cpuPoints({a: Array(20).fill(95)}), CPU_RULE)
    for (let i = 0; i <= 3; i++) await s.engine.evaluateAll(T0 + i * M)
    const [before] = s.engine.activeAlerts()
    assert.equal(before.state, 'firing')
    assert.equal(before.firedAt, T0 + 2 * M)

    // a new engine on the same state.db: the daemon restarted
    const again = s.make()
    assert.deepEqual(again.activeAlerts(), [before])
    const ev = await again.evaluateAll(T0 + 4 * M)
    assert.deepEqual(ev[0].transitions, [], 'no transition: the alert was already firing')
    const [after] = again.activeAlerts()
    assert.equal(after.firedAt, T0 + 2 * M)
    assert.equal(after.activeAt, T0)
    assert.equal(after.fingerprint, before.fingerprint)
    assert.equal(again.history(after.fingerprint).filter((t) => t.to === 'firing').length, 1)

    // a pending alert also keeps its activeAt across a restart
    const s2 = setup(cpuPoints({a: Array(20).fill(95)}), CPU_RULE.replace('for: 2m', 'for: 5m'))
    await s2.engine.evaluateAll(T0)
    await s2.make().evaluateAll(T0 + 5 * M)
    const reader = openAlertReader(s2.dir)
    try {
      const [a] = reader.list()
      assert.equal(a.state, 'firing')
      assert.equal(a.activeAt, T0)
    } finally {
      reader.close()
    }
  })

  it('a failing rule is reported and does not stop the others; on_error decides its alerts', async () => {
    const points: Point[] = [...cpuPoints({a: Array(10).fill(95)}), {measurement: 'app', tags: {host: 'a'}, fields: {status: 'ok'}, ts: T0}]
    const yaml = `groups:
  - name: g
    rules:
      - alert: Broken
        expr: mean(app.status) > 1
      - alert: BrokenAlerting
        expr: mean(app.status) > 1
        on_error: alerting
        labels: {severity: critical}
      - alert: HighCpu
        expr: max(cpu.busy[1m]) by host > 90
`
    const s = setup(points, yaml)
    const [ev] = await s.engine.evaluateAll(T0)
    assert.deepEqual(ev.rules.map((r) => r.health), ['error', 'error', 'ok'])
    assert.match(ev.rules[0].error!, /app\.status holds strings/)
    const active = s.engine.activeAlerts().map((a) => `${a.labels.alertname}:${a.state}:${a.health}`)
    assert.deepEqual(active.sort(), ['BrokenAlerting:firing:error', 'HighCpu:firing:ok'])
    const broken = s.engine.activeAlerts().find((a) => a.labels.alertname === 'BrokenAlerting')!
    assert.deepEqual(broken.labels, {alertname: 'BrokenAlerting', severity: 'critical'})
    assert.match(broken.error!, /app\.status holds strings/)
    const status = s.engine.ruleStatus()
    assert.equal(status[0].health, 'error')
    assert.equal(s.engine.stats().ruleErrors, 2)
  })

  // policy × outcome → state of an alert that was firing before the data went away / the query broke
  const policyCases: Array<{policy: 'ok' | 'keep' | 'alerting'; via: 'no_data' | 'on_error'; want: string}> = [
    {policy: 'ok', via: 'no_data', want: 'resolved'},
    {policy: 'keep', via: 'no_data', want: 'firing'},
    {policy: 'alerting', via: 'no_data', want: 'firing'},
    {policy: 'ok', via: 'on_error', want: 'resolved'},
    {policy: 'keep', via: 'on_error', want: 'firing'},
    {policy: 'alerting', via: 'on_error', want: 'firing'},
  ]
  for (const c of policyCases) {
    it(`${c.via}: ${c.policy} → a firing alert is ${c.want}`, async () => {
      // data for minutes 0–2 only: from minute 5 on the selectors find nothing
      const yaml = `groups:
  - name: g
    rules:
      - alert: HighCpu
        expr: max(cpu.busy[1m]) by host > 90
        ${c.via}: ${c.policy}
`
      const s = setup(cpuPoints({a: [95, 95, 95]}), yaml)
      await s.engine.evaluateAll(T0 + 2 * M)
      assert.equal(s.engine.activeAlerts()[0]?.state, 'firing')
      // the same rule (same id, so its alerts carry over) reading a string field: the query fails
      s.store.writeSync([{measurement: 'app', tags: {}, fields: {status: 'x'}, ts: T0 + 5 * M}])
      const groups = c.via === 'on_error' ? rules(yaml.replace('cpu.busy', 'app.status')) : s.groups
      const engine = s.make({groups})
      const [ev] = await engine.evaluateAll(T0 + 5 * M)
      assert.equal(ev.rules[0].health, c.via === 'on_error' ? 'error' : 'nodata')
      const fp = alertFingerprint('g', {alertname: 'HighCpu', host: 'a'})
      assert.equal(engine.getAlert(fp)?.state, c.want)
    })
  }

  it('no_data: alerting with nothing to carry it creates one alert for the rule, which resolves when data comes', async () => {
    const s = setup([], `groups:
  - name: g
    rules:
      - alert: Quiet
        expr: mean(cpu.busy{host="db"}[5m]) by host > 90
        no_data: alerting
        labels: {severity: page}
`)
    await s.engine.evaluateAll(T0)
    assert.deepEqual(s.engine.activeAlerts().map((a) => [a.labels, a.state, a.health, a.value]), [[{alertname: 'Quiet', severity: 'page'}, 'firing', 'nodata', null]])
    s.store.writeSync(cpuPoints({db: [10]}).map((p) => ({...p, ts: T0 + M})))
    await s.engine.evaluateAll(T0 + 2 * M)
    assert.deepEqual(s.engine.activeAlerts(), [])
    assert.equal(s.engine.ruleStatus()[0].health, 'ok')
  })

  it('an empty result after a comparison is not "no data"', async () => {
    const s = setup(cpuPoints({a: [10]}), CPU_RULE.replace('for: 2m', 'no_data: alerting'))
    const [ev] = await s.engine.evaluateAll(T0)
    assert.equal(ev.rules[0].health, 'ok')
    assert.deepEqual(s.engine.activeAlerts(), [])
  })

  it('one condition is one alert: samples that end up with the same labels are deduplicated', async () => {
    const s = setup(cpuPoints({a: [95], b: [96]}), `groups:
  - name: g
    rules:
      - alert: AnyHot
        expr: max(cpu.busy[1m]) by host > 90
        labels: {host: fleet}
`)
    await s.engine.evaluateAll(T0)
    assert.equal(s.engine.activeAlerts().length, 1)
    assert.deepEqual(s.engine.activeAlerts()[0].labels, {alertname: 'AnyHot', host: 'fleet'})
    assert.equal(s.engine.stats().duplicates, 1)
  })

  it('a rule over the group limit is an error', async () => {
    const s = setup(cpuPoints({a: [95], b: [96], c: [97]}), `groups:
  - name: g
    limit: 2
    rules:
      - alert: Hot
        expr: max(cpu.busy[1m]) by host > 90
`)
    const [ev] = await s.engine.evaluateAll(T0)
    assert.equal(ev.rules[0].health, 'error')
    assert.match(ev.rules[0].error!, /3 alerts, more than the group's limit of 2/)
  })

  it('alerts of a rule that was removed resolve and are handed on with the next evaluation', async () => {
    const s = setup(cpuPoints({a: Array(5).fill(95)}), CPU_RULE.replace('for: 2m', 'for: 0s') + `  - name: other
    rules:
      - alert: Never
        expr: max(cpu.busy[1m]) by host > 1000
`)
    await s.engine.evaluateAll(T0)
    assert.equal(s.engine.activeAlerts().length, 1)
    s.engine.replaceGroups(s.groups.filter((g) => g.name === 'other'))
    assert.deepEqual(s.engine.activeAlerts(), [])
    s.sink.pushes = []
    await s.engine.evaluateGroup('other', T0 + M)
    assert.deepEqual(s.sink.pushes, [{at: T0 + M, alerts: [{name: 'HighCpu', host: 'a', state: 'resolved'}]}])
    await assert.rejects(s.engine.evaluateGroup('hots', T0), /no rule group named 'hots'/)
  })

  it('rules sharing a query share one store query; stats go to mon_internal', async () => {
    const s = setup(cpuPoints({a: [95]}), `groups:
  - name: g
    rules:
      - alert: Warm
        expr: max(cpu.busy[1m]) by host > 50
      - alert: Hot
        expr: max(cpu.busy[1m]) by host > 90
      - alert: Other
        expr: min(cpu.busy[1m]) by host > 90
`, {internalTags: {host: 'mon-1'}})
    await s.engine.evaluateAll(T0)
    // Warm reads cpu.busy raw once; Hot is the same plan; Other is computed from Warm's read
    assert.deepEqual({hits: s.engine.stats().cache!.hits, misses: s.engine.stats().cache!.misses}, {hits: 2, misses: 1})
    const frames = await s.store.query({measurement: 'mon_internal', field: 'cache_hits', matchers: [{name: 'component', op: '=', value: 'rules'}], start: T0, end: T0 + 1})
    assert.deepEqual(frames.map((f) => [f.tags, f.rows]), [[{component: 'rules', host: 'mon-1'}, [[T0, 2]]]])
  })

  it('a group that cannot be saved is reported by evaluateAll, which goes on with the others', async () => {
    const s = setup(cpuPoints({a: [95]}), CPU_RULE + `  - name: second
    rules:
      - alert: Other
        expr: max(cpu.busy[1m]) by host > 1
`)
    s.stateDb.close()
    const out = await s.engine.evaluateAll(T0)
    assert.deepEqual(out.map((g) => [g.group, /database connection is not open/.test(g.error ?? '')]), [['host', true], ['second', true]])
    await assert.rejects(s.engine.evaluateGroup('host', T0), /database connection is not open/)
  })

  it('works without a state database (in memory) and migrates state.db once', () => {
    const db = openStateDb(join(tmp.dir, 'mig'), ALERTING_MIGRATIONS)
    const applied = db.prepare("SELECT id FROM migrations WHERE id LIKE 'alerting/%'").all()
    assert.deepEqual(applied, [{id: 'alerting/1'}])
    db.close()
    const e = createRuleEngine({groups: rules(CPU_RULE), store: new SqliteStore({path: ':memory:'})})
    assert.equal(e.stats().rules, 1)
  })
})

describe('fingerprints and grouping keys', () => {
  it('are stable: same labels in any order, pinned value (a change would re-fire every alert after an upgrade)', () => {
    const a = alertFingerprint('host', {alertname: 'HighCpu', host: 'a', severity: 'warning'})
    assert.equal(a, alertFingerprint('host', {severity: 'warning', host: 'a', alertname: 'HighCpu', empty: ''}))
    assert.equal(a, 'f82066f1ab07762a')
    assert.notEqual(a, alertFingerprint('other', {alertname: 'HighCpu', host: 'a', severity: 'warning'}))
    assert.notEqual(a, alertFingerprint('host', {alertname: 'HighCpu', host: 'b', severity: 'warning'}))
    assert.match(a, /^[0-9a-f]{16}$/)
  })

  it('group keys follow group_by', () => {
    const l = {alertname: 'X', host: 'a', team: 'db'}
    assert.equal(groupKey(l, ['team']), groupKey({...l, host: 'b'}, ['team']))
    assert.notEqual(groupKey(l, ['team', 'host']), groupKey({...l, host: 'b'}, ['team', 'host']))
    assert.notEqual(groupKey(l, ['...']), groupKey({...l, host: 'b'}, ['...']))
    assert.equal(groupKey(l, []), groupKey({alertname: 'Y'}, []))
  })
})
