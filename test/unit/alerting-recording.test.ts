import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {createRuleEngine, type RuleEngineOptions} from '../../src/core/alerting/engine.js'
import {evaluateRulesOnce} from '../../src/core/alerting/eval-once.js'
import {RecordingOverlay, recordNameProblem, recordTarget, recordedPoints} from '../../src/core/alerting/recording.js'
import type {RecordingRule} from '../../src/core/alerting/rules.js'
import type {Point} from '../../src/core/model/point.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import type {Frame} from '../../src/core/store/types.js'
import {cpuPoints, M, ruleWorlds, rules, T0} from '../helpers/rule-world.js'

const worlds = ruleWorlds('mon-recording-')
function setup(points: Point[], yaml: string, extra: Partial<RuleEngineOptions> = {}) {
  const {clock, store, stateDb, groups} = worlds.open(points, yaml)
  const engine = createRuleEngine({groups, store, stateDb, clock, ...extra})
  return {clock, store, groups, engine}
}

function rows(frames: Frame[]): Array<[Record<string, string>, Array<Array<unknown>>]> {
  return frames.map((f) => [f.tags, f.rows])
}

const RECORD_THEN_ALERT = `groups:
  - name: rec
    interval: 1m
    rules:
      - record: job.busy_max
        expr: max(cpu.busy[1m]) by (host)
        labels: {source: rules}
      - alert: Busy
        expr: job.busy_max > 90
`

describe('recording rules: names', () => {
  it('splits at the first dot; no dot is field value', () => {
    assert.deepEqual(recordTarget('job.requests_rate'), {measurement: 'job', field: 'requests_rate'})
    assert.deepEqual(recordTarget('a.b.c'), {measurement: 'a', field: 'b.c'})
    assert.deepEqual(recordTarget('job:http_requests:rate5m'), {measurement: 'job:http_requests:rate5m', field: 'value'})
  })

  it('names the offending character', () => {
    assert.equal(recordNameProblem('job.requests_rate'), undefined)
    assert.equal(recordNameProblem('job:x:rate5m'), undefined)
    assert.deepEqual(recordNameProblem('job rate')?.offset, 3)
    assert.deepEqual(recordNameProblem('job.')?.offset, 3)
    assert.deepEqual(recordNameProblem('.job')?.offset, 0)
    assert.match(recordNameProblem('mon_internal.x')!.message, /written by the alert engine/)
  })
})

describe('recording rules: points', () => {
  const rule = rules(RECORD_THEN_ALERT)[0].rules[0] as RecordingRule
  it('tags = sample labels without __name__ and empty values, plus the rule labels; time = the evaluation', () => {
    const out = recordedPoints(rule, [{name: 'cpu', labels: {__name__: 'cpu', host: 'a', empty: ''}, value: 3, ts: T0 - 5000}], T0)
    assert.deepEqual(out, {ok: true, nonFinite: 0, points: [{measurement: 'job', tags: {host: 'a', source: 'rules'}, fields: {busy_max: 3}, ts: T0}]})
  })

  it('the same label set twice (after the rule labels) is an error and nothing is written', () => {
    const clash = {...rule, labels: {host: 'all'}}
    const out = recordedPoints(clash, [{name: 'cpu', labels: {host: 'a'}, value: 1, ts: T0}, {name: 'cpu', labels: {host: 'b'}, value: 2, ts: T0}], T0)
    assert.deepEqual(out, {ok: false, error: 'vector contains metrics with the same labelset after applying rule labels: {host="all"}'})
  })

  it('NaN and infinities cannot be stored: left out and counted', () => {
    const out = recordedPoints(rule, [{name: 'cpu', labels: {host: 'a'}, value: Number.NaN, ts: T0}, {name: 'cpu', labels: {host: 'b'}, value: 2, ts: T0}], T0)
    assert.ok(out.ok)
    assert.equal(out.nonFinite, 1)
    assert.deepEqual(out.points.map((p) => p.tags.host), ['b'])
  })
})

