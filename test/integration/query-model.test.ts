// Issue 18: one meaning for an expression everywhere. The three wrong answers of the old model as
// regression tests, the instant/range model through `mon query` and a rule, and bad input with a caret.
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

const T = Date.UTC(2026, 10, 24, 10, 0, 0)
const S = 1000
const M = 60 * S
const iso = (t: number) => new Date(t).toISOString()

interface Result {
  type: string
  series: Array<{name: string; tags: Record<string, string>; values: Array<[string, number]>}>
}

const tmp = tempDir('mon-query-model-')
const env = {MON_DATA_DIR: join(tmp.dir, 'data')}

async function query(...args: string[]): Promise<Result> {
  const r = await runMon(['query', ...args, '--json'], {env})
  assert.equal(r.code, 0, r.stderr)
  return JSON.parse(r.stdout) as Result
}

/** host → every value of its series, in time order */
function byHost(result: Result): Record<string, number[]> {
  return Object.fromEntries(result.series.map((s) => [s.tags.host ?? '', s.values.map((v) => v[1])]))
}

before(async () => {
  const lines: string[] = []
  // two hosts each sending 100 B/s for 10 minutes, a sample every 10 s
  for (let i = 0; i <= 60; i++) for (const host of ['a', 'b']) lines.push(`net,host=${host} bytes_sent=${i * 1000}i ${T + i * 10 * S}`)
  // a gauge that climbs one per minute: windows of different length give different means
  for (let i = 0; i <= 10; i++) lines.push(`load,host=a v=${i} ${T + i * M}`)
  // first and last points at their own times, off the minute
  lines.push(`temp,host=a c=20 ${T + 2 * M + 7 * S}`, `temp,host=a c=25 ${T + 8 * M + 13 * S}`)
  const w = await runMon(['write', '-', '--precision', 'ms'], {env, input: lines.join('\n') + '\n'})
  assert.equal(w.code, 0, w.stderr)
})

after(() => tmp.cleanup())

