/**
 * `mon daemon` as an operator runs it: the real bin/run.js in a temp data dir, an HTTP check against
 * a loopback server of the test, a rule file, the API on a free port (read back from daemon.json).
 * /healthz and /metrics answer; SIGHUP applies a changed rule file and rejects a broken one (the
 * daemon keeps running the old rules); a second daemon, `collect --once` and `alerts eval --once`
 * refuse while it runs; SIGTERM exits 0 with everything collected in the store.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {createServer, type Server} from 'node:http'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import type {DaemonStatusView, StatusReport} from '../../src/core/daemon/status.js'
import {parsePrometheusText} from '../../src/core/model/prometheus-text.js'
import {BIN, runMon} from '../helpers/cli.js'
import {tempDir, waitFor} from '../helpers/servers.js'

const TOKEN = 'daemon-test-token-5f1c2a'
let tmp: ReturnType<typeof tempDir>
let server: Server
let checkUrl = ''
let daemon: ChildProcess | undefined
let stderr = ''

before(async () => {
  tmp = tempDir('mon-daemon-run-')
  server = createServer((_req, res) => res.end('ok'))
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
  checkUrl = `http://127.0.0.1:${(server.address() as {port: number}).port}/health`
})

after(async () => {
  if (daemon && daemon.exitCode === null) {
    daemon.kill('SIGKILL')
    await new Promise((r) => daemon!.once('exit', r))
  }
  await new Promise((r) => server.close(r))
  tmp.cleanup()
})

const rules = (extra: string) => `groups:
  - name: web
    interval: 1s
    rules:
      - alert: ApiDown
        expr: max(http_response.result_code) > 0
${extra}`

const logLines = () =>
  stderr
    .split('\n')
    .filter((l) => l.startsWith('{'))
    .map((l) => JSON.parse(l) as {level: string; msg: string; [k: string]: unknown})

it('runs, answers /healthz and /metrics, reloads on SIGHUP, refuses a second instance, and flushes on SIGTERM', {timeout: 90_000}, async () => {
  const dataDir = join(tmp.dir, 'data')
  const config = join(tmp.dir, 'mon.yaml')
  const ruleFile = join(tmp.dir, 'rules.yaml')
  writeFileSync(ruleFile, rules(''))
  writeFileSync(
    config,
    `data_dir: ${dataDir}
host: testbox
# points wait in memory until shutdown: SIGTERM must flush them
agent: {interval: 1s, flush_interval: 1h, self_metrics: false}
inputs:
  host: {enabled: false}
  http:
    - {name: api, url: "${checkUrl}", interval: 1s}
rules: {files: [rules.yaml]}
api: {listen: "127.0.0.1:0", token: ${TOKEN}}
`,
  )
  const env = {...process.env, MON_CONFIG: '', NO_COLOR: '1'}
  daemon = spawn(process.execPath, [BIN, 'daemon', '--config', config], {env, stdio: ['ignore', 'pipe', 'pipe']})
  daemon.stderr!.on('data', (d) => (stderr += d))
  const proc = daemon
  const statusFile = join(dataDir, 'daemon.json')
  const snapshot = () => JSON.parse(readFileSync(statusFile, 'utf8')) as DaemonStatusView
  await waitFor(async () => existsSync(statusFile) && snapshot().state === 'running', 'daemon started', 30_000, proc, () => stderr)
  const url = snapshot().api!.url
  assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/)
  assert.equal(readFileSync(join(dataDir, 'daemon.pid'), 'utf8'), `${proc.pid}\n`)
  const started = logLines().find((l) => l.msg === 'daemon running')
  assert.ok(started, stderr)
  assert.equal(started.api, url, 'the bound port is logged')
  const auth = {Authorization: `Bearer ${TOKEN}`}
  const liveStatus = async () => (await (await fetch(`${url}/api/v1/status`, {headers: auth})).json()) as DaemonStatusView

  // the check has run at least once
  await waitFor(async () => (await liveStatus()).inputs.some((i) => i.name === 'http:api' && i.runs > 0), 'http check ran', 20_000, proc, () => stderr)

  // /healthz: component status, no token needed
  const health = await fetch(`${url}/healthz`)
  assert.equal(health.status, 200)
  const h = (await health.json()) as {status: string; pid: number; components: Record<string, {status: string; message: string}>}
  assert.equal(h.status, 'ok', JSON.stringify(h))
  assert.equal(h.pid, proc.pid)
  assert.deepEqual(Object.keys(h.components).sort(), ['collector', 'config', 'maintenance', 'notify', 'rules', 'spool', 'store'])
  assert.equal(h.components.collector.message, '1 input')
  assert.match(h.components.rules.message, /^1 group, 1 rule;/)

  // /metrics: Prometheus text
  const metrics = await fetch(`${url}/metrics`)
  assert.equal(metrics.status, 200)
  assert.match(metrics.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/)
  const parsed = parsePrometheusText(await metrics.text())
  assert.deepEqual(parsed.errors, [])
  const sample = (name: string, labels: Record<string, string> = {}) => parsed.families.find((f) => f.name === name)?.samples.find((s) => Object.entries(labels).every(([k, v]) => s.labels[k] === v))?.value
  assert.equal(sample('mon_rules'), 1)
  assert.ok((sample('mon_input_runs_total', {input: 'http:api'}) ?? 0) >= 1)

  // the status API needs the token
  assert.equal((await fetch(`${url}/api/v1/status`)).status, 401)

  // `mon status` reads it from the API (the token is in the config)
  const st = await runMon(['status', '--config', config, '--json'])
  assert.equal(st.code, 0, st.stderr)
  const report = JSON.parse(st.stdout) as StatusReport
  assert.equal(report.running, true)
  assert.equal(report.pid, proc.pid)
  assert.equal(report.daemon!.source, 'api')
  assert.deepEqual(
    report.daemon!.ruleGroups.map((g) => [g.name, g.schedule, g.rules]),
    [['web', 'every 1s', 1]],
  )
  const text = await runMon(['status', '--config', config])
  assert.equal(text.code, 0, text.stderr)
  assert.match(text.stdout, new RegExp(`mon daemon: running \\(pid ${proc.pid}\\), up \\d+s, health ok, api ${url}`))
  assert.match(text.stdout, /inputs \(1\)[\s\S]*http:api +every 1s/)
  assert.match(text.stdout, /rule groups \(1, 1 rule\)[\s\S]*web +every 1s +1/)

  // SIGHUP with a changed rule file: the new rule is running
  writeFileSync(ruleFile, rules('      - alert: ApiSlow\n        expr: max(http_response.response_time) > 5\n'))
  proc.kill('SIGHUP')
  await waitFor(async () => (await liveStatus()).rules.total === 2, 'reload applied', 20_000, proc, () => stderr)
  assert.ok(logLines().some((l) => l.msg === 'reloaded config and rules'), stderr)
  await waitFor(async () => (await liveStatus()).ruleGroups[0].evaluations > 0, 'the new schedule runs', 20_000, proc, () => stderr)

  // SIGHUP with a broken rule file: rejected with file:line:col, the old rules keep running
  writeFileSync(ruleFile, rules('      - alert: ApiSlow\n        expr: avgg(http_response.response_time) > 5\n'))
  proc.kill('SIGHUP')
  await waitFor(async () => logLines().some((l) => l.msg.startsWith('reload rejected')), 'reload rejected', 20_000, proc, () => stderr)
  const rejected = logLines().find((l) => l.msg.startsWith('reload rejected'))!
  assert.equal(rejected.level, 'error')
  assert.match(String(rejected.error), /rules\.yaml:8:15: unknown function 'avgg'/)
  assert.equal(proc.exitCode, null, 'still running')
  const afterBroken = await liveStatus()
  assert.equal(afterBroken.rules.total, 2, 'the previous rules stay loaded')
  assert.equal(afterBroken.components.config.status, 'degraded')
  assert.equal(afterBroken.reload.ok, false)
  const evaluationsBefore = afterBroken.ruleGroups[0].evaluations
  await waitFor(async () => (await liveStatus()).ruleGroups[0].evaluations > evaluationsBefore, 'still evaluating', 20_000, proc, () => stderr)
  const health2 = await fetch(`${url}/healthz`)
  assert.equal(health2.status, 200)
  assert.equal(((await health2.json()) as {status: string}).status, 'degraded')

  // a second daemon on the same data dir refuses, naming the first
  const second = await runMon(['daemon', '--config', config], {timeoutMs: 30_000})
  assert.equal(second.code, 1, second.stderr)
  assert.match(second.stderr, new RegExp(`error: a mon daemon is already running for ${dataDir.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} \\(pid ${proc.pid}\\)`))
  assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace')
  // …as do cron-mode runs
  const once = await runMon(['collect', '--once', '--config', config])
  assert.equal(once.code, 1, once.stderr)
  assert.match(once.stderr, new RegExp(`a mon daemon \\(pid ${proc.pid}\\) collects for`))
  const evalOnce = await runMon(['alerts', 'eval', '--once', '--config', config])
  assert.equal(evalOnce.code, 1, evalOnce.stderr)
  assert.match(evalOnce.stderr, new RegExp(`a mon daemon \\(pid ${proc.pid}\\) already evaluates the rules`))
  assert.equal(proc.exitCode, null, 'the first daemon is unaffected')
  assert.equal(readFileSync(join(dataDir, 'daemon.pid'), 'utf8'), `${proc.pid}\n`)

  // nothing has reached the store yet (flush_interval 1h): SIGTERM must write it all
  const gatheredBefore = (await liveStatus()).inputs.find((i) => i.name === 'http:api')!.gathered
  assert.ok(gatheredBefore >= 2)
  proc.kill('SIGTERM')
  const code = await new Promise<number | null>((r) => (proc.exitCode === null ? proc.once('exit', r) : r(proc.exitCode)))
  assert.equal(code, 0, stderr)
  const stopped = logLines().find((l) => l.msg === 'daemon stopped')
  assert.ok(stopped, stderr)
  assert.equal(stopped.pendingInSpool, 0)
  assert.equal(stopped.drained, true)
  const final = snapshot()
  assert.equal(final.state, 'stopped')
  const http = final.inputs.find((i) => i.name === 'http:api')!
  assert.ok(http.gathered >= gatheredBefore)
  assert.equal(http.written, http.gathered, 'every collected point was written')
  assert.equal(existsSync(join(dataDir, 'daemon.pid')), false, 'the pid file is removed')

  const q = await runMon(['query', 'sum(count_over_time(http_response.result_code[1h]))', '--config', config, '--json'])
  assert.equal(q.code, 0, q.stderr)
  const count = (JSON.parse(q.stdout) as {series: Array<{values: Array<[string, number]>}>}).series[0].values[0][1]
  assert.equal(count, http.gathered, 'the store has every point collected before SIGTERM')

  const down = await runMon(['status', '--config', config, '--json'])
  assert.equal(down.code, 1)
  assert.equal((JSON.parse(down.stdout) as StatusReport).running, false)
})

it('finishes a notification in flight on SIGTERM before it exits', {timeout: 60_000}, async () => {
  // a webhook that takes its time to answer
  let received = 0
  let answered = 0
  const hook = createServer((req, res) => {
    received++
    req.resume()
    setTimeout(() => {
      res.end('ok')
      answered++
    }, 1500)
  })
  await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r))
  const dir = join(tmp.dir, 'notify')
  const config = join(tmp.dir, 'notify.yaml')
  writeFileSync(join(tmp.dir, 'notify-rules.yaml'), 'groups:\n  - name: watch\n    interval: 1s\n    rules:\n      - alert: NoHeartbeat\n        expr: absent(heartbeat.seen)\n')
  writeFileSync(
    config,
    `data_dir: ${dir}
agent: {self_metrics: false}
inputs: {host: {enabled: false}}
rules: {files: [notify-rules.yaml]}
api: {listen: "127.0.0.1:0"}
notify:
  receivers: [{name: hook, webhook_configs: [{url: "http://127.0.0.1:${(hook.address() as {port: number}).port}/", timeout: 10s}]}]
  route: {receiver: hook, group_wait: 0s}
`,
  )
  let err = ''
  const proc = spawn(process.execPath, [BIN, 'daemon', '--config', config], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
  proc.stderr!.on('data', (d) => (err += d))
  try {
    await waitFor(async () => received > 0, 'the notification is being sent', 30_000, proc, () => err)
    assert.equal(answered, 0, 'still in flight')
    proc.kill('SIGTERM')
    const code = await new Promise<number | null>((r) => proc.once('exit', r))
    assert.equal(code, 0, err)
    assert.equal(answered, 1, 'the daemon waited for the answer')
    const outbox = await runMon(['notify', 'outbox', '--status', 'all', '--config', config, '--json'])
    assert.equal(outbox.code, 0, outbox.stderr)
    const counts = (JSON.parse(outbox.stdout) as {counts: Record<string, number>}).counts
    assert.equal(counts.delivered, 1, JSON.stringify(counts))
    assert.equal(counts.pending + counts.sending, 0)
  } finally {
    if (proc.exitCode === null) proc.kill('SIGKILL')
    await new Promise((r) => hook.close(r))
  }
})