describe('recording rules: the engine', () => {
  it('writes the output at the evaluation time, and a later rule of the same evaluation reads it (query cache on)', async () => {
    const s = setup(cpuPoints({a: [10, 95, 97], b: [10, 20, 30]}), RECORD_THEN_ALERT)
    // the first evaluation ever: the alert can only fire if it reads what the recording rule just wrote
    const ev = await s.engine.evaluateGroup('rec', T0 + 2 * M)
    assert.deepEqual(ev.rules.map((r) => [r.rule, r.type, r.health, r.samples, r.recorded]), [
      ['rec/job.busy_max', 'record', 'ok', 2, 2],
      ['rec/Busy', 'alert', 'ok', 1, undefined],
    ])
    assert.deepEqual(s.engine.activeAlerts().map((a) => [a.labels.alertname, a.labels.host, a.labels.source, a.state, a.value]), [['Busy', 'a', 'rules', 'firing', 97]])
    const frames = await s.store.query({measurement: 'job', field: 'busy_max', matchers: [], start: 0, end: T0 + 10 * M})
    assert.deepEqual(rows(frames), [
      [{host: 'a', source: 'rules'}, [[T0 + 2 * M, 97]]],
      [{host: 'b', source: 'rules'}, [[T0 + 2 * M, 30]]],
    ])
    const status = s.engine.ruleStatus()
    assert.deepEqual(status.map((r) => [r.id, r.type, r.health, r.samples, r.activeAlerts]), [
      ['rec/job.busy_max', 'record', 'ok', 2, 0],
      ['rec/Busy', 'alert', 'ok', 1, 1],
    ])
    assert.equal(s.engine.stats().rules, 2)
  })

  it('off the cache step (the daemon evaluates at its timer\'s now): the later rule still reads this evaluation\'s output', async () => {
    const s = setup(cpuPoints({a: [10, 95, 97]}), RECORD_THEN_ALERT, {cache: {step: 10_000}})
    const at = T0 + 2 * M + 1234
    await s.engine.evaluateGroup('rec', at)
    assert.deepEqual(s.engine.activeAlerts().map((a) => [a.labels.host, a.state, a.value]), [['a', 'firing', 97]])
    const frames = await s.store.query({measurement: 'job', field: 'busy_max', matchers: [], start: 0, end: T0 + 10 * M})
    assert.deepEqual(rows(frames).map(([tags, r]) => [tags.host, r]), [['a', [[at, 97]]]])
  })

  it('a rule before the recording rule in the group reads the previous evaluation only (group order, as Prometheus)', async () => {
    const yaml = `groups:
  - name: rec
    rules:
      - alert: Busy
        expr: job.busy_max > 90
      - record: job.busy_max
        expr: max(cpu.busy[1m]) by (host)
`
    const s = setup(cpuPoints({a: [95, 95, 95]}), yaml)
    const first = await s.engine.evaluateGroup('rec', T0 + 1 * M)
    assert.equal(first.rules[0].health, 'nodata')
    assert.equal(s.engine.activeAlerts().length, 0)
    await s.engine.evaluateGroup('rec', T0 + 2 * M)
    assert.deepEqual(s.engine.activeAlerts().map((a) => a.labels.host), ['a'])
  })

  it('a duplicate label set is a rule error: counted, reported, nothing written, the other rules go on', async () => {
    const yaml = `groups:
  - name: rec
    rules:
      - record: job.busy_max
        expr: max(cpu.busy[1m]) by (host)
        labels: {host: all}
      - alert: Busy
        expr: cpu.busy > 90
`
    const s = setup(cpuPoints({a: [95], b: [95]}), yaml)
    const ev = await s.engine.evaluateGroup('rec', T0)
    assert.equal(ev.rules[0].health, 'error')
    assert.match(ev.rules[0].error!, /vector contains metrics with the same labelset after applying rule labels: \{host="all"\}/)
    assert.equal(ev.rules[1].health, 'ok')
    assert.equal(s.engine.stats().ruleErrors, 1)
    assert.match(s.engine.ruleStatus()[0].lastError!, /same labelset/)
    assert.deepEqual(await s.store.query({measurement: 'job', field: 'busy_max', matchers: [], start: 0, end: T0 + M}), [])
  })

  it('more series than the group limit is a rule error and nothing is written (as Prometheus)', async () => {
    const s = setup(cpuPoints({a: [1], b: [2], c: [3]}), RECORD_THEN_ALERT.replace('interval: 1m', 'interval: 1m\n    limit: 2'))
    const ev = await s.engine.evaluateGroup('rec', T0)
    assert.equal(ev.rules[0].health, 'error')
    assert.equal(ev.rules[0].error, "the rule gave 3 series, more than the group's limit of 2; nothing written")
    assert.deepEqual(await s.store.query({measurement: 'job', field: 'busy_max', matchers: [], start: 0, end: T0 + M}), [])
  })

  it('a write the store refuses is a rule error with the reason', async () => {
    // the field exists as text: the store refuses floats there (a real refusal, not a mock)
    const s = setup([...cpuPoints({a: [50]}), {measurement: 'job', tags: {}, fields: {busy_max: 'text'}, ts: T0 - 10 * M}], RECORD_THEN_ALERT)
    const ev = await s.engine.evaluateGroup('rec', T0)
    assert.equal(ev.rules[0].health, 'error')
    assert.match(ev.rules[0].error!, /1 point\(s\) of job.busy_max|cannot write 1 point/)
    assert.match(ev.rules[0].error!, /field type conflict/)
    assert.equal(ev.rules[0].recorded, 0)
    assert.equal(s.engine.stats().ruleErrors, 1)
  })

  it('a failing query is a rule error and writes nothing', async () => {
    const yaml = `groups:
  - name: rec
    rules:
      - record: job.x
        expr: max(app.status[1m])
`
    const s = setup([...cpuPoints({a: [1]}), {measurement: 'app', tags: {}, fields: {status: 'up'}, ts: T0 - 1000}], yaml)
    const ev = await s.engine.evaluateGroup('rec', T0)
    assert.equal(ev.rules[0].health, 'error')
    assert.match(ev.rules[0].error!, /app\.status holds strings/)
    assert.equal(ev.rules[0].recorded, 0)
  })
})

