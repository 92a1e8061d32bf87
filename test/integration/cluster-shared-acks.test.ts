/**
 * Shared acks (issue 19, docs/cluster.md#shared-incidents): three real `mon daemon` processes with
 * the same rules against one influxd, sharing incidents through a real 3-node nats-server JetStream
 * cluster. An alert fires on all three; an ack through daemon A (`mon alerts ack --remote A`) is
 * seen through B and C; two acks of another alert started together through B and C have exactly
 * one winner — the other exits 1 naming it; the CLI on a daemon's data dir (no --remote) goes
 * through the stream too; a daemon stopped while things happen catches up from the stream when it
 * starts again.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {DaemonStatusView} from '../../src/core/daemon/status.js'
import type {AlertDetail, AlertView, HistoryEntry} from '../../src/core/incidents/types.js'
import {BIN, runMon, type CliResult} from '../helpers/cli.js'
import {startNatsCluster, type NatsCluster} from '../helpers/nats.js'
import {startInfluxd, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

const TOKEN = 'shared-acks-token-7c1d'
const DB = 'acks'

interface Daemon {
  name: string
  config: string
  dataDir: string
  proc?: ChildProcess
  stderr: string
  url: string
}

describe('cluster: shared acks across three daemons', {timeout: 240_000}, () => {
  let nats: NatsCluster
  let influxd: RunningServer
  let tmp: ReturnType<typeof tempDir>
  let feeder: NodeJS.Timeout | undefined
  const daemons: Daemon[] = []
  const env = {MON_API_TOKEN: TOKEN, NO_COLOR: '1'}
  const d = (name: string) => daemons.find((x) => x.name === name)!
  const remote = (name: string, ...args: string[]) => runMon([...args, '--remote', d(name).url], {env})
  const json = <T>(r: CliResult): T => {
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as T
  }

  const write = async (lines: string) => {
    const res = await fetch(`${influxd.url}/write?db=${DB}&precision=ms`, {method: 'POST', body: lines})
    assert.equal(res.status, 204, await res.text())
  }
  /** both hosts over the threshold, now (kept fresh while the test runs) */
  const feed = () => write(`load,host=web-1 value=97 ${Date.now()}\nload,host=web-2 value=95 ${Date.now()}`)

  const start = async (x: Daemon) => {
    x.stderr = ''
    const statusFile = join(x.dataDir, 'daemon.json')
    const proc = spawn(process.execPath, [BIN, 'daemon', '--config', x.config], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'ignore', 'pipe']})
    proc.stderr!.on('data', (chunk) => (x.stderr = (x.stderr + chunk).slice(-50_000)))
    x.proc = proc
    const snapshot = () => JSON.parse(readFileSync(statusFile, 'utf8')) as DaemonStatusView
    await waitFor(async () => existsSync(statusFile) && snapshot().state === 'running' && snapshot().pid === proc.pid, `daemon ${x.name} started`, 60_000, proc, () => x.stderr)
    x.url = snapshot().api!.url
  }
  const stop = async (x: Daemon) => {
    const p = x.proc
    if (!p || p.exitCode !== null || p.signalCode !== null) return
    const exited = new Promise((r) => p.once('exit', r))
    p.kill('SIGTERM')
    await exited
  }
  const status = async (x: Daemon) => (await (await fetch(`${x.url}/api/v1/status`, {headers: {Authorization: `Bearer ${TOKEN}`}})).json()) as DaemonStatusView
  const alerts = async (name: string, state = 'all') => json<AlertView[]>(await remote(name, 'alerts', 'list', '--state', state, '--json'))
  const byHost = async (name: string, host: string) => (await alerts(name)).find((a) => a.labels.host === host)

  before(async () => {
    tmp = tempDir('mon-shared-acks-')
    nats = await startNatsCluster(3)
    influxd = await startInfluxd()
    await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: `CREATE DATABASE ${DB}`})})
    await feed()
    feeder = setInterval(() => void feed().catch(() => {}), 2000)
    writeFileSync(
      join(tmp.dir, 'rules.yaml'),
      `groups:
  - name: load
    interval: 1s
    rules:
      - alert: HighLoad
        expr: max by (host) (load.value) > 90
        labels: {severity: critical}
`,
    )
    for (const name of ['a', 'b', 'c']) {
      const dataDir = join(tmp.dir, name)
      const config = join(tmp.dir, `${name}.yaml`)
      writeFileSync(
        config,
        `data_dir: ${dataDir}
host: mon-${name}
agent: {self_metrics: false}
inputs: {host: {enabled: false}}
store: {type: influxdb, url: "${influxd.url}", database: ${DB}}
rules: {files: [rules.yaml]}
api: {listen: "127.0.0.1:0", token: ${TOKEN}}
cluster:
  enabled: true
  name: acks
  member: ${name}
  nats: {servers: [${nats.urls.join(', ')}]}
  ha: {enabled: true}
`,
      )
      daemons.push({name, config, dataDir, stderr: '', url: ''})
    }
    for (const x of daemons) await start(x)
  })

  after(async () => {
    if (feeder) clearInterval(feeder)
    for (const x of daemons) {
      if (x.proc && x.proc.exitCode === null && x.proc.signalCode === null) {
        const exited = new Promise((r) => x.proc!.once('exit', r))
        x.proc.kill('SIGKILL')
        await exited
      }
    }
    await influxd?.destroy()
    await nats?.destroy()
    tmp?.cleanup()
  })

  let web1 = ''
  let web2 = ''

  it('the alert fires on all three daemons, with the same ids', async () => {
    for (const x of daemons) {
      await waitFor(async () => (await alerts(x.name, 'firing')).length === 2, `both alerts firing on ${x.name}`, 60_000, x.proc, () => x.stderr)
    }
    const ids = await Promise.all(daemons.map(async (x) => (await alerts(x.name, 'firing')).map((a) => [a.labels.host, a.fingerprint])))
    assert.deepEqual(ids[1], ids[0])
    assert.deepEqual(ids[2], ids[0])
    web1 = ids[0]!.find(([h]) => h === 'web-1')![1]!
    web2 = ids[0]!.find(([h]) => h === 'web-2')![1]!
  })

  it('an ack through A is seen through B and C', async () => {
    const r = await remote('a', 'alerts', 'ack', web1.slice(0, 8), '--by', 'alice@laptop', '-m', 'on it')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^acknowledged \w+ HighLoad \(incident #\d+\) as alice@laptop: on it$/m)
    for (const name of ['b', 'c']) {
      await waitFor(async () => (await byHost(name, 'web-1'))?.ackedBy === 'alice@laptop', `the ack seen through ${name}`, 30_000, d(name).proc, () => d(name).stderr)
      const shown = json<AlertDetail>(await remote(name, 'alerts', 'show', web1, '--json'))
      assert.equal(shown.state, 'acked')
      assert.deepEqual([shown.incident?.ackedBy, shown.incident?.ackComment], ['alice@laptop', 'on it'])
      assert.equal(shown.timeline.find((e) => e.kind === 'ack')?.text, 'acknowledged by alice@laptop from 127.0.0.1 via a: on it')
    }
    // one incident id on every daemon
    const incidentIds = await Promise.all(daemons.map(async (x) => (await byHost(x.name, 'web-1'))?.incident?.id))
    assert.equal(new Set(incidentIds).size, 1, JSON.stringify(incidentIds))
  })

  it('two acks at once through B and C: exactly one wins, the other exits 1 naming the winner', async () => {
    const [bob, carol] = await Promise.all([
      remote('b', 'alerts', 'ack', web2, '--by', 'bob', '-m', 'mine'),
      remote('c', 'alerts', 'ack', web2, '--by', 'carol', '-m', 'no, mine'),
    ])
    const results = [
      {who: 'bob', r: bob},
      {who: 'carol', r: carol},
    ]
    const winners = results.filter((x) => x.r.code === 0)
    const losers = results.filter((x) => x.r.code !== 0)
    assert.equal(winners.length, 1, `exactly one winner:\n${results.map((x) => `${x.who}: ${x.r.code} ${x.r.stdout}${x.r.stderr}`).join('\n')}`)
    const winner = winners[0]!.who
    const loser = losers[0]!
    assert.equal(loser.r.code, 1, loser.r.stderr)
    assert.match(loser.r.stderr, new RegExp(`^error: HighLoad \\{host=web-2, severity=critical\\} is already acknowledged by ${winner} .*\\("${winner === 'bob' ? 'mine' : 'no, mine'}"\\)$`, 'm'))
    assert.match(loser.r.stderr, /^hint: nothing changed; to take it over: mon alerts unack <id>, then ack it$/m)
    for (const x of daemons) {
      await waitFor(async () => (await byHost(x.name, 'web-2'))?.ackedBy === winner, `${winner}'s ack seen through ${x.name}`, 30_000, x.proc, () => x.stderr)
      const history = json<HistoryEntry[]>(await remote(x.name, 'alerts', 'history', '--id', web2, '--json'))
      assert.deepEqual(history.filter((h) => h.action === 'ack').map((h) => h.actor), [winner], `only the winner's ack is in ${x.name}'s history`)
    }
  })

  it('the CLI on a daemon\'s data dir goes through the stream too', async () => {
    const r = await runMon(['alerts', 'comment', web1, 'from the CLI on a', '--config', d('a').config, '--by', 'dave'], {env})
    assert.equal(r.code, 0, r.stderr)
    for (const name of ['b', 'c']) {
      await waitFor(
        async () => json<AlertDetail>(await remote(name, 'alerts', 'show', web1, '--json')).timeline.some((e) => e.kind === 'comment' && e.comment === 'from the CLI on a'),
        `the CLI's comment seen through ${name}`,
        30_000,
      )
    }
  })

  it('a daemon stopped meanwhile catches up from the stream when it starts again', async () => {
    const c = d('c')
    await stop(c)
    const note = await remote('a', 'alerts', 'comment', web2, 'written while c was down', '--by', 'erin')
    assert.equal(note.code, 0, note.stderr)
    const unack = await remote('b', 'alerts', 'unack', web1, '--by', 'frank')
    assert.equal(unack.code, 0, unack.stderr)
    const silence = json<{id: string}>(await remote('b', 'alerts', 'silence', 'add', 'host=web-2', '--duration', '1h', '-m', 'maintenance', '--by', 'gina', '--json'))
    // b answered the silence after applying it: its applied sequence is the stream's end
    const streamSeq = (await status(d('b'))).sharedIncidents!.appliedSeq

    await start(c)
    await waitFor(async () => ((await status(c)).sharedIncidents?.appliedSeq ?? 0) >= streamSeq, 'c applied the stream through its end', 30_000, c.proc, () => c.stderr)
    const facts = (await status(c)).sharedIncidents!
    assert.deepEqual([facts.stream, facts.lag, facts.lastError], ['ACKS_INCIDENTS', 0, null])
    const shown = json<AlertDetail>(await remote('c', 'alerts', 'show', web2, '--json'))
    assert.ok(shown.timeline.some((e) => e.kind === 'comment' && e.comment === 'written while c was down'), JSON.stringify(shown.timeline))
    assert.equal((await byHost('c', 'web-1'))?.ackedBy, null, 'the unack reached c')
    const silences = json<Array<{id: string; createdBy: string}>>(await remote('c', 'alerts', 'silence', 'list', '--json'))
    assert.deepEqual(silences.map((s) => [s.id, s.createdBy]), [[silence.id, 'gina']])
    const text = await runMon(['status', '--config', c.config], {env})
    assert.equal(text.code, 0, text.stderr)
    assert.match(text.stdout, /^incidents +shared through NATS stream ACKS_INCIDENTS: applied (\d+) of \1$/m)
    // and the same history everywhere
    const histories = await Promise.all(daemons.map(async (x) => json<HistoryEntry[]>(await remote(x.name, 'alerts', 'history', '--json')).filter((h) => h.action !== 'fired' && h.action !== 'resolved').map((h) => [h.action, h.actor, h.comment])))
    assert.deepEqual(histories[1], histories[0])
    assert.deepEqual(histories[2], histories[0])
  })
})