describe('issue 18 regressions: the old model\'s wrong answers', () => {
  it('sum(rate(net.bytes_sent)) by host over a range is 100 per host and 200 in all (it was 6000 and 12000)', async () => {
    // a range query from the first full 5m window to the end of the data, the README's headline example
    const range = ['--since', iso(T + 5 * M), '--until', iso(T + 10 * M), '--step', '1m']
    const perHost = byHost(await query('sum(rate(net.bytes_sent)) by host', ...range))
    assert.deepEqual(Object.keys(perHost).sort(), ['a', 'b'])
    for (const values of Object.values(perHost)) {
      assert.equal(values.length, 6)
      for (const v of values) assert.ok(Math.abs(v - 100) < 1e-9, `rate ${v}, expected 100 B/s`)
    }

    const all = (await query('sum(rate(net.bytes_sent))', ...range)).series
    assert.equal(all.length, 1)
    for (const [, v] of all[0].values) assert.ok(Math.abs(v - 200) < 1e-9, `sum ${v}, expected 200 B/s`)
    // PromQL's spelling gives the same numbers
    assert.deepEqual(byHost(await query('sum by (host) (rate(net.bytes_sent[5m]))', ...range)), perHost)
  })

  it('a selector\'s [5m] window is honoured: mean(x[5m]), mean(x[1m]) and mean(x) differ as they should', async () => {
    const at = ['--at', iso(T + 10 * M)]
    // (5m, 10m] holds 6..10; (9m, 10m] holds 10; an instant selector is the latest point, 10
    assert.deepEqual(byHost(await query('mean(load.v[5m]) by host', ...at)), {a: [8]})
    assert.deepEqual(byHost(await query('mean(load.v[2m]) by host', ...at)), {a: [9.5]})
    assert.deepEqual(byHost(await query('mean(load.v) by host', ...at)), {a: [10]})
    assert.deepEqual(byHost(await query('avg_over_time(load.v[5m])', ...at)), {a: [8]})
  })

  it('a rule\'s expr pasted into mon query shows the number the rule evaluates', async () => {
    const rules = join(tmp.dir, 'rules.yaml')
    writeFileSync(rules, 'groups:\n  - name: g\n    rules:\n      - alert: LoadHigh\n        expr: mean(load.v[5m]) by host > 5\n        annotations:\n          value: "{{ $value }}"\n')
    for (const minute of [8, 9, 10]) {
      const at = iso(T + minute * M)
      const r = await runMon(['rules', 'eval', rules, '--at', at, '--no-replay', '--json'], {env})
      assert.equal(r.code, 0, r.stderr)
      const q = byHost(await query('mean(load.v[5m]) by host > 5', '--at', at))
      assert.equal(q.a[0], minute - 2)
      const fired = JSON.stringify(JSON.parse(r.stdout))
      // the rule's alert carries the same value the query shows at that time
      assert.match(fired, new RegExp(`"value":"${q.a[0]}"`), `at ${at}: query says ${q.a[0]}; rules eval: ${fired}`)
    }

    // and a range query of it is the rule at every step: minutes 8, 9, 10 → 6, 7, 8 filtered by > 7
    const range = await query('mean(load.v[5m]) by host > 7', '--since', iso(T + 8 * M), '--until', iso(T + 10 * M), '--step', '1m')
    assert.deepEqual(range.series[0].values, [[iso(T + 10 * M), 8]])
  })

  it('last(...) and first(...) report the point\'s own time, not the range start', async () => {
    const at = T + 9 * M
    const last = await query('last(temp.c[10m]) by host', '--at', iso(at))
    assert.deepEqual(last.series[0].values, [[iso(T + 8 * M + 13 * S), 25]])
    const first = await query('first(temp.c[10m]) by host', '--at', iso(at))
    assert.deepEqual(first.series[0].values, [[iso(T + 2 * M + 7 * S), 20]])
    const latest = await query('temp.c', '--at', iso(at))
    assert.deepEqual(latest.series[0].values, [[iso(T + 8 * M + 13 * S), 25]])
    // and "silent for how long" reads that time
    const silent = await query('time() - timestamp(last_over_time(temp.c[1h]))', '--at', iso(at))
    assert.deepEqual(silent.series[0].values, [[iso(at), 47]])
  })
})

describe('bad input: one error with column and caret, exit 2', () => {
  const cases: Array<{q: string; where: RegExp; caretCol: number}> = [
    {q: 'nosuchfn(load.v)', where: /^error: query:1:1: unknown function 'nosuchfn'/, caretCol: 1},
    {q: 'rate(load.v[5m] > 1)', where: /^error: query:1:6: '>' needs a number or an instant vector on each side, got a range vector/, caretCol: 6},
    {q: 'avg_over_time(sum(load.v))', where: /^error: query:1:15: avg_over_time\(\) expects a range vector as argument 1, got an instant vector/, caretCol: 15},
    {q: 'abs(load.v[5m])', where: /^error: query:1:5: abs\(\) expects an instant vector as argument 1, got a range vector/, caretCol: 5},
    // both sides have two series for the one empty match group: many-to-many
    {q: 'net.bytes_sent + on() net.bytes_sent', where: /^error: query:1:1: found duplicate series for the match group on the (left|right) side of \+: many-to-many matching not allowed/, caretCol: 1},
  ]
  for (const c of cases) {
    it(c.q, async () => {
      const r = await runMon(['query', c.q, '--at', iso(T + 5 * M)], {env})
      assert.equal(r.code, 2, r.stderr)
      assert.match(r.stderr, c.where)
      const lines = r.stderr.split('\n')
      const caret = lines.find((l) => /^\s+\^/.test(l))
      assert.ok(caret, r.stderr)
      assert.equal(caret.indexOf('^'), 2 + c.caretCol - 1, r.stderr)
      assert.equal(r.stdout, '')
    })
  }
})
