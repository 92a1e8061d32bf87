import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {LineCounter, parseDocument, isMap, isPair, type Node} from 'yaml'
import {outputLabels} from '../../src/core/alerting/expr-labels.js'
import {expandPaths} from '../../src/core/alerting/files.js'
import {checkRuleFiles, loadRuleFiles, parseRuleText, type AlertRule, type RecordingRule} from '../../src/core/alerting/rules.js'
import {SeriesNotationError, expandSeriesValues} from '../../src/core/alerting/series-notation.js'
import {sourceOffsetOf} from '../../src/core/alerting/yaml-offset.js'
import {ConfigError} from '../../src/core/config/problems.js'
import {InputError} from '../../src/core/errors.js'
import {parseQuery} from '../../src/core/query/parser.js'
import {tempDir} from '../helpers/servers.js'

const GOOD = `groups:
  - name: host
    interval: 30s
    labels: {team: infra}
    rules:
      - alert: HighCpu
        expr: mean(cpu.usage_user{cpu="cpu-total"}) by host > 90
        for: 5m
        keep_firing_for: 1m
        labels:
          severity: warning
        annotations:
          summary: 'CPU high on {{ $labels.host }}: {{ $value | humanize }}'
      - alert: HighCpu
        expr: mean(cpu.usage_user{cpu="cpu-total"}) by host > 98
        no_data: alerting
        on_error: ok
        labels: {severity: critical}
  - name: deadman
    rules:
      - alert: Silent
        expr: absent(system.uptime{host="web-01"}[5m])
`

