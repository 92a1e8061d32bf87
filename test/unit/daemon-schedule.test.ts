/**
 * Rule groups on cron schedules, as the daemon runs them: the scheduler with a ManualTimer, so the
 * times are exact and nothing sleeps. First the rule scheduler alone, then a whole daemon
 * (createDaemon in-process, embedded store in a temp dir) whose clock and timers are the ManualTimer.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import type {RuleGroup} from '../../src/core/alerting/rules.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {isDue} from '../../src/core/daemon/cron.js'
import {crontabLines} from '../../src/core/daemon/install.js'
import {createDaemon} from '../../src/core/daemon/daemon.js'
import {ruleScheduler, serialize} from '../../src/core/daemon/rule-jobs.js'
import {silentLogger} from '../../src/core/log.js'
import {parseSchedule} from '../../src/core/scheduler/schedule.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import {tempDir} from '../helpers/servers.js'

const iso = (t: number) => new Date(t).toISOString()
const group = (name: string, interval: string): RuleGroup => ({name, file: 'rules.yaml', interval, limit: 0, rules: []})

describe('rule scheduler', () => {
  it('runs a cron group at the times of its expression in the configured time zone', async () => {
    // 13:50Z on a January Thursday; New York is UTC-5 in winter
    const timer = new ManualTimer(Date.UTC(2026, 0, 15, 13, 50, 0))
    const runs: Array<[string, string]> = []
    const s = ruleScheduler({
      groups: [group('ny', '5,35 9 * * *'), group('every20s', '20s')],
      evaluate: async (g) => void runs.push([g, iso(timer.now())]),
      clock: timer,
      timer,
      timezone: 'America/New_York',
    })
    s.start()
    await timer.advance(60 * 60_000)
    await s.stop()
    assert.deepEqual(
      runs.filter(([g]) => g === 'ny').map(([, t]) => t),
      ['2026-01-15T14:05:00.000Z', '2026-01-15T14:35:00.000Z'],
    )
    const interval = runs.filter(([g]) => g === 'every20s').map(([, t]) => t)
    assert.equal(interval.length, 180)
    assert.equal(interval[0], '2026-01-15T13:50:20.000Z')
    assert.ok(interval.every((t) => /:(00|20|40)\.000Z$/.test(t)), 'interval runs are aligned to multiples of the interval')
    assert.equal(timer.armed, 0, 'stop clears every timer')
  })

  it('replaces runs missed during a suspend by one run, not a burst', async () => {
    const timer = new ManualTimer(Date.UTC(2026, 0, 15, 12, 0, 30))
    const runs: string[] = []
    const s = ruleScheduler({groups: [group('g', '* * * * *')], evaluate: async () => void runs.push(iso(timer.now())), clock: timer, timer, timezone: 'UTC'})
    s.start()
    await timer.advance(60_000) // 12:01:00
    timer.jump(3 * 3_600_000) // the laptop sleeps for three hours: the wall clock moves, timers do not
    await timer.advance(60_000)
    assert.equal(runs[0], '2026-01-15T12:01:00.000Z')
    assert.equal(runs.length, 2, `one catch-up run, not 180: ${runs.join(', ')}`)
    assert.ok(s.status()[0].missed >= 179, `missed runs are counted (${s.status()[0].missed})`)
    await s.stop()
  })

  it("jitter: each run starts up to the group's jitter (else rules.jitter) after its time", async () => {
    const timer = new ManualTimer(Date.UTC(2026, 0, 15, 12, 0, 0))
    const runs: Array<[string, number]> = []
    const s = ruleScheduler({
      groups: [{...group('own', '1m'), jitterMs: 20_000}, group('default', '1m'), {...group('none', '1m'), jitterMs: 0}],
      evaluate: async (g) => void runs.push([g, timer.now() % 60_000]),
      clock: timer,
      timer,
      timezone: 'UTC',
      jitterMs: 10_000,
      random: () => 0.5,
    })
    s.start()
    await timer.advance(5 * 60_000 + 30_000)
    await s.stop()
    const offsets = (g: string) => [...new Set(runs.filter(([name]) => name === g).map(([, ms]) => ms))]
    assert.deepEqual(offsets('own'), [10_000], 'half of its own 20 s')
    assert.deepEqual(offsets('default'), [5_000], 'half of rules.jitter')
    assert.deepEqual(offsets('none'), [0])
    for (const g of ['own', 'default', 'none']) assert.equal(runs.filter(([name]) => name === g).length, 5, `${g}: one run a minute`)
  })

  it('evaluates groups one at a time', async () => {
    const serial = serialize()
    const order: string[] = []
    const job = (name: string, ms: number) =>
      serial(async () => {
        order.push(`${name}+`)
        await new Promise((r) => setTimeout(r, ms))
        order.push(`${name}-`)
      })
    await Promise.all([job('a', 20), job('b', 1), job('c', 5)])
    assert.deepEqual(order, ['a+', 'a-', 'b+', 'b-', 'c+', 'c-'])
  })
})

describe('cron mode: which groups are due', () => {
  // schedules are aligned (1m: every :00; 5m: :00, :05 …), so a group is due once its next slot after the last evaluation has come
  const at = (h: number, m: number, s: number) => Date.UTC(2026, 0, 15, h, m, s)
  const table: Array<[string, string, number | undefined, number, boolean]> = [
    ['never evaluated', '1m', undefined, at(12, 0, 2), true],
    ["1m group, evaluated by the previous minute's run", '1m', at(11, 59, 3), at(12, 0, 2), true],
    ['1m group, already evaluated in this minute (an overlapping run)', '1m', at(12, 0, 1), at(12, 0, 2), false],
    ['5m group at 12:04, last evaluated at 12:00', '5m', at(12, 0, 2), at(12, 4, 2), false],
    ['5m group at 12:05, last evaluated at 12:00', '5m', at(12, 0, 2), at(12, 5, 1), true],
    ['5m group exactly at its slot', '5m', at(12, 0, 2), at(12, 5, 0), true],
    ['1m group, a manual run just before the minute', '1m', at(12, 0, 58), at(12, 0, 59), false],
    ['clock stepped back behind the last evaluation', '1m', at(13, 0, 0), at(12, 0, 2), true],
    ['cron "*/10 * * * *" at 12:10, last at 12:00', '*/10 * * * *', at(12, 0, 1), at(12, 10, 1), true],
    ['cron "*/10 * * * *" at 12:09, last at 12:00', '*/10 * * * *', at(12, 0, 1), at(12, 9, 1), false],
  ]
  for (const [what, spec, last, now, due] of table) {
    it(what, () => assert.equal(isDue(group('g', spec), parseSchedule(spec, {timezone: 'UTC'}), last, now), due))
  }
})

