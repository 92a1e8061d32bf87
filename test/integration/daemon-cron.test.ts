/**
 * Cron mode, as crontab runs it (the real bin/run.js, no TTY): `mon alerts eval --once` evaluates
 * with state kept between runs and delivers to a loopback webhook; `mon collect --once` runs that
 * overlap take turns at the spool instead of one failing (two crontab lines in the same minute), and
 * a run that cannot get the spool says who holds it.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {AlertsEvalOnceSummary} from '../../src/core/daemon/cron.js'
import {startCapture, type CaptureServer} from '../helpers/capture.js'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

describe('mon alerts eval --once', () => {
  const tmp = tempDir('mon-cron-eval-')
  let hook: CaptureServer
  let config: string
  const ruleFile = () => join(tmp.dir, 'rules.yaml')
  const rule = (name: string) => `groups:
  - name: watch
    interval: 1m
    rules:
      - alert: ${name}
        expr: absent(heartbeat.seen)
        labels: {severity: critical}
        annotations: {summary: 'no heartbeat'}
`
  before(async () => {
    hook = await startCapture()
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(ruleFile(), rule('HeartbeatMissing'))
    writeFileSync(
      config,
      `data_dir: ${join(tmp.dir, 'data')}
rules: {files: [rules.yaml]}
notify:
  receivers:
    - name: hook
      webhook_configs: [{url: "${hook.url}/alerts"}]
  route: {receiver: hook, group_wait: 5m}
`,
    )
  })
  after(async () => {
    await hook.close()
    tmp.cleanup()
  })

  // every run at a time of the test's choosing (--at): whether a group is due depends on the minute
  const at = (second: number) => ['--at', new Date(Date.UTC(2026, 0, 5, 10, 0, second)).toISOString()]
  const evalOnce = async (second: number, ...args: string[]) => {
    const r = await runMon(['alerts', 'eval', '--once', '--config', config, '--json', ...at(second), ...args])
    return {...r, out: r.stdout ? (JSON.parse(r.stdout) as AlertsEvalOnceSummary) : undefined}
  }

  it('needs --once', async () => {
    const r = await runMon(['alerts', 'eval', '--config', config])
    assert.equal(r.code, 2)
    assert.match(r.stderr, /error: mon alerts eval needs --once\nhint: continuous evaluation runs in `mon daemon`/)
  })

  it('evaluates, keeps state between runs, and delivers to the webhook in the same run', async () => {
    const first = await evalOnce(5)
    assert.equal(first.code, 0, first.stderr)
    assert.deepEqual(
      first.out!.transitions.map((t) => [t.alertname, t.from, t.to]),
      [['HeartbeatMissing', 'inactive', 'firing']],
    )
    assert.deepEqual(first.out!.notifications, {enqueued: 1, delivered: 1, retried: 0, dead: 0, stillPending: 0, timedOut: false})
    assert.equal(hook.requests.length, 1, 'delivered in this run: group_wait does not apply to a one-shot run')
    const body = hook.json<{status: string; alerts: Array<{labels: Record<string, string>}>}>(hook.requests[0])
    assert.equal(body.status, 'firing')
    assert.equal(body.alerts[0].labels.alertname, 'HeartbeatMissing')

    // the next cron run within the same minute: the 1m group is not due
    const second = await evalOnce(35)
    assert.equal(second.code, 0, second.stderr)
    assert.equal(second.out!.groups[0].evaluated, false)
    assert.equal(second.out!.groups[0].skipped, 'not due: last evaluated 30s ago')

    // --all evaluates anyway: still firing, state came from state.db, nothing sent again (repeat_interval)
    const third = await evalOnce(40, '--all')
    assert.equal(third.code, 0, third.stderr)
    assert.deepEqual(third.out!.transitions, [])
    assert.equal(third.out!.alerts.firing, 1)
    assert.equal(hook.requests.length, 1)

    // the rule is replaced: its alert resolves, and the webhook hears about it (one group: both alerts in one message)
    writeFileSync(ruleFile(), rule('HeartbeatLost'))
    const fourth = await evalOnce(45, '--all')
    assert.equal(fourth.code, 0, fourth.stderr)
    assert.equal(hook.requests.length, 2)
    const update = hook.json<{status: string; alerts: Array<{status: string; labels: Record<string, string>}>}>(hook.requests[1])
    assert.deepEqual(update.alerts.map((a) => `${a.labels.alertname}:${a.status}`).sort(), ['HeartbeatLost:firing', 'HeartbeatMissing:resolved'])

    const text = await runMon(['alerts', 'eval', '--once', '--all', '--config', config, ...at(50)])
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^evaluated 1 of 1 group \(1 rule\): 1 firing, 0 pending$/m)
  })

  it('exits 1 when a notification cannot be delivered, and leaves it in the outbox for the next run', async () => {
    hook.respond(() => ({status: 503, body: 'down for maintenance'}))
    writeFileSync(ruleFile(), rule('HeartbeatGone'))
    const r = await evalOnce(55, '--all')
    hook.respond(() => undefined)
    assert.equal(r.code, 1, r.stderr)
    assert.ok(r.out!.notifications.retried >= 1, JSON.stringify(r.out!.notifications))
    assert.match(r.stderr, /^1 notification left in the outbox for the next run/m)
  })
})

describe('mon collect --once under cron', () => {
  const tmp = tempDir('mon-cron-collect-')
  let slow: Server
  let hits = 0
  let config: string
  before(async () => {
    // a check that takes a while, so that two runs overlap
    slow = createServer((_req, res) => {
      hits++
      setTimeout(() => res.end('ok'), 1200)
    })
    await new Promise<void>((r) => slow.listen(0, '127.0.0.1', r))
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(
      config,
      `data_dir: ${join(tmp.dir, 'data')}
agent: {self_metrics: false}
inputs:
  host: {enabled: false}
  http:
    - {name: slow, url: "http://127.0.0.1:${(slow.address() as {port: number}).port}/", timeout: 10s}
`,
    )
  })
  after(async () => {
    await new Promise((r) => slow.close(r))
    tmp.cleanup()
  })

  it('overlapping runs take turns at the spool: both succeed, each collects once', async () => {
    const [a, b] = await Promise.all([runMon(['collect', '--once', '--config', config, '--json']), runMon(['collect', '--once', '--config', config, '--json'])])
    assert.equal(a.code, 0, a.stderr)
    assert.equal(b.code, 0, b.stderr)
    assert.equal(hits, 2, 'one check per run')
    const written = [a, b].map((r) => (JSON.parse(r.stdout) as {points: number}).points)
    assert.deepEqual(written, [1, 1])
    const q = await runMon(['query', 'sum(count_over_time(http_response.result_code[1h]))', '--config', config, '--json'])
    assert.equal(q.code, 0, q.stderr)
    assert.equal((JSON.parse(q.stdout) as {series: Array<{values: Array<[string, number]>}>}).series[0].values[0][1], 2)
  })

  it('a run that cannot get the spool in time is skipped with exit 1, naming the holder', async () => {
    const lockFile = join(tmp.dir, 'data', 'spool', 'LOCK')
    mkdirSync(join(tmp.dir, 'data', 'spool'), {recursive: true})
    const holder = spawn(process.execPath, ['-e', `require('fs').writeFileSync(${JSON.stringify(lockFile)}, process.pid + '\\n'); setInterval(() => {}, 1000)`], {stdio: 'ignore'})
    try {
      for (let i = 0; i < 200 && !existsSync(lockFile); i++) await new Promise((r) => setTimeout(r, 10))
      const r = await runMon(['collect', '--once', '--config', config, '--lock-wait', '300ms'])
      assert.equal(r.code, 1, r.stderr)
      assert.match(r.stderr, new RegExp(`error: another mon process \\(pid ${holder.pid}\\) still holds the spool in .* after \\d+ms; this run is skipped`))
      assert.doesNotMatch(r.stderr, /\n\s+at /, 'no stack trace')
    } finally {
      holder.kill('SIGKILL')
      await new Promise((r) => (holder.exitCode === null ? holder.once('exit', r) : r(null)))
    }
  })
})

describe('cron: mon collect --once, then mon alerts eval --once in the same minute', () => {
  const tmp = tempDir('mon-cron-fresh-')
  // the exec input reports a point at 10:00:03; cron's eval line runs a few seconds later
  const collectedAt = Date.UTC(2026, 0, 5, 10, 0, 3)
  let config: string
  before(() => {
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(
      join(tmp.dir, 'rules.yaml'),
      `groups:
  - name: beats
    interval: 1m
    rules:
      - alert: HeartbeatSeen
        expr: heartbeat.seen > 0
`,
    )
    writeFileSync(
      config,
      `data_dir: ${join(tmp.dir, 'data')}
agent: {self_metrics: false}
rules: {files: [rules.yaml]}
inputs:
  host: {enabled: false}
  exec:
    - name: beat
      command: [${JSON.stringify(process.execPath)}, -e, ${JSON.stringify(`console.log('heartbeat seen=1 ${collectedAt}000000')`)}]
      data_format: influx
`,
    )
  })
  after(() => tmp.cleanup())

  it('the evaluation sees the point the collection just wrote', async () => {
    const collected = await runMon(['collect', '--once', '--config', config, '--json'])
    assert.equal(collected.code, 0, collected.stderr)
    const evaluated = await runMon(['alerts', 'eval', '--once', '--config', config, '--json', '--at', new Date(collectedAt + 2000).toISOString()])
    assert.equal(evaluated.code, 0, evaluated.stderr)
    const out = JSON.parse(evaluated.stdout) as AlertsEvalOnceSummary
    assert.deepEqual(
      out.transitions.map((t) => [t.alertname, t.from, t.to]),
      [['HeartbeatSeen', 'inactive', 'firing']],
      'a point 2 s before the evaluation is part of it',
    )
  })
})