describe('rule files: loading', () => {
  it('compiles groups and rules with their timing, labels and policies', () => {
    const r = parseRuleText(GOOD, 'rules.yaml', {defaultInterval: '2m'})
    assert.deepEqual(r.problems, [])
    const [host, deadman] = r.groups
    assert.equal(host.name, 'host')
    assert.equal(host.intervalMs, 30_000)
    assert.equal(deadman.interval, '2m')
    assert.equal(deadman.intervalMs, 120_000)
    assert.deepEqual(host.rules.map((x) => x.id), ['host/HighCpu', 'host/HighCpu#2'])
    const [warn, crit] = host.rules as AlertRule[]
    assert.equal(warn.forMs, 300_000)
    assert.equal(warn.keepFiringForMs, 60_000)
    assert.deepEqual(Object.keys(warn.labels).sort(), ['severity', 'team'])
    assert.equal(warn.labels.team.render({labels: {}, value: 1}), 'infra')
    assert.equal(warn.annotations.summary.render({labels: {host: 'a'}, value: 2500}), 'CPU high on a: 2.5k')
    assert.deepEqual(warn.position, {file: 'rules.yaml', line: 6, col: 9})
    assert.equal(crit.noData, 'alerting')
    assert.equal(crit.onError, 'ok')
    assert.equal(warn.noData, undefined)
  })

  it('compiles recording rules: name split at the first dot, static labels, ids per name', () => {
    const text = [
      'groups:',
      '  - name: rec',
      '    labels: {team: infra}',
      '    rules:',
      '      - record: job.requests_rate',
      '        expr: sum(rate(http.requests[5m])) by (job)',
      '        labels: {source: "{{ $labels.job }}", team: ""}',
      '      - record: job:http_requests:rate5m',
      '        expr: sum(rate(http.requests[5m])) by (job)',
      '      - record: a.b.c',
      '        expr: cpu.x',
      '      - record: job.requests_rate',
      '        expr: sum(rate(http.requests[5m])) by (job, host)',
      '        labels: {by: host}',
      '      - alert: Slow',
      '        expr: job.requests_rate < 1',
      '',
    ].join('\n')
    const r = parseRuleText(text, 'rec.yaml')
    assert.deepEqual(r.problems, [])
    const rules = r.groups[0].rules
    assert.deepEqual(rules.map((x) => [x.type, x.id]), [['record', 'rec/job.requests_rate'], ['record', 'rec/job:http_requests:rate5m'], ['record', 'rec/a.b.c'], ['record', 'rec/job.requests_rate#2'], ['alert', 'rec/Slow']])
    const [rate, colon, dotted, again] = rules as RecordingRule[]
    assert.deepEqual([rate.measurement, rate.field], ['job', 'requests_rate'])
    assert.deepEqual([colon.measurement, colon.field], ['job:http_requests:rate5m', 'value'])
    assert.deepEqual([dotted.measurement, dotted.field], ['a', 'b.c'])
    // labels are static strings (as in Prometheus), the rule's over the group's; '' removes a label when written
    assert.deepEqual(rate.labels, {team: '', source: '{{ $labels.job }}'})
    assert.deepEqual(again.labels, {team: 'infra', by: 'host'})
    assert.deepEqual(rate.position, {file: 'rec.yaml', line: 5, col: 9})
  })

  // each case: the file, then the expected `line:col: message` (regex) of every problem
  const bad: Array<[string, string, RegExp[]]> = [
    ['bad YAML', 'groups:\n  - name: a\n\trules: []\n', [/^3:1: invalid YAML: tabs/]],
    ['not a map', '- a\n- b\n', [/^1:1: a rule file is a map with 'groups:'/]],
    ['a test file', 'rule_files: [a.yaml]\ntests: []\n', [/^1:1: this is a rule test file/]],
    ['unknown key with a hint', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: cpu.x > 1\n        fro: 5m\n', [/^6:9: unknown option 'fro'/]],
    ['wrong type', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: cpu.x > 1\n        for: 5\n', [/^6:14: .*for: expected a duration with a unit/]],
    ['missing expr', 'groups:\n  - name: a\n    rules:\n      - alert: X\n', [/^4:9: missing required option 'expr'/]],
    ['unknown function in expr', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: meen(cpu.x) by host > 1\n', [/^5:15: unknown function 'meen'/]],
    ['expr error inside a block scalar', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: |\n          mean(cpu.x)\n            by host >> 1\n', [/^7:22: /]],
    ['expr error in a double-quoted scalar with escapes', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: "cpu.x{h=\\"a\\"} > \\"b\\""\n', [/^5:34: '>' needs a number or an instant vector on each side, got a string/]],
    ['constant expression', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: 1 > bool 0\n', [/^5:15: the expression .* reads no metrics/]],
    ['template: unknown function', "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: cpu.x > 1\n        annotations:\n          s: '{{ $value | humanise }}'\n", [/^7:27: template: unknown function 'humanise'/]],
    ['template: a label the aggregation never yields', "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: mean(cpu.x) by host > 1\n        annotations:\n          s: 'on {{ $labels.instance }}'\n", [/^7:21: label 'instance' is never set: avg by \(host\) \(cpu.x\) only yields host/]],
    ['template: a misspelt label', "groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: max(disk.used_percent) by (host, path) > 90\n        labels:\n          summary: '{{ $labels.hots }}'\n", [/^7:24: label 'hots' is never set: .* only yields host, path/]],
    ['alertname as a label', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: cpu.x > 1\n        labels: {alertname: y}\n', [/^6:18: 'alertname' is set from the rule's alert name/]],
    ['bad label name', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: cpu.x > 1\n        labels: {bad-name: y}\n', [/invalid key "bad-name"/]],
    ['alert: and record: on one rule', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        record: y\n        expr: cpu.x > 1\n', [/^5:9: a rule has either alert: \(an alerting rule\) or record: \(a recording rule\), not both/]],
    ['neither alert: nor record:', 'groups:\n  - name: a\n    rules:\n      - expr: cpu.x > 1\n', [/^4:9: a rule needs alert: \(an alerting rule\) or record: \(a recording rule\)/]],
    ['a bad record name', 'groups:\n  - name: a\n    rules:\n      - record: job.rate-5m\n        expr: cpu.x\n', [/^4:25: invalid record name "job.rate-5m": '-' is not allowed in a metric name/]],
    ['a record name with an empty part', 'groups:\n  - name: a\n    rules:\n      - record: "job..rate"\n        expr: cpu.x\n', [/^4:22: invalid record name "job..rate": a dot must sit between two non-empty parts/]],
    ['a record name starting with a digit', 'groups:\n  - name: a\n    rules:\n      - record: 5m.rate\n        expr: cpu.x\n', [/^4:17: invalid record name "5m.rate": a metric name does not start with a digit/]],
    ['a record into the engine\'s own measurement', 'groups:\n  - name: a\n    rules:\n      - record: alerts.x\n        expr: cpu.x\n', [/^4:17: measurement 'alerts' is written by the alert engine itself/]],
    [
      'alerting-only keys on a recording rule',
      "groups:\n  - name: a\n    rules:\n      - record: job.x\n        expr: cpu.x\n        for: 5m\n        keep_firing_for: 1m\n        annotations: {summary: s}\n        no_data: ok\n",
      [/^6:9: 'for' is for alerting rules; a recording rule has record, expr and labels/, /^7:9: 'keep_firing_for' is for alerting rules/, /^8:9: 'annotations' is for alerting rules/, /^9:9: 'no_data' is for alerting rules/],
    ],
    ['__name__ as a recording label', 'groups:\n  - name: a\n    rules:\n      - record: job.x\n        expr: cpu.x\n        labels: {__name__: y}\n', [/^6:18: '__name__' is set from record: and cannot be a label/]],
    ['a bad expr on a recording rule', 'groups:\n  - name: a\n    rules:\n      - record: job.x\n        expr: meen(cpu.x) by host\n', [/^5:15: unknown function 'meen'/]],
    ['duplicate group', 'groups:\n  - name: a\n  - name: a\n', [/^3:11: duplicate group name 'a'/]],
    [
      'every bad rule is reported, not just the first',
      'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: cpu.x > 1\n        for: 5\n      - alert: Y\n        expr: mean(cpu.x by host\n',
      [/^6:14: .*expected a duration/, /^8:26: expected '\)' to close mean\(, found 'by'/],
    ],
    ['a bad for: does not hide a bad expr:', 'groups:\n  - name: a\n    rules:\n      - alert: X\n        expr: meen(cpu.x)\n        for: 5\n', [/^5:15: unknown function 'meen'/, /^6:14: /]],
  ]
  for (const [name, text, want] of bad) {
    it(`reports ${name}`, () => {
      const r = parseRuleText(text, 'r.yaml')
      const got = r.problems.map((p) => `${p.position.line}:${p.position.col}: ${p.message}`)
      assert.equal(got.length, want.length, got.join('\n'))
      want.forEach((re, i) => assert.match(got[i], re, got.join('\n')))
      assert.deepEqual(r.groups, [], 'a file with problems loads no groups')
    })
  }
})

describe('rule files: files and globs', () => {
  const tmp = tempDir('mon-rules-files-')
  after(() => tmp.cleanup())
  mkdirSync(join(tmp.dir, 'rules', 'team'), {recursive: true})
  writeFileSync(join(tmp.dir, 'rules', 'a.yaml'), 'groups:\n  - name: a\n    rules: []\n')
  writeFileSync(join(tmp.dir, 'rules', 'team', 'b.yaml'), 'groups:\n  - name: b\n    rules: []\n')
  writeFileSync(join(tmp.dir, 'rules', 'c.yml'), 'groups:\n  - name: a\n    rules: []\n')

  it('expands *, ? and ** and sorts the matches', async () => {
    const {files, unmatched} = await expandPaths(['rules/*.yaml', 'rules/**/*.yaml', 'nothing/*.yaml'], tmp.dir)
    assert.deepEqual(files.map((f) => f.slice(tmp.dir.length + 1)), ['rules/a.yaml', 'rules/team/b.yaml'])
    assert.deepEqual(unmatched, ['nothing/*.yaml'])
    assert.deepEqual((await expandPaths(['rules/?.yml'], tmp.dir)).files.map((f) => f.slice(tmp.dir.length + 1)), ['rules/c.yml'])
  })

  it('loads globs; a group name used in two files is a located error', async () => {
    const groups = await loadRuleFiles(['rules/*.yaml', 'rules/team/*.yaml'], {cwd: tmp.dir})
    assert.deepEqual(groups.map((g) => g.name), ['a', 'b'])
    const checks = await checkRuleFiles(['rules/a.yaml', 'rules/c.yml'], {cwd: tmp.dir})
    assert.match(checks[1].problems[0].message, /group 'a' is also defined in rules\/a.yaml/)
    await assert.rejects(loadRuleFiles(['rules/a.yaml', 'rules/c.yml'], {cwd: tmp.dir}), ConfigError)
  })

  it('a missing file or a glob matching nothing is an input error', async () => {
    await assert.rejects(loadRuleFiles(['nope.yaml'], {cwd: tmp.dir}), (e: unknown) => e instanceof InputError && /cannot read rule file nope.yaml: no such file/.test(e.message))
    await assert.rejects(loadRuleFiles(['x/*.yaml'], {cwd: tmp.dir}), (e: unknown) => e instanceof InputError && /no rule files match "x\/\*.yaml"/.test(e.message))
  })
})

describe('positions inside YAML scalars', () => {
  const text = `a: plain {{ x }}\nb: "dq \\"q\\" {{ x }}"\nc: 'it''s {{ x }}'\nd: |\n  one\n  two {{ x }}\ne: >\n  fold\n  more {{ x }}\n`
  const lc = new LineCounter()
  const doc = parseDocument(text, {lineCounter: lc})
  const nodes = new Map<string, Node>()
  if (isMap(doc.contents)) for (const p of doc.contents.items) if (isPair(p)) nodes.set(String((p.key as {value: unknown}).value), p.value as Node)
  for (const key of ['a', 'b', 'c', 'd', 'e']) {
    it(`maps the value offset of {{ in ${key}: to the source`, () => {
      const node = nodes.get(key)!
      const value = String((node as unknown as {value: string}).value)
      const offset = sourceOffsetOf(node, text, value.indexOf('{{'))!
      assert.equal(text.slice(offset, offset + 2), '{{', `${key}: got ${JSON.stringify(text.slice(offset, offset + 8))}`)
    })
  }
})

describe('labels an expression can yield', () => {
  const cases: Array<[string, boolean, string[]]> = [
    ['mean(cpu.x) by host > 90', true, ['host']],
    ['max(disk.used_percent) by (host, path)', true, ['host', 'path']],
    ['sum(cpu.x)', true, []],
    ['absent(system.uptime{host="a", job=~"x.*"}[5m])', true, ['host']],
    ['cpu.x{host="a"} > 1', false, ['host']],
    ['rate(net.bytes{interface="eth0"})', false, ['interface']],
    ['100 - mean(cpu.idle) by host', true, ['host']],
    ['mean(a.x) by host / max(b.y) by host > 2', true, ['host']],
    ['cpu.x / mean(cpu.x) by host', true, ['host']],
  ]
  for (const [expr, closed, labels] of cases) {
    it(expr, () => {
      const got = outputLabels(parseQuery(expr).expr)
      assert.equal(got.closed, closed)
      assert.deepEqual(got.labels, labels)
    })
  }
})

describe('promtool series notation', () => {
  const cases: Array<[string, Array<number | null | 'stale'>]> = [
    ['1 2 3', [1, 2, 3]],
    ['0+10x5', [0, 10, 20, 30, 40, 50]],
    ['100-1x3', [100, 99, 98, 97]],
    ['7x2', [7, 7, 7]],
    ['_ 1 _x2 stale 2', [null, 1, null, null, 'stale', 2]],
    ['-1.5+0.5x2', [-1.5, -1, -0.5]],
    ['1e3+1e3x1', [1000, 2000]],
    ['', []],
  ]
  for (const [text, want] of cases) it(JSON.stringify(text), () => assert.deepEqual(expandSeriesValues(text), want))

  const bad: Array<[string, number, RegExp]> = [
    ['1 2 abc', 4, /invalid value 'abc'/],
    ['1 +Inf', 2, /invalid value/],
    ['1+x3', 0, /invalid value '1\+x3'/],
  ]
  for (const [text, offset, re] of bad) {
    it(`rejects ${JSON.stringify(text)}`, () =>
      assert.throws(
        () => expandSeriesValues(text),
        (e: unknown) => e instanceof SeriesNotationError && e.offset === offset && re.test(e.reason),
      ))
  }
})