describe('daemon with injected time', () => {
  const tmp = tempDir('mon-daemon-unit-')
  after(() => tmp.cleanup())

  it('evaluates a cron-scheduled rule group at the right times, and once after a suspend', async () => {
    const dir = tmp.dir
    writeFileSync(
      join(dir, 'rules.yaml'),
      `groups:
  - name: office
    rules:
      - alert: NothingThere
        expr: absent(nothing.here)
`,
    )
    const text = `data_dir: ${join(dir, 'data')}
agent: {self_metrics: false, timezone: Europe/Berlin}
inputs: {host: {enabled: false}}
rules: {files: [rules.yaml], default_interval: "0 9,17 * * 1-5"}
api: {listen: "127.0.0.1:0"}
`
    const loaded = parseConfigText(text, join(dir, 'mon.yaml'), {}, {cwd: dir})
    // Friday 2026-01-16 07:00 UTC (08:00 in Berlin, CET = UTC+1)
    const timer = new ManualTimer(Date.UTC(2026, 0, 16, 7, 0, 0))
    const daemon = createDaemon({
      loaded,
      loadConfig: async () => loaded,
      log: silentLogger,
      version: 'test',
      clock: timer,
      timer,
      statusEveryMs: 3_600_000,
      maintenanceEveryMs: 3_600_000,
      notifyPollMs: 600_000,
    })
    await daemon.start()
    try {
      const evaluations = () => daemon.facts().rules.groups[0]
      assert.equal(evaluations().schedule, 'cron "0 9,17 * * 1-5" (Europe/Berlin)')
      assert.equal(iso(evaluations().job!.nextRun!), '2026-01-16T08:00:00.000Z')

      await timer.advance(2 * 3_600_000) // 09:00 and nothing else
      assert.equal(iso(evaluations().lastEvalAt!), '2026-01-16T08:00:00.000Z')
      assert.equal(evaluations().job!.runs, 1)
      await timer.advance(8 * 3_600_000) // 17:00 Berlin
      assert.equal(iso(evaluations().lastEvalAt!), '2026-01-16T16:00:00.000Z')
      assert.equal(evaluations().job!.runs, 2)
      assert.equal(iso(evaluations().job!.nextRun!), '2026-01-19T08:00:00.000Z', 'Monday 09:00: the weekend is skipped')
      assert.equal(daemon.facts().rules.stats.pending + daemon.facts().rules.stats.firing, 1, 'the rule was evaluated (absent() fires)')

      // suspended over the whole next week: one run when it wakes, the missed ones counted
      timer.jump(10 * 86_400_000)
      await timer.advance(60_000)
      assert.equal(evaluations().job!.runs, 3)
      assert.ok(evaluations().job!.missed >= 9, `missed ${evaluations().job!.missed}`)
    } finally {
      const summary = await daemon.stop(5000)
      assert.equal(summary.pending, 0)
    }
  })
})

