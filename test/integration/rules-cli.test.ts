/** `mon rules check|test|eval` as a user runs them: the real bin/run.js, exit codes, output, --json. */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {ROOT, runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const EXAMPLES = join(ROOT, 'examples', 'rules')
const RULE_FILES = ['host', 'disk', 'http', 'cert', 'deadman'].map((n) => join(EXAMPLES, `${n}.yaml`))
const TEST_FILES = ['host', 'disk', 'http', 'cert', 'deadman'].map((n) => join(EXAMPLES, `${n}.test.yaml`))

let tmp: {dir: string; cleanup: () => void}
let env: NodeJS.ProcessEnv
const file = (name: string, text: string): string => {
  writeFileSync(join(tmp.dir, name), text)
  return join(tmp.dir, name)
}

before(() => {
  tmp = tempDir('mon-rules-cli-')
  env = {MON_DATA_DIR: join(tmp.dir, 'data'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data')}
})
after(() => tmp.cleanup())

describe('mon rules', () => {
  it('every subcommand has help with examples', async () => {
    for (const sub of ['check', 'test', 'eval']) {
      const r = await runMon(['rules', sub, '--help'], {env})
      assert.equal(r.code, 0, sub)
      assert.match(r.stdout, /EXAMPLES/, sub)
      assert.match(r.stdout, new RegExp(`mon rules ${sub} `), sub)
    }
  })

  it('check: the shipped examples are valid (exit 0)', async () => {
    const r = await runMon(['rules', 'check', ...RULE_FILES], {env, cwd: ROOT})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /host\.yaml: 1 group\(s\), 5 rule\(s\): OK/)
    assert.equal(r.stdout.trim().split('\n').length, 5)
  })

  it('check: problems as file:line:col with hints, exit 2, no stack; --json lists them all', async () => {
    const bad = file(
      'bad.yaml',
      `groups:
  - name: host
    rules:
      - alert: HighCpu
        expr: meen(cpu.usage_user) by host > 90
        for: 5
      - alert: Disk
        expr: max(disk.used_percent) by (host, path) > 90
        annotations:
          summary: '{{ $labels.mountpoint }} is {{ $value | humanise }}'
`,
    )
    const r = await runMon(['rules', 'check', bad], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad\.yaml:5:15: unknown function 'meen'\n\s+hint: did you mean 'mean'\?/)
    assert.match(r.stderr, /bad\.yaml:6:14: .*for: expected a duration with a unit/)
    assert.match(r.stderr, /bad\.yaml:10:61: template: unknown function 'humanise'/)
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/)
    const j = await runMon(['rules', 'check', bad, '--json'], {env})
    assert.equal(j.code, 2)
    const out = JSON.parse(j.stdout)
    assert.equal(out.valid, false)
    assert.deepEqual(
      out.files[0].problems.map((p: {line: number; col: number}) => `${p.line}:${p.col}`),
      ['5:15', '6:14', '10:61'],
    )

    const label = file('label.yaml', "groups:\n  - name: g\n    rules:\n      - alert: A\n        expr: max(disk.used_percent) by (host, path) > 90\n        annotations: {summary: '{{ $labels.mountpoint }}'}\n")
    const l = await runMon(['rules', 'check', label], {env})
    assert.equal(l.code, 2)
    assert.match(l.stderr, /label\.yaml:6:36: label 'mountpoint' is never set: max by \(host, path\) \(disk.used_percent\) only yields host, path/)
  })

  it('check: without arguments, the files of rules.files in the config; none at all is a usage error', async () => {
    const cfg = file('mon.yaml', `rules:\n  files: [${JSON.stringify(join(EXAMPLES, 'dead*n.yaml'))}, ${JSON.stringify(join(EXAMPLES, 'disk.yaml'))}]\n`)
    const r = await runMon(['rules', 'check', '--config', cfg], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /deadman\.yaml: .*OK\n.*disk\.yaml: .*OK/)
    const empty = file('empty.yaml', 'rules: {}\n')
    const e = await runMon(['rules', 'check', '--config', empty], {env})
    assert.equal(e.code, 2)
    assert.match(e.stderr, /no rule files given, and rules.files in the config is empty/)
  })

  it('test: the shipped examples pass (exit 0)', async () => {
    const r = await runMon(['rules', 'test', ...TEST_FILES], {env})
    assert.equal(r.code, 0, r.stdout + r.stderr)
    assert.equal((r.stdout.match(/SUCCESS/g) ?? []).length, 5)
  })

  it('test: a failing test prints expected vs got and exits 1; a bad file exits 2', async () => {
    file('r.yaml', 'groups:\n  - name: g\n    rules:\n      - alert: High\n        expr: max(m.v[1m]) by host > 10\n        for: 2m\n')
    const failing = file(
      'f.test.yaml',
      "rule_files: [r.yaml]\ntests:\n  - input_series:\n      - series: 'm.v{host=\"a\"}'\n        values: '20x5'\n    alert_rule_test:\n      - eval_time: 1m\n        alertname: High\n        exp_alerts:\n          - exp_labels: {host: a}\n",
    )
    const r = await runMon(['rules', 'test', failing], {env})
    assert.equal(r.code, 1)
    assert.match(r.stdout, /FAILED:\n\s+.*f\.test\.yaml:7:20: test "#1", alertname: High, time: 1m\n\s+exp: \n\s+labels:\{alertname="High", host="a"\} annotations:\{\}\n\s+got: \(none\)/)
    const j = await runMon(['rules', 'test', failing, '--json'], {env})
    assert.equal(j.code, 1)
    assert.equal(JSON.parse(j.stdout).files[0].failures[0].alertname, 'High')

    const bad = file('b.test.yaml', "rule_files: [r.yaml]\ntests:\n  - input_series:\n      - series: 'm.v'\n        values: '1 2 zz'\n")
    const b = await runMon(['rules', 'test', bad, failing], {env})
    assert.equal(b.code, 2)
    assert.match(b.stderr, /b\.test\.yaml:5:22: invalid value 'zz'/)
    assert.match(b.stdout, /FAILED/, 'the other files still run')
  })

  it('eval: what would fire now against the configured store, replaying for', async () => {
    const dataDir = join(tmp.dir, 'eval-data')
    const now = Math.floor(Date.now() / 60_000) * 60_000
    const store = new SqliteStore({path: join(dataDir, 'mon.db')})
    const points = []
    for (let i = 0; i < 30; i++) {
      const ts = now - i * 30_000
      points.push({measurement: 'cpu', tags: {host: 'web-01', cpu: 'cpu-total'}, fields: {usage_idle: 3}, ts})
      points.push({measurement: 'cpu', tags: {host: 'web-02', cpu: 'cpu-total'}, fields: {usage_idle: 70}, ts})
      points.push({measurement: 'app', tags: {}, fields: {status: 'up'}, ts})
    }

    store.writeSync(points)
    await store.close()
    const rules = file(
      'eval.yaml',
      `groups:
  - name: cpu
    rules:
      - alert: Busy
        expr: 100 - mean(cpu.usage_idle[5m]) by host > 90
        for: 5m
        labels: {severity: critical}
        annotations: {summary: '{{ $labels.host }} at {{ $value }}%'}
      - alert: Broken
        expr: mean(app.status) > 1
`,
    )
    const e = {...env, MON_DATA_DIR: dataDir}
    const r = await runMon(['rules', 'eval', rules, '--at', new Date(now).toISOString()], {env: e})
    assert.equal(r.code, 1, 'a failing rule makes the exit code 1')
    assert.match(r.stdout, /firing\s+Busy\s+host=web-01 severity=critical\s+97\s+\S+\s+web-01 at 97%/)
    assert.doesNotMatch(r.stdout, /web-02/)
    assert.match(r.stderr, /rule error: cpu\/Broken: app\.status holds strings \("up"\): expressions compute on numbers and booleans/)

    const noReplay = await runMon(['rules', 'eval', rules, '--at', new Date(now).toISOString(), '--no-replay', '--json'], {env: e})
    const out = JSON.parse(noReplay.stdout)
    assert.equal(out.at, new Date(now).toISOString())
    assert.deepEqual(
      out.alerts.map((a: {state: string; labels: Record<string, string>}) => [a.state, a.labels.host]),
      [['pending', 'web-01']],
    )
    assert.deepEqual(
      out.rules.map((x: {id: string; health: string}) => [x.id, x.health]),
      [['cpu/Busy', 'ok'], ['cpu/Broken', 'error']],
    )

    // nothing written: no alert state, no `alerts` series
    const check = new SqliteStore({path: join(dataDir, 'mon.db'), readonly: true})
    assert.deepEqual(await check.measurements(), ['app', 'cpu'])
    await check.close()
  })
})
