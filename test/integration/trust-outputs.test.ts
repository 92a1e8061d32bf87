/**
 * Issue 16, "Outputs that mislead": each output that told less than the truth, run as a user runs
 * it (the real bin/run.js, temp data dirs, a real daemon where one is needed).
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ActionOutcomeView} from '../../src/cli/alert-actions.js'
import type {StatusReport} from '../../src/core/daemon/status.js'
import type {AlertView, HistoryEntry, SilenceView} from '../../src/core/incidents/types.js'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {BIN, runMon} from '../helpers/cli.js'
import {tempDir, waitFor} from '../helpers/servers.js'

let tmp: ReturnType<typeof tempDir>
before(() => {
  tmp = tempDir('mon-trust-outputs-')
})
after(() => tmp.cleanup())

describe('a broken config file while the daemon runs its last good one', () => {
  let daemon: ChildProcess | undefined
  after(async () => {
    if (daemon && daemon.exitCode === null) {
      daemon.kill('SIGKILL')
      await new Promise((r) => daemon!.once('exit', r))
    }
  })

  it('mon status and mon alerts list report the running daemon and warn about the file (exit 0, not 2)', {timeout: 60_000}, async () => {
    const dir = join(tmp.dir, 'broken-config')
    const dataDir = join(dir, 'data')
    const config = join(dir, 'mon.yaml')
    mkdirSync(dir, {recursive: true})
    const good = `data_dir: ${dataDir}\nagent: {interval: 1s, self_metrics: false}\ninputs: {host: {enabled: false}}\napi: {listen: "127.0.0.1:0"}\n`
    writeFileSync(config, good)
    let stderr = ''
    daemon = spawn(process.execPath, [BIN, 'daemon', '--config', config], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
    daemon.stderr!.on('data', (d) => (stderr += d))
    await waitFor(async () => existsSync(join(dataDir, 'daemon.json')), 'the daemon status file', 30_000, daemon, () => stderr)

    // an edit that does not validate: the daemon keeps running the good version
    writeFileSync(config, good + 'agent_typo: 1\nretention:\n  raw: forever\n')

    const status = await runMon(['status', '--config', config, '--json'])
    assert.equal(status.code, 0, status.stderr)
    const report = JSON.parse(status.stdout) as StatusReport
    assert.equal(report.running, true)
    assert.equal(report.dataDir, dataDir)
    assert.match(status.stderr, /^warning: .*mon\.yaml:\d+:\d+: .*still runs its last good config/m)
    assert.match(report.notes[0]!, /config file does not load: .*mon\.yaml:\d+:\d+/)

    const list = await runMon(['alerts', 'list', '--config', config, '--json'])
    assert.equal(list.code, 0, list.stderr)
    assert.deepEqual(JSON.parse(list.stdout), [])
    assert.match(list.stderr, /^warning: .*mon\.yaml:\d+:\d+: .*still runs its last good config/m)

    // with no daemon the file's problem stands: exit 2 with file:line:col
    daemon.kill('SIGTERM')
    await new Promise((r) => daemon!.once('exit', r))
    const down = await runMon(['status', '--config', config])
    assert.equal(down.code, 2, down.stderr)
    assert.match(down.stderr, /mon\.yaml:\d+:\d+/)
  })
})

describe('${ENV} resolves per section used', () => {
  it('mon query and mon store info run without the API token or a channel secret; mon config validate still names the unset variable at file:line:col', async () => {
    const dir = join(tmp.dir, 'env-sections')
    const config = join(tmp.dir, 'env-sections.yaml')
    writeFileSync(
      config,
      `data_dir: ${dir}\napi:\n  listen: 127.0.0.1:0\n  token: \${MON_TEST_UNSET_TOKEN}\n` +
        `notify:\n  receivers:\n    - name: ops\n      ntfy_configs:\n        - topic: t\n          token: \${MON_TEST_UNSET_NTFY}\n  route: {receiver: ops}\n`,
    )
    const env = {MON_TEST_UNSET_TOKEN: undefined, MON_TEST_UNSET_NTFY: undefined}
    const write = await runMon(['store', 'init', '--config', config], {env})
    assert.equal(write.code, 0, write.stderr)
    const query = await runMon(['query', 'last(cpu.usage_user)', '--config', config, '--json'], {env})
    assert.equal(query.code, 0, query.stderr)
    const info = await runMon(['store', 'info', '--config', config, '--json'], {env})
    assert.equal(info.code, 0, info.stderr)

    const validate = await runMon(['config', 'validate', '--config', config], {env})
    assert.equal(validate.code, 2)
    assert.match(validate.stderr, /env-sections\.yaml:4:10: api\.token: environment variable MON_TEST_UNSET_TOKEN is not set/)
    // a command that uses the section still fails there, at the variable
    const list = await runMon(['alerts', 'list', '--config', config], {env})
    assert.equal(list.code, 2)
    assert.match(list.stderr, /env-sections\.yaml:10:18: notify\.receivers\[0\]\.ntfy_configs\[0\]\.token: environment variable MON_TEST_UNSET_NTFY is not set/)
  })
})

describe('alerts: comment on several ids, counts that agree, a future silence', () => {
  let s: AlertScenario
  const mon = (...args: string[]) => runMon(args, {env: s.env})
  const ids: Record<string, string> = {}
  before(async () => {
    s = await startAlertScenario()
    await s.metrics(s.t0, {'web-1': 97, 'web-2': 95, 'web-3': 99})
    await s.step(s.t0)
    const r = await mon('alerts', 'list', '--json')
    assert.equal(r.code, 0, r.stderr)
    for (const a of JSON.parse(r.stdout) as AlertView[]) ids[a.labels.host!] = a.id
    assert.deepEqual(Object.keys(ids).sort(), ['web-1', 'web-2', 'web-3'])
  })
  after(() => s.close())

  const comments = async () => {
    const h = await mon('alerts', 'history', '--json')
    assert.equal(h.code, 0, h.stderr)
    const hostOf = (id: string | null) => Object.keys(ids).find((host) => ids[host] === id)
    return (JSON.parse(h.stdout) as HistoryEntry[]).filter((e) => e.action === 'comment').map((e) => `${hostOf(e.id)}: ${e.comment}`).sort()
  }

  it('mon alerts comment ID ID TEXT comments on both alerts (the second id is not eaten into the text)', async () => {
    const r = await mon('alerts', 'comment', ids['web-1']!, ids['web-2']!, 'same cause: the failed switch', '--json')
    assert.equal(r.code, 0, r.stderr)
    const outcomes = JSON.parse(r.stdout) as ActionOutcomeView[]
    assert.equal(outcomes.length, 2)
    assert.deepEqual(await comments(), ['web-1: same cause: the failed switch', 'web-2: same cause: the failed switch'])

    // the note as several words, and -m with ids only, still work
    assert.equal((await mon('alerts', 'comment', ids['web-3']!, 'rolled', 'back', 'deploy')).code, 0)
    assert.equal((await mon('alerts', 'comment', ids['web-3']!, ids['web-1']!, '-m', 'noted')).code, 0)
    assert.deepEqual(await comments(), ['web-1: noted', 'web-1: same cause: the failed switch', 'web-2: same cause: the failed switch', 'web-3: noted', 'web-3: rolled back deploy'])

    // an id-like word that names no alert stops the command: nothing written
    const typo = await mon('alerts', 'comment', ids['web-1']!, '0000fff1', 'restarted')
    assert.equal(typo.code, 2)
    assert.match(typo.stderr, /'0000fff1' looks like an alert id but matches no alert/)
    assert.equal((await comments()).length, 5)
  })

  it('a hand-resolved alert is not counted firing: alerts list, status and silence add agree', async () => {
    assert.equal((await mon('alerts', 'ack', ids['web-2']!, '--by', 'alice')).code, 0)
    assert.equal((await mon('alerts', 'resolve', ids['web-3']!, '--by', 'bob', '-m', 'false alarm')).code, 0)

    const list = await mon('alerts', 'list')
    assert.equal(list.code, 0, list.stderr)
    assert.match(list.stdout, /^2 firing \(1 acked\), 0 pending$/m)

    const status = await mon('status', '--json')
    assert.equal(status.code, 1) // no daemon
    assert.deepEqual((JSON.parse(status.stdout) as StatusReport).dataDirFacts?.alerts, {firing: 2, acked: 1, pending: 0})

    const silence = await mon('alerts', 'silence', 'add', 'alertname=HighCpu', '--duration', '1h', '-m', 'maintenance', '--json')
    assert.equal(silence.code, 0, silence.stderr)
    assert.equal((JSON.parse(silence.stdout) as SilenceView).silencing, 2)
  })

  it('silence add --start in the future shows how long it lasts, not the time from now to its end', async () => {
    const start = new Date(Date.now() + 24 * 3_600_000).toISOString()
    const r = await mon('alerts', 'silence', 'add', 'host=web-1', '--start', start, '--duration', '4h', '-m', 'maintenance window')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\(for 4h, starting in \d/)
  })
})