describe('mon install crontab', () => {
  const lines = (yaml: string, ruleIntervals: string[]) =>
    crontabLines(parseConfigText(yaml, '<test>', {}).config, {node: '/usr/bin/node', bin: '/opt/mon/bin/run.js', config: '/etc/mon/mon.yaml', dataDir: '/var/lib/mon', ruleIntervals})
  const run = `MON_DATA_DIR=/var/lib/mon /usr/bin/node /opt/mon/bin/run.js`

  it('rules in the minutes of a collect line are evaluated after it, on that line, so they see what it collected', () => {
    const out = lines(`inputs:\n  host: {interval: 10s}\n  http: [{name: api, url: "http://127.0.0.1:1/", interval: 1m}, {name: slow, url: "http://127.0.0.1:2/", interval: 5m}]\n`, ['1m', '5m'])
    assert.deepEqual(
      out.map((l) => [l.schedule, l.command]),
      [
        ['* * * * *', `${run} collect --once --config /etc/mon/mon.yaml --input host --input http:api >/dev/null; ${run} alerts eval --once --config /etc/mon/mon.yaml >/dev/null`],
        ['*/5 * * * *', `${run} collect --once --config /etc/mon/mon.yaml --input http:slow >/dev/null`],
        ['17 3 * * *', `${run} store retention apply --config /etc/mon/mon.yaml >/dev/null`],
      ],
    )
    assert.match(out[0].comment, /^inputs every 10s \(.*\), every 1m: host, http:api; then the rules every 1m: evaluate what was just collected, and notify$/)
  })

  it('rules on a schedule of their own get a line of their own', () => {
    const out = lines(`inputs:\n  host: {interval: 5m}\n`, ['1m'])
    assert.deepEqual(
      out.map((l) => [l.schedule, l.command]),
      [
        ['*/5 * * * *', `${run} collect --once --config /etc/mon/mon.yaml --input host >/dev/null`],
        ['* * * * *', `${run} alerts eval --once --config /etc/mon/mon.yaml >/dev/null`],
        ['17 3 * * *', `${run} store retention apply --config /etc/mon/mon.yaml >/dev/null`],
      ],
    )
  })
})
