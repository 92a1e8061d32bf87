/**
 * Recording rules as a user runs them (the real bin/run.js, the embedded store): a group whose
 * recording rule writes `job.requests_rate` and whose alerting rule reads it in the same
 * evaluation; `mon alerts eval --once --at T` records and fires, `mon query` reads the recorded
 * series, `mon rules eval` evaluates them without writing, `mon rules check` counts them and
 * `mon rules test` reads them with promql_expr_test.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {AlertsEvalOnceSummary} from '../../src/core/daemon/cron.js'
import type {Point} from '../../src/core/model/point.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const T = Date.UTC(2026, 0, 5, 10, 0, 0)
const iso = (ms: number) => new Date(ms).toISOString()

const RULES = `groups:
  - name: jobs
    interval: 1m
    rules:
      - record: job.requests_rate
        expr: max(http.rps) by (job)
        labels: {recorded_by: mon}
      - alert: HighRequestRate
        expr: job.requests_rate > 5
        labels: {severity: warning}
        annotations: {summary: '{{ $labels.job }} at {{ $value }} req/s'}
`

describe('recording rules end to end', () => {
  const tmp = tempDir('mon-recording-')
  const dataDir = join(tmp.dir, 'data')
  const config = join(tmp.dir, 'mon.yaml')
  const rules = join(tmp.dir, 'rules.yaml')
  const env = {XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data')}

  before(async () => {
    writeFileSync(rules, RULES)
    writeFileSync(config, `data_dir: ${dataDir}\nrules: {files: [rules.yaml]}\n`)
    // requests per second every 30 s over the 10 minutes before T: api 12 and 8 on two hosts, web 1
    // (steady values: the expression means the same whether max reads the window or the last sample)
    const points: Point[] = []
    for (let i = 0; i <= 20; i++) {
      const ts = T - 10 * 60_000 + i * 30_000
      points.push({measurement: 'http', tags: {job: 'api', host: 'a'}, fields: {rps: 12}, ts})
      points.push({measurement: 'http', tags: {job: 'api', host: 'b'}, fields: {rps: 8}, ts})
      points.push({measurement: 'http', tags: {job: 'web', host: 'a'}, fields: {rps: 1}, ts})
    }

    const store = new SqliteStore({path: join(dataDir, 'mon.db')})
    store.writeSync(points)
    await store.close()
  })
  after(() => tmp.cleanup())

  it('mon rules check: valid, the recording rule counted', async () => {
    const r = await runMon(['rules', 'check', rules, '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.deepEqual(JSON.parse(r.stdout).files.map((f: {rules: number; recording: number}) => [f.rules, f.recording]), [[2, 1]])
    const text = await runMon(['rules', 'check', rules], {env})
    assert.match(text.stdout, /rules\.yaml: 1 group\(s\), 2 rule\(s\) \(1 recording\): OK/)
  })

  it('mon rules eval: the alert reads the recorded series from memory; nothing is written', async () => {
    const r = await runMon(['rules', 'eval', '--config', config, '--at', iso(T), '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as {alerts: Array<{labels: Record<string, string>; state: string; value: number}>; rules: Array<{id: string; type: string; health: string; samples: number}>}
    assert.deepEqual(out.rules.map((x) => [x.id, x.type, x.health, x.samples]), [
      ['jobs/job.requests_rate', 'record', 'ok', 2],
      ['jobs/HighRequestRate', 'alert', 'ok', 1],
    ])
    assert.deepEqual(out.alerts.map((a) => [a.labels.job, a.labels.recorded_by, a.state, a.value]), [['api', 'mon', 'firing', 12]])
    const text = await runMon(['rules', 'eval', '--config', config, '--at', iso(T)], {env})
    assert.match(text.stdout, /would record jobs\/job\.requests_rate: 2 series \(not written\)/)
    const check = new SqliteStore({path: join(dataDir, 'mon.db'), readonly: true})
    assert.deepEqual(await check.measurements(), ['http'])
    await check.close()
  })

  it('mon alerts eval --once --at T records the series and the alert reading it fires in the same run; mon query reads it', async () => {
    const r = await runMon(['alerts', 'eval', '--once', '--all', '--config', config, '--at', iso(T), '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const out = JSON.parse(r.stdout) as AlertsEvalOnceSummary
    assert.deepEqual(out.recorded, [{rule: 'jobs/job.requests_rate', points: 2}])
    assert.deepEqual(out.transitions.map((t) => [t.alertname, t.from, t.to]), [['HighRequestRate', 'inactive', 'firing']])
    assert.deepEqual(out.ruleErrors, [])

    const q = await runMon(['query', 'job.requests_rate', '--config', config, '--since', iso(T - 60_000), '--until', iso(T + 60_000), '--format', 'json'], {env})
    assert.equal(q.code, 0, q.stderr)
    const series = JSON.parse(q.stdout) as unknown
    const text = JSON.stringify(series)
    assert.match(text, /"job":"api"/)
    assert.match(text, /"job":"web"/)
    assert.match(text, /"recorded_by":"mon"/)
    const values = await readRecorded(dataDir)
    assert.deepEqual(values, [
      [{job: 'api', recorded_by: 'mon'}, [[T, 12]]],
      [{job: 'web', recorded_by: 'mon'}, [[T, 1]]],
    ])

    // the text output names what was recorded
    const again = await runMon(['alerts', 'eval', '--once', '--all', '--config', config, '--at', iso(T + 60_000)], {env})
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /recorded jobs\/job\.requests_rate: 2 series/)
  })

  it('mon rules test: promql_expr_test reads what the recording rule wrote at each step; alert tests too', async () => {
    const test = join(tmp.dir, 'rules.test.yaml')
    writeFileSync(
      test,
      `rule_files: [rules.yaml]
evaluation_interval: 1m
tests:
  - interval: 1m
    input_series:
      - series: 'http.rps{job="api", host="a"}'
        values: '10x10'
      - series: 'http.rps{job="api", host="b"}'
        values: '4x10'
      - series: 'http.rps{job="web", host="a"}'
        values: '1x10'
    promql_expr_test:
      - expr: job.requests_rate
        eval_time: 5m
        exp_samples:
          - labels: '{job="api", recorded_by="mon"}'
            value: 10
          - labels: '{job="web", recorded_by="mon"}'
            value: 1
      - expr: job.requests_rate{job="web"} * 60
        eval_time: 5m
        exp_samples:
          - labels: '{job="web", recorded_by="mon"}'
            value: 60
    alert_rule_test:
      - eval_time: 5m
        alertname: HighRequestRate
        exp_alerts:
          - exp_labels: {job: api, recorded_by: mon, severity: warning}
            exp_annotations: {summary: 'api at 10 req/s'}
`,
    )
    const r = await runMon(['rules', 'test', test], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.match(r.stdout, /SUCCESS \(1 test, 3 checks\)/)

    // a wrong expectation fails with what was recorded
    writeFileSync(test, (await import('node:fs')).readFileSync(test, 'utf8').replace('value: 60', 'value: 61'))
    const f = await runMon(['rules', 'test', test], {env})
    assert.equal(f.code, 1)
    assert.match(f.stdout, /exp: \n\s+\{job="web", recorded_by="mon"\} 61\n\s+got: \n\s+\{job="web", recorded_by="mon"\} 60/)
  })
})

async function readRecorded(dataDir: string) {
  const store = new SqliteStore({path: join(dataDir, 'mon.db'), readonly: true})
  try {
    const frames = await store.query({measurement: 'job', field: 'requests_rate', matchers: [], start: T - 60_000, end: T + 1})
    return frames.map((f) => [f.tags, f.rows])
  } finally {
    await store.close()
  }
}
