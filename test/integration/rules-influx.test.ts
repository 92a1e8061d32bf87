/**
 * The alert engine against a real influxd: fixture data written to InfluxDB, rules evaluated at
 * successive injected times fire and resolve at the expected evaluation times; alert state lives
 * in state.db (SQLite) and survives a restart of the engine; transitions land in InfluxDB as
 * measurement `alerts`.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {createRuleEngine, type RuleEngine} from '../../src/core/alerting/engine.js'
import {parseRuleText, type RuleGroup} from '../../src/core/alerting/rules.js'
import type {Alert} from '../../src/core/alerting/types.js'
import {ManualClock} from '../../src/core/clock.js'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import {openStateDb, type StateDb} from '../../src/core/state/db.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

const M = 60_000
const T0 = Date.UTC(2026, 0, 5, 12, 0, 0)

const RULES = `groups:
  - name: host
    interval: 1m
    rules:
      - alert: HighCpu
        expr: mean(cpu.usage_user{cpu="cpu-total"}[2m]) by host > 90
        for: 3m
        keep_firing_for: 2m
        labels: {severity: warning}
        annotations:
          summary: 'CPU {{ printf "%.0f" $value }}% on {{ $labels.host }}'
      - alert: DiskFull
        expr: last(disk.used_percent[5m]) by (host, path) > 95
        labels: {severity: critical}
      - alert: Silent
        expr: absent(system.uptime{host="db-01"}[3m])
        labels: {severity: critical}
      - alert: Broken
        expr: mean(app.status[5m]) > 1
`

/**
 * web-01: CPU 95 % from minute 10 to minute 19, 20 % otherwise; web-02 always 20 %.
 * db-01: / fills to 97 % at minute 12 and is cleaned at minute 22; reports uptime until minute 15.
 * app.status is a string field, so the Broken rule's query fails on InfluxDB.
 */
function fixture(): Point[] {
  const points: Point[] = []
  for (let s = 0; s < 30 * 6; s++) {
    const ts = T0 + s * 10_000
    const minute = Math.floor(s / 6)
    points.push({measurement: 'cpu', tags: {host: 'web-01', cpu: 'cpu-total'}, fields: {usage_user: minute >= 10 && minute < 20 ? 95 : 20}, ts})
    points.push({measurement: 'cpu', tags: {host: 'web-02', cpu: 'cpu-total'}, fields: {usage_user: 20}, ts})
    points.push({measurement: 'disk', tags: {host: 'db-01', path: '/'}, fields: {used_percent: minute >= 12 && minute < 22 ? 97 : 60}, ts})
    if (minute < 15) points.push({measurement: 'system', tags: {host: 'db-01'}, fields: {uptime: BigInt(1000 + s * 10)}, ts})
    points.push({measurement: 'app', tags: {}, fields: {status: 'ok'}, ts})
  }

  return points
}