describe('recording rules: mon rules eval (nothing written)', () => {
  it('later rules read the output from memory; the store is untouched', async () => {
    const s = setup(cpuPoints({a: [10, 95, 97]}), RECORD_THEN_ALERT)
    const out = await evaluateRulesOnce({groups: s.groups, store: s.store, at: T0 + 2 * M, replay: false})
    assert.deepEqual(out.alerts.map((a) => [a.labels.alertname, a.labels.host, a.state]), [['Busy', 'a', 'firing']])
    assert.deepEqual(out.rules.map((r) => [r.id, r.type, r.samples]), [
      ['rec/job.busy_max', 'record', 1],
      ['rec/Busy', 'alert', 1],
    ])
    assert.deepEqual(await s.store.query({measurement: 'job', field: 'busy_max', matchers: [], start: 0, end: T0 + 10 * M}), [])
  })

  it('the overlay merges written points with the store (the written one wins) and aggregates them alike', async () => {
    const store = new SqliteStore({path: ':memory:', autoCompactEvery: 0})
    try {
      store.writeSync([
        {measurement: 'job', tags: {host: 'a'}, fields: {x: 1}, ts: T0},
        {measurement: 'job', tags: {host: 'a'}, fields: {x: 2}, ts: T0 + M},
      ])
      const overlay = new RecordingOverlay(store)
      await overlay.write([
        {measurement: 'job', tags: {host: 'a'}, fields: {x: 20}, ts: T0 + M},
        {measurement: 'job', tags: {host: 'b'}, fields: {x: 5}, ts: T0 + M},
      ])
      const raw = await overlay.query({measurement: 'job', field: 'x', matchers: [], start: T0, end: T0 + 2 * M})
      assert.deepEqual(rows(raw), [
        [{host: 'a'}, [[T0, 1], [T0 + M, 20]]],
        [{host: 'b'}, [[T0 + M, 5]]],
      ])
      const filtered = await overlay.query({measurement: 'job', field: 'x', matchers: [{name: 'host', op: '=', value: 'b'}], start: T0, end: T0 + 2 * M})
      assert.deepEqual(rows(filtered), [[{host: 'b'}, [[T0 + M, 5]]]])
      const sum = await overlay.query({measurement: 'job', field: 'x', matchers: [], start: T0, end: T0 + 2 * M, aggregate: {fn: 'sum', by: []}})
      assert.deepEqual(sum.map((f) => f.rows), [[[T0, 26]]])
      // the store itself has only its own points
      assert.deepEqual(rows(await store.query({measurement: 'job', field: 'x', matchers: [], start: T0, end: T0 + 2 * M})), [[{host: 'a'}, [[T0, 1], [T0 + M, 2]]]])
    } finally {
      await store.close()
    }
  })
})
