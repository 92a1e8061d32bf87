import assert from 'node:assert/strict'
import {readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {runRuleTestFile} from '../../src/core/alerting/unittest.js'
import {ConfigError} from '../../src/core/config/problems.js'
import {LocatedError} from '../../src/core/errors.js'
import {ROOT} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const EXAMPLES = join(ROOT, 'examples', 'rules')

describe('mon rules test: the shipped examples', () => {
  const files = readdirSync(EXAMPLES).filter((f) => f.endsWith('.test.yaml'))
  it('ships tests for host, disk, http, cert and deadman rules', () => {
    assert.deepEqual(files.sort(), ['cert.test.yaml', 'deadman.test.yaml', 'disk.test.yaml', 'host.test.yaml', 'http.test.yaml'])
  })
  for (const f of files) {
    it(f, async () => {
      const r = await runRuleTestFile(join(EXAMPLES, f))
      assert.deepEqual(r.failures, [])
      assert.ok(r.checks >= 4, `${f} checks ${r.checks}`)
    })
  }
})

describe('mon rules test: failures and bad files', () => {
  const tmp = tempDir('mon-rules-unittest-')
  after(() => tmp.cleanup())
  writeFileSync(
    join(tmp.dir, 'r.yaml'),
    `groups:
  - name: g
    rules:
      - alert: High
        expr: max(m.v[1m]) by host > 10
        for: 2m
        labels: {severity: page}
        annotations: {summary: '{{ $labels.host }} at {{ $value }}'}
`,
  )
  const write = (name: string, text: string) => {
    writeFileSync(join(tmp.dir, name), text)
    return join(tmp.dir, name)
  }

  it('reports expected against got, with the test location', async () => {
    const file = write(
      'fail.test.yaml',
      `rule_files: [r.yaml]
evaluation_interval: 1m
tests:
  - name: too early
    input_series:
      - series: 'm.v{host="a"}'
        values: '20x10'
    alert_rule_test:
      - eval_time: 1m
        alertname: High
        exp_alerts:
          - exp_labels: {host: a, severity: page}
            exp_annotations: {summary: a at 20}
      - eval_time: 2m
        alertname: High
        exp_alerts:
          - exp_labels: {host: a, severity: page}
            exp_annotations: {summary: a at 20}
    promql_expr_test:
      - expr: max(m.v[1m]) by host
        eval_time: 3m
        exp_samples:
          - labels: '{host="a"}'
            value: 21
`,
    )
    const r = await runRuleTestFile(file)
    assert.equal(r.tests, 1)
    assert.equal(r.checks, 3)
    assert.equal(r.failures.length, 2)
    const [alert, expr] = r.failures
    assert.equal(alert.kind, 'alert')
    assert.equal(alert.evalTime, '1m')
    assert.deepEqual(alert.expected, ['labels:{alertname="High", host="a", severity="page"} annotations:{summary="a at 20"}'])
    assert.deepEqual(alert.got, [])
    assert.equal(alert.position.line, 9)
    assert.deepEqual([expr.kind, expr.expected, expr.got], ['expr', ['{host="a"} 21'], ['{host="a"} 20']])
  })

  const bad: Array<[string, string, RegExp]> = [
    ['no rule_files', 'tests: []\n', /no rule_files/],
    ['unknown key', 'rule_files: [r.yaml]\ntests:\n  - input_serie: []\n', /3:5: unknown option 'input_serie'.*/],
    ['bad values', "rule_files: [r.yaml]\ntests:\n  - input_series:\n      - series: 'm.v'\n        values: '1 2 x3'\n", /5:22: invalid value 'x3'/],
    ['bad series', "rule_files: [r.yaml]\ntests:\n  - input_series:\n      - series: 'm.v{host=~\"a\"}'\n        values: '1'\n", /4:22: a test series has exact tags/],
    ['unknown alertname', 'rule_files: [r.yaml]\ntests:\n  - alert_rule_test:\n      - eval_time: 1m\n        alertname: Hihg\n', /5:20: no alerting rule named 'Hihg'/],
    ['bad expr', 'rule_files: [r.yaml]\ntests:\n  - promql_expr_test:\n      - expr: max(m.v\n        eval_time: 1m\n', /4:21: expected '\)'/],
    ['bad rule file', 'rule_files: [missing.yaml]\ntests: []\n', /cannot read rule file .*missing.yaml: no such file/],
  ]
  for (const [name, text, re] of bad) {
    it(`a bad test file (${name}) is an input error`, async () => {
      const file = write(`bad-${name.replace(/\W/g, '_')}.test.yaml`, text)
      await assert.rejects(runRuleTestFile(file), (e: unknown) => {
        assert.ok(e instanceof LocatedError || e instanceof ConfigError || (e as Error).name === 'InputError', String(e))
        assert.match((e as Error).message, re)
        assert.equal((e as {exitCode: number}).exitCode, 2)
        return true
      })
    })
  }
})