describe('alert engine on InfluxDB', () => {
  let influxd: RunningServer
  let store: InfluxStore
  let stateDb: StateDb
  let groups: RuleGroup[]
  const tmp = tempDir('mon-rules-influx-')
  const clock = new ManualClock(T0)
  const pushes: Array<{at: number; alerts: Alert[]}> = []
  const make = (): RuleEngine => createRuleEngine({groups, store, stateDb, clock, sink: {push: (alerts, at) => void pushes.push({at, alerts})}, cache: {step: M}})

  before(async () => {
    influxd = await startInfluxd()
    store = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'rules'}))
    await store.init()
    await store.write(fixture())
    stateDb = openStateDb(join(tmp.dir, 'data'))
    const parsed = parseRuleText(RULES, 'rules.yaml')
    assert.deepEqual(parsed.problems, [])
    groups = parsed.groups
  })

  after(async () => {
    stateDb?.close()
    await store?.close()
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('fires and resolves at the expected evaluation times, surviving a restart, with the series in InfluxDB', async () => {
    let engine = make()
    const timeline: string[] = []
    for (let minute = 0; minute <= 28; minute++) {
      const at = T0 + minute * M
      clock.set(at)
      // the daemon restarts at minute 16, while HighCpu and DiskFull are firing
      if (minute === 16) engine = make()
      const [ev] = await engine.evaluateAll(at)
      // the failing rule is reported every time and never stops the others
      assert.equal(ev.rules.find((r) => r.rule === 'host/Broken')?.health, 'error', `minute ${minute}`)
      for (const t of ev.transitions) timeline.push(`${minute} ${t.alert.labels.alertname}${t.alert.labels.host ? `(${t.alert.labels.host})` : ''} ${t.from}→${t.to}`)
    }

    assert.deepEqual(timeline, [
      // the 2m mean holds only 95s from minute 12 (at minute 11 it still averages in five 20s)
      '12 HighCpu(web-01) inactive→pending',
      '12 DiskFull(db-01) inactive→firing',
      // for: 3m
      '15 HighCpu(web-01) pending→firing',
      // db-01 last reported at 14m50s: absent over (t-3m, t] from minute 18
      '18 Silent(db-01) inactive→firing',
      // web-01 is back to 20 % at minute 20, the mean drops below 90 then; keep_firing_for: 2m
      '22 HighCpu(web-01) firing→resolved',
      '22 DiskFull(db-01) firing→resolved',
    ])

    // the restart did not fire anything again
    const firing = timeline.filter((l) => l.endsWith('→firing'))
    assert.equal(new Set(firing.map((l) => l.split(' ')[1])).size, firing.length)

    // the sink heard of the resolutions once each
    const resolved = pushes.flatMap((p) => p.alerts.filter((a) => a.state === 'resolved').map((a) => `${(p.at - T0) / M} ${a.labels.alertname}`))
    assert.deepEqual(resolved.sort(), ['22 DiskFull', '22 HighCpu'])
    const cpu = pushes.flatMap((p) => p.alerts).find((a) => a.labels.alertname === 'HighCpu' && a.state === 'resolved')!
    assert.equal(cpu.activeAt, T0 + 12 * M)
    assert.equal(cpu.firedAt, T0 + 15 * M)
    assert.equal(cpu.annotations.summary, 'CPU 95% on web-01')

    // transitions are in InfluxDB, as measurement `alerts`
    const frames = await store.query({measurement: 'alerts', field: 'value', matchers: [{name: 'alertname', op: '=', value: 'HighCpu'}], start: T0, end: T0 + 30 * M})
    const series = frames.flatMap((f) => f.rows.map((r) => `${(Number(r[0]) - T0) / M} ${f.tags.alertstate} ${r[1]} ${f.tags.host} ${f.tags.severity}`)).sort()
    assert.deepEqual(series, ['12 pending 1 web-01 warning', '15 firing 1 web-01 warning', '22 resolved 0 web-01 warning'])
  })

  it('a recording rule writes its series to InfluxDB and the next rule of the group reads it in the same evaluation', async () => {
    const parsed = parseRuleText(
      `groups:
  - name: recorded
    rules:
      - record: host.cpu_mean
        expr: mean(cpu.usage_user{cpu="cpu-total"}[2m]) by host
        labels: {recorded_by: mon}
      - alert: HotHost
        expr: host.cpu_mean > 90
`,
      'recorded.yaml',
    )
    assert.deepEqual(parsed.problems, [])
    // off the cache step, as the daemon's timer evaluates
    const at = T0 + 15 * M + 500
    const engine = createRuleEngine({groups: parsed.groups, store, clock: new ManualClock(at), cache: {step: M}})
    const ev = await engine.evaluateGroup('recorded', at)
    assert.deepEqual(ev.rules.map((r) => [r.rule, r.type, r.health, r.recorded]), [
      ['recorded/host.cpu_mean', 'record', 'ok', 2],
      ['recorded/HotHost', 'alert', 'ok', undefined],
    ])
    assert.deepEqual(engine.activeAlerts().map((a) => [a.labels.alertname, a.labels.host, a.labels.recorded_by, a.state, a.value]), [['HotHost', 'web-01', 'mon', 'firing', 95]])
    const frames = await store.query({measurement: 'host', field: 'cpu_mean', matchers: [], start: T0, end: T0 + 30 * M})
    assert.deepEqual(frames.map((f) => [f.tags.host, f.tags.recorded_by, f.rows]), [
      ['web-01', 'mon', [[at, 95]]],
      ['web-02', 'mon', [[at, 20]]],
    ])
  })
})
