/**
 * The incident workflow end to end: real rule engine and notify Dispatcher (ManualClock) firing to
 * loopback receivers (an Alertmanager-style webhook and a PagerDuty Events API), and `mon alerts …`
 * as a user runs it (the real bin/run.js, no TTY) on the same data dir. The steps run in order:
 * fire → list → ack (no more repeats, PagerDuty acknowledged) → show → the ack race → resolve and
 * fire again (a new incident) → resolve by hand → history → bad input.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import {AlertStateWriter} from '../../src/core/alerting/persist.js'
import type {ActionOutcomeView} from '../../src/cli/alert-actions.js'
import type {AlertDetail, AlertView, HistoryEntry} from '../../src/core/incidents/types.js'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {runMon} from '../helpers/cli.js'

const M = 60_000
const H = 60 * M

describe('mon alerts: ack, show, resolve against a firing alert', () => {
  let s: AlertScenario
  let t0: number
  const mon = (...args: string[]) => runMon(args, {env: s.env})
  const list = async (...args: string[]): Promise<AlertView[]> => {
    const r = await mon('alerts', 'list', '--json', ...args)
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as AlertView[]
  }
  const idOf = async (host: string): Promise<string> => {
    const v = (await list('--state', 'all')).find((a) => a.labels.host === host && a.alertname === 'HighCpu')
    assert.ok(v, `an alert for ${host}`)
    return v.id
  }
  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace')

  before(async () => {
    s = await startAlertScenario()
    t0 = s.t0
  })
  after(async () => {
    await s.close()
  })

  it('an alert fires: the webhook and PagerDuty hear about it', async () => {
    await s.metrics(t0, {'web-1': 97, 'web-2': 95})
    assert.deepEqual(await s.step(t0), ['pd: trigger HighCpu/web-1', 'pd: trigger HighCpu/web-2', 'webhook: +HighCpu/web-1', 'webhook: +HighCpu/web-2'])
  })

  it('list: a table with short ids, severity, labels, state, age, acked by; --json the same data', async () => {
    const alerts = await list()
    assert.deepEqual(
      alerts.map((a) => [a.alertname, a.severity, a.labels.host, a.state, a.ackedBy]),
      [
        ['HighCpu', 'critical', 'web-1', 'firing', null],
        ['HighCpu', 'critical', 'web-2', 'firing', null],
      ],
    )
    for (const a of alerts) {
      assert.ok(a.fingerprint.startsWith(a.id) && a.id.length >= 4, a.id)
      assert.equal(a.annotations.summary, `CPU on ${a.labels.host} at ${a.labels.host === 'web-1' ? 97 : 95}%`)
    }
    const r = await mon('alerts', 'list')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^ID\s+SEVERITY\s+ALERT\s+LABELS\s+STATE\s+AGE\s+ACKED BY$/m)
    assert.match(r.stdout, new RegExp(`^${alerts[0]!.id}\\s+critical\\s+HighCpu\\s+host=web-1\\s+firing\\s+\\d+m$`, 'm'))
    assert.match(r.stdout, /2 firing/)
  })

  it('ack: the next repeat does not happen, and PagerDuty gets an acknowledge event', async () => {
    const id = await idOf('web-1')
    const r = await mon('alerts', 'ack', id, '--comment', 'looking into it', '--by', 'alice@laptop')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^acknowledged ${id} HighCpu \\(incident #\\d+\\) as alice@laptop: looking into it$`, 'm'))
    assert.match(r.stdout, /queued for team\/pagerduty\[0\]/)

    // the daemon's next tick delivers the acknowledgement (the webhook has no such concept)
    // (at a time after the ack was queued: the CLI ran on the real clock, the engine runs on t0's)
    const next = Math.max(t0 + 10 * M, Date.now() + 1000)
    await s.metrics(next, {'web-1': 97, 'web-2': 95})
    assert.deepEqual(await s.step(next), ['pd: acknowledge HighCpu/web-1'])
    const ack = s.capture.requests.find((q) => q.url === '/pd/team')!
    assert.deepEqual(s.capture.json(ack), {routing_key: 'pd-routing-key-0001', event_action: 'acknowledge', dedup_key: s.fingerprint('web-1')})

    // repeat_interval (1h): only the unacknowledged alert is repeated
    await s.metrics(t0 + H, {'web-1': 97, 'web-2': 95})
    assert.deepEqual(await s.step(t0 + H), ['pd: trigger HighCpu/web-2', 'webhook: +HighCpu/web-2'])

    const acked = await list('--state', 'acked')
    assert.deepEqual(acked.map((a) => [a.labels.host, a.state, a.ackedBy, a.incident?.ackComment]), [['web-1', 'acked', 'alice@laptop', 'looking into it']])
    const table = await mon('alerts', 'list')
    assert.match(table.stdout, /host=web-1\s+acked\s+\d+m\s+alice@laptop$/m)
  })

  it('show: labels, annotations, value and the timeline (fired, notifications, ack)', async () => {
    const id = await idOf('web-1')
    const r = await mon('alerts', 'show', id, '--json')
    assert.equal(r.code, 0, r.stderr)
    const d = JSON.parse(r.stdout) as AlertDetail
    assert.equal(d.value, 97)
    assert.equal(d.annotations.summary, 'CPU on web-1 at 97%')
    assert.deepEqual(
      d.timeline.map((e) => [e.kind, e.channel ?? e.actor ?? '', e.result ?? e.comment ?? '']),
      [
        ['fired', '', ''],
        ['notification', 'team/webhook[0]', 'delivered'],
        ['notification', 'team/pagerduty[0]', 'delivered'],
        ['ack', 'alice@laptop', 'looking into it'],
        ['notification', 'team/pagerduty[0]', 'delivered'],
      ],
    )
    const text = await mon('alerts', 'show', id)
    assert.equal(text.code, 0, text.stderr)
    for (const line of [
      /^fingerprint {2}[0-9a-f]{16}$/m,
      /^value {8}97$/m,
      /^labels {7}host=web-1 severity=critical$/m,
      /^acked by {5}alice@laptop at .*: looking into it$/m,
      /summary: CPU on web-1 at 97%/,
      /fired {8}fired \(value 97\)$/m,
      /notification {1}firing notification → team\/pagerduty\[0\] \(pagerduty\): delivered$/m,
      /ack {10}acknowledged by alice@laptop: looking into it$/m,
      /notification {1}acknowledged notification → team\/pagerduty\[0\] \(pagerduty\): delivered$/m,
    ]) {
      assert.match(text.stdout, line)
    }
  })

  it('two terminals ack at once: one wins, the others are told who acked', async () => {
    const id = await idOf('web-2')
    const racers = ['bob@desk', 'carol@phone', 'dave@tablet']
    const results = await Promise.all(racers.map((by) => mon('alerts', 'ack', id, '--by', by)))
    const winners = results.filter((r) => r.code === 0)
    assert.equal(winners.length, 1, results.map((r) => r.stderr).join('\n'))
    const winner = racers[results.indexOf(winners[0]!)]!
    for (const r of results.filter((x) => x.code !== 0)) {
      assert.equal(r.code, 1)
      assert.match(r.stderr, new RegExp(`^error: HighCpu \\{host=web-2, severity=critical\\} is already acknowledged by ${winner} (just now|\\d+s ago)$`, 'm'))
      noStack(r.stderr)
    }
    const [v] = (await list('--state', 'acked', '--label', 'host=web-2'))
    assert.equal(v?.ackedBy, winner)
    // the same person acking again changes nothing and is fine
    const again = await mon('alerts', 'ack', id, '--by', winner)
    assert.equal(again.code, 0, again.stderr)
    assert.match(again.stdout, /already acknowledged by you/)
  })

  it('a resolved alert cannot be acked; when it fires again it is a new incident', async () => {
    const id = await idOf('web-1')
    const before = (await list('--label', 'host=web-1'))[0]!.incident!.id
    await s.metrics(t0 + H + M, {'web-1': 10, 'web-2': 95})
    // (and the race's winner's acknowledgement of web-2 goes out)
    assert.deepEqual(await s.step(t0 + H + M), ['pd: acknowledge HighCpu/web-2', 'pd: resolve HighCpu/web-1', 'webhook: -HighCpu/web-1'])
    const r = await mon('alerts', 'ack', id)
    assert.equal(r.code, 1)
    assert.match(r.stderr, /^error: cannot acknowledge HighCpu \{host=web-1, severity=critical\}: it resolved .* \(the condition cleared\)$/m)
    noStack(r.stderr)

    await s.metrics(t0 + H + 2 * M, {'web-1': 99, 'web-2': 95})
    assert.deepEqual(await s.step(t0 + H + 2 * M), ['pd: trigger HighCpu/web-1', 'webhook: +HighCpu/web-1'])
    const [fresh] = await list('--label', 'host=web-1')
    assert.deepEqual([fresh?.state, fresh?.ackedBy, fresh?.incident], ['firing', null, null])
    const ack = await mon('alerts', 'ack', id, '--json', '--by', 'erin')
    assert.equal(ack.code, 0, ack.stderr)
    const [out] = JSON.parse(ack.stdout) as ActionOutcomeView[]
    assert.ok(out?.ok && out.incident > before, 'a new incident id')
  })

  it('resolve by hand: the channels hear it, and the still-true alert stays quiet', async () => {
    const id = await idOf('web-2')
    const r = await mon('alerts', 'resolve', id, '-m', 'false alarm, load test', '--by', 'frank')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^resolved .* as frank: false alarm, load test$/m)
    assert.match(r.stdout, /queued for team\/webhook\[0\], team\/pagerduty\[0\]/)
    assert.match(r.stdout, /warning: the rule's condition still held/)
    await s.metrics(t0 + H + 5 * M, {'web-1': 99, 'web-2': 95})
    // (erin's acknowledgement of the new web-1 incident goes out too)
    assert.deepEqual(await s.step(t0 + H + 5 * M), ['pd: acknowledge HighCpu/web-1', 'pd: resolve HighCpu/web-2', 'webhook: -HighCpu/web-2'])
    // two hours on: web-1 (acked by erin) and web-2 (resolved by frank) repeat nothing
    await s.metrics(t0 + 3 * H, {'web-1': 99, 'web-2': 95})
    assert.deepEqual(await s.step(t0 + 3 * H), [])
    const [v] = await list('--state', 'resolved', '--label', 'host=web-2')
    assert.equal(v?.incident?.resolvedBy, 'frank')
    const again = await mon('alerts', 'resolve', id)
    assert.equal(again.code, 1)
    assert.match(again.stderr, /cannot resolve HighCpu \{host=web-2, severity=critical\}: it was resolved by frank/)
  })

  it('comment and unack; history lists every action with actor and source', async () => {
    const id = await idOf('web-1')
    const c = await mon('alerts', 'comment', id, 'restarted', 'the', 'service', '--by', 'erin')
    assert.equal(c.code, 0, c.stderr)
    const u = await mon('alerts', 'unack', id, '--by', 'erin', '-m', 'handing over')
    assert.equal(u.code, 0, u.stderr)
    assert.match(u.stdout, /^unacknowledged /m)
    const h = await mon('alerts', 'history', '--json')
    assert.equal(h.code, 0, h.stderr)
    const entries = JSON.parse(h.stdout) as HistoryEntry[]
    const actions = entries.filter((e) => e.source === 'local').map((e) => `${e.action} ${e.alertname} ${e.actor}${e.comment ? `: ${e.comment}` : ''}`)
    assert.deepEqual(actions.slice(0, 4), ['unack HighCpu erin: handing over', 'comment HighCpu erin: restarted the service', 'resolve HighCpu frank: false alarm, load test', 'ack HighCpu erin'])
    assert.equal(actions.at(-1), 'ack HighCpu alice@laptop: looking into it')
    assert.ok(entries.some((e) => e.action === 'fired' && e.actor === 'rules'))
    const text = await mon('alerts', 'history', '--since', '1d', '--id', id)
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^TIME\s+ACTION\s+ID\s+ALERT\s+BY\s+SOURCE/m)
    assert.match(text.stdout, /ack\s+\S+\s+HighCpu\s+alice@laptop\s+local\s+looking into it/)
  })

  it('the actions are events in the metrics store (measurement alert_events)', async () => {
    const r = await mon('query', 'count(alert_events.incident) by action', '--since', '1d', '--format', 'json')
    assert.equal(r.code, 0, r.stderr)
    for (const action of ['ack', 'resolve', 'comment', 'unack']) assert.match(r.stdout, new RegExp(`"action":\\s*"${action}"`), action)
  })

  it('bad input: one clear line, exit 2, nothing changed', async () => {
    const cases: Array<[args: string[], stderr: RegExp]> = [
      [['alerts', 'ack', 'ffff'], /^error: no alert with id 'ffff'\nhint: list them with: mon alerts list --state all$/m],
      [['alerts', 'ack', 'zz'], /^error: 'zz' is not an alert id/m],
      [['alerts', 'show', '3f9'], /^error: alert id '3f9' is too short: give at least 4 characters$/m],
      [['alerts', 'ack'], /^error: no alert id given, and no terminal to pick from\nhint: give the ids: mon alerts ack <id>…/m],
      [['alerts', 'list', '--state', 'bogus'], /Expected --state=bogus to be one of: firing, pending, acked, resolved, all/],
      [['alerts', 'list', '--since', 'yesterday-ish'], /^error: invalid since 'yesterday-ish'/m],
      [['alerts', 'silence', 'add', 'alertname=X'], /Missing required flag comment/],
    ]
    for (const [args, stderr] of cases) {
      const r = await mon(...args)
      assert.equal(r.code, 2, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, stderr, args.join(' '))
      noStack(r.stderr)
    }
    // an id valid for one alert but not the other makes the whole command refuse before acting
    const id = await idOf('web-1')
    const mixed = await mon('alerts', 'ack', id, 'ffff')
    assert.equal(mixed.code, 2)
    assert.equal((await list('--state', 'acked', '--label', 'host=web-1')).length, 0)
  })

  it('an ambiguous prefix lists the candidates (exit 2)', async () => {
    // a second alert whose fingerprint shares the first 6 characters with web-1's
    const fp = s.fingerprint('web-1')
    const twin = fp.slice(0, 6) + (fp[6] === '0' ? '1' : '0') + '000000000'
    const at = s.clock.now()
    const alert = {fingerprint: twin, group: 'hosts', labels: {alertname: 'HighCpu', host: 'web-9', severity: 'critical'}, annotations: {}, state: 'firing' as const, value: 91, activeAt: at, firedAt: at, lastEvalAt: at, rule: 'hosts/HighCpu'}
    new AlertStateWriter(s.db).save([alert], [{alert, from: 'inactive', to: 'firing', at}], [])
    const r = await mon('alerts', 'ack', fp.slice(0, 5))
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`^error: alert id '${fp.slice(0, 5)}' is ambiguous: it matches 2 alerts$`, 'm'))
    assert.match(r.stderr, new RegExp(`^ {2}${fp.slice(0, 7)} {2}HighCpu \\{host=web-1, severity=critical\\} {2}firing$`, 'm'))
    assert.match(r.stderr, new RegExp(`^ {2}${twin.slice(0, 7)} {2}HighCpu \\{host=web-9, severity=critical\\} {2}firing$`, 'm'))
    assert.match(r.stderr, /^hint: give more characters of the id$/m)
    const ids = (await list('--label', 'host=~"web-[19]"')).map((a) => a.id)
    assert.deepEqual(ids.map((x) => x.length), [7, 7])
  })
})
