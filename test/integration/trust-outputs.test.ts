/**
 * Issue 16, "Outputs that mislead": each output that told less than the truth, run as a user runs
 * it (the real bin/run.js, temp data dirs, a real daemon where one is needed).
 */
import assert from 'node:assert/strict'
import {spawn, spawnSync, type ChildProcess} from 'node:child_process'
import {existsSync, mkdirSync, readdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import type {ActionOutcomeView} from '../../src/cli/alert-actions.js'
import type {StatusReport} from '../../src/core/daemon/status.js'
import type {AlertView, HistoryEntry, SilenceView} from '../../src/core/incidents/types.js'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {ManualClock} from '../../src/core/clock.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {MetricsSource} from '../../src/tui/top/source.js'
import {writeTopFixture} from './top-fixture.js'
import {TmuxSession} from './top-tmux.js'
import {BIN, runMon} from '../helpers/cli.js'
import {requireBinary, tempDir, waitFor} from '../helpers/servers.js'

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
  it('mon write, mon query and mon store info run without the API token or a channel secret; mon config validate still names the unset variable at file:line:col', async () => {
    const dir = join(tmp.dir, 'env-sections')
    const config = join(tmp.dir, 'env-sections.yaml')
    writeFileSync(
      config,
      `data_dir: ${dir}\napi:\n  listen: 127.0.0.1:0\n  token: \${MON_TEST_UNSET_TOKEN}\n` +
        `notify:\n  receivers:\n    - name: ops\n      ntfy_configs:\n        - topic: t\n          token: \${MON_TEST_UNSET_NTFY}\n  route: {receiver: ops}\n`,
    )
    const env = {MON_TEST_UNSET_TOKEN: undefined, MON_TEST_UNSET_NTFY: undefined}
    const init = await runMon(['store', 'init', '--config', config], {env})
    assert.equal(init.code, 0, init.stderr)
    const write = await runMon(['write', '--config', config], {env, input: 'cpu,host=a usage_user=1\n'})
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

  it('the engine\'s own alerts_firing (mon_internal, written by mon alerts eval --once) does not count the hand-resolved alert either', async () => {
    // the previous test resolved web-3 by hand; its expression still holds, so the engine keeps it firing
    const now = Date.now()
    await s.metrics(now, {'web-1': 97, 'web-2': 95, 'web-3': 99})
    const ev = await mon('alerts', 'eval', '--once', '--all', '--json')
    assert.equal(ev.code, 0, ev.stderr)
    assert.equal(s.engine.getAlert(s.fingerprint('web-3'))?.state, 'firing', 'the engine still has web-3 firing')
    const q = await mon('query', 'last(mon_internal.alerts_firing{component="rules"}[2m])', '--at', new Date(now + 60_000).toISOString(), '--json')
    assert.equal(q.code, 0, q.stderr)
    const values = (JSON.parse(q.stdout) as {series: Array<{values: Array<[string, number]>}>}).series.flatMap((x) => x.values.map((v) => v[1]))
    assert.deepEqual(values, [2], q.stdout)
  })

  it('silence add --start in the future shows how long it lasts, not the time from now to its end', async () => {
    const start = new Date(Date.now() + 24 * 3_600_000).toISOString()
    const r = await mon('alerts', 'silence', 'add', 'host=web-1', '--start', start, '--duration', '4h', '-m', 'maintenance window')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /\(for 4h, starting in \d/)
  })
})

describe('the embedded store: compact, import, read-only commands', () => {
  const T = Date.UTC(2026, 0, 15, 12, 0, 0)
  const lines = (n: number, unit: 'ns' | 'ms') => Array.from({length: n}, (_, i) => `cpu,host=a usage_user=${i} ${unit === 'ns' ? `${BigInt(T + i * 1000) * 1_000_000n}` : T + i * 1000}`).join('\n') + '\n'

  it('store compact reports the chunks it made, not "chunks 0 → 0"', async () => {
    // folding head rows (what the daemon's store holds between its own compactions)
    const store = new SqliteStore({path: join(tmp.dir, 'compact-core.db'), clock: new ManualClock(T + 3_600_000), autoCompactEvery: Number.MAX_SAFE_INTEGER})
    try {
      // one point at a time: small writes wait in the head table until a compaction folds them
      for (let i = 0; i < 10; i++) await store.write([{measurement: 'cpu', tags: {host: 'a'}, fields: {usage_user: i}, ts: T + i * 1000}])
      assert.deepEqual(store.compact({full: true}), {headRows: 10, chunksBefore: 0, chunksAfter: 1})
    } finally {
      await store.close()
    }

    // the command: a store that `mon write` left folded says how many chunks it has
    const env = {MON_DATA_DIR: join(tmp.dir, 'compact')}
    const w = await runMon(['write'], {env, input: lines(50, 'ns')})
    assert.equal(w.code, 0, w.stderr)
    const r = await runMon(['store', 'compact'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^folded 0 rows into chunks; chunks 1 → 1;/m)
  })

  it('store import reads nanoseconds by default, as mon write does; a time-range error hints at --precision', async () => {
    const env = {MON_DATA_DIR: join(tmp.dir, 'import')}
    const ns = join(tmp.dir, 'telegraf.lp')
    writeFileSync(ns, lines(3, 'ns'))
    const r = await runMon(['store', 'import', ns], {env})
    assert.equal(r.code, 0, r.stderr)
    const q = await runMon(['query', 'count_over_time(cpu.usage_user[2m])', '--at', new Date(T + 60_000).toISOString(), '--json'], {env})
    assert.equal(q.code, 0, q.stderr)
    assert.equal((JSON.parse(q.stdout) as {series: Array<{values: unknown[][]}>}).series[0]?.values[0]?.[1], 3)

    // a file in seconds with a timestamp too large for the precision given
    const bad = join(tmp.dir, 'wrong-precision.lp')
    writeFileSync(bad, `cpu usage_user=1 ${BigInt(T) * 1_000_000n}\n`)
    const e = await runMon(['store', 'import', bad, '--precision', 's'], {env})
    assert.equal(e.code, 2)
    assert.match(e.stderr, /wrong-precision\.lp:1:\d+: time outside range/)
    assert.match(e.stderr, /timestamps are read as s: if the file has another precision, give it, e\.g\. --precision ms/)

    // a mon archive says its precision (ms) in its first line, and that is used
    const archive = join(tmp.dir, 'roundtrip.lp')
    const a = await runMon(['store', 'archive', '--before', new Date(T + 60_000).toISOString(), '--to', archive], {env})
    assert.equal(a.code, 0, a.stderr)
    const env2 = {MON_DATA_DIR: join(tmp.dir, 'import-archive')}
    const i2 = await runMon(['store', 'import', archive, '--json'], {env: env2})
    assert.equal(i2.code, 0, i2.stderr)
    const q2 = await runMon(['query', 'count_over_time(cpu.usage_user[2m])', '--at', new Date(T + 60_000).toISOString(), '--json'], {env: env2})
    assert.equal(q2.stdout, q.stdout)
  })

  it('read-only commands on a data dir that does not exist say so and create nothing', async () => {
    const missing = join(tmp.dir, 'no-such-data-dir')
    const env = {MON_DATA_DIR: missing}
    for (const args of [['query', 'last(cpu.usage_user)'], ['store', 'info'], ['store', 'measurements'], ['alerts', 'list'], ['alerts', 'history']]) {
      const r = await runMon(args, {env})
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`no data: the data dir ${missing} does not exist`), args.join(' '))
      assert.equal(existsSync(missing), false, `${args.join(' ')} created ${missing}`)
    }
    // a data dir without a store says that instead
    mkdirSync(missing)
    const r = await runMon(['store', 'info'], {env})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /no data: the data dir .* has no store \(.*mon\.db\)/)
    assert.deepEqual(readdirSync(missing), [])
  })

  it('notify outbox (list, retry, drop) on a data dir that does not exist says so and creates nothing; notify routes still explains the routes', async () => {
    const missing = join(tmp.dir, 'no-such-notify-dir')
    const env = {MON_DATA_DIR: missing}
    for (const args of [['notify', 'outbox'], ['notify', 'outbox', '--json'], ['notify', 'outbox', 'retry', '--dead'], ['notify', 'outbox', 'drop', '--dead']]) {
      const r = await runMon(args, {env})
      assert.equal(r.code, 1, `${args.join(' ')}: ${r.stderr}`)
      assert.match(r.stderr, new RegExp(`no data: the data dir ${missing} does not exist`), args.join(' '))
      assert.equal(existsSync(missing), false, `${args.join(' ')} created ${missing}`)
    }
    const routes = await runMon(['notify', 'routes', '-l', 'alertname=HighCpu', '--json'], {env})
    assert.equal(routes.code, 0, routes.stderr)
    assert.equal(existsSync(missing), false, `notify routes created ${missing}`)
  })
})

describe('query --format chart without colour', () => {
  it('tells series apart with markers and names each series in the legend', async () => {
    const T = Date.UTC(2026, 0, 15, 12, 0, 0)
    const env = {MON_DATA_DIR: join(tmp.dir, 'chart'), NO_COLOR: '1'}
    const input = Array.from({length: 6}, (_, i) => `cpu,host=a usage_user=${i + 1} ${T + (i + 1) * 10_000}\ncpu,host=b usage_user=${9 - i} ${T + (i + 1) * 10_000}`).join('\n') + '\n'
    assert.equal((await runMon(['write', '--precision', 'ms'], {env, input})).code, 0)
    const r = await runMon(['query', 'mean(cpu.usage_user) by host', '--since', new Date(T).toISOString(), '--until', new Date(T + 70_000).toISOString(), '--every', '10s', '--format', 'chart'], {env})
    assert.equal(r.code, 0, r.stderr)
    const lines = r.stdout.trimEnd().split('\n')
    assert.equal(lines.at(-1), '* {host=a}   + {host=b}')
    const plot = lines.filter((l) => l.includes('┤')).join('\n')
    assert.match(plot, /\*/)
    assert.match(plot, /\+/)
    assert.doesNotMatch(plot, /[─╮╯╰╭│]/, 'no lines that look the same for every series')
  })
})

describe('mon install: the crontab and the systemd unit work as generated', () => {
  it('the crontab\'s collect line runs as cron runs it, without the API token in its environment', async () => {
    const dir = join(tmp.dir, 'cron')
    mkdirSync(dir, {recursive: true})
    const config = join(dir, 'mon.yaml')
    writeFileSync(config, `data_dir: ${join(dir, 'data')}\ninputs:\n  host: {interval: 1m}\napi:\n  token: \${MON_TEST_CRON_TOKEN}\n`)
    const env = {MON_TEST_CRON_TOKEN: undefined}
    const crontab = await runMon(['install', 'crontab', '--config', config], {env})
    assert.equal(crontab.code, 0, crontab.stderr)
    const collect = crontab.stdout.split('\n').find((l) => l.includes(' collect --once '))
    assert.ok(collect, crontab.stdout)
    // cron: /bin/sh, a bare environment, the line after its five schedule fields
    const command = collect.split(' ').slice(5).join(' ')
    const run = spawnSync('/bin/sh', ['-c', command], {env: {PATH: '/usr/bin:/bin', HOME: dir}, encoding: 'utf8'})
    assert.equal(run.status, 0, run.stderr)
    const count = await runMon(['query', 'count(cpu.usage_user)', '--since', '1h', '--json', '--config', config], {env})
    assert.equal(count.code, 0, count.stderr)
    assert.ok((JSON.parse(count.stdout) as {series: unknown[]}).series.length > 0, count.stdout)
  })

  it('systemd-analyze verify passes on the printed unit; it runs as a user, takes secrets from EnvironmentFile, has a valid Documentation URL', async () => {
    const analyze = requireBinary('systemd-analyze', 'systemd')
    const dir = join(tmp.dir, 'systemd')
    mkdirSync(dir, {recursive: true})
    const config = join(dir, 'mon.yaml')
    writeFileSync(config, `api:\n  token: \${MON_TEST_UNIT_TOKEN}\n`)
    for (const user of [false, true]) {
      const r = await runMon(['install', 'systemd', '--config', config, ...(user ? ['--user'] : [])], {env: {MON_TEST_UNIT_TOKEN: undefined}})
      assert.equal(r.code, 0, r.stderr)
      const unit = join(dir, user ? 'mon-user.service' : 'mon.service')
      writeFileSync(unit, r.stdout)
      const verify = spawnSync(analyze, ['verify', unit], {encoding: 'utf8'})
      assert.equal(verify.status, 0, verify.stderr)
      assert.equal(verify.stderr.trim(), '', `systemd-analyze verify says:\n${verify.stderr}`)
      assert.match(r.stdout, /^Documentation=file:\/\/\S+README\.md$/m)
      assert.match(r.stdout, new RegExp(`^EnvironmentFile=-${user ? '%h/\\.config/mon/mon\\.env' : '/etc/mon/mon\\.env'}$`, 'm'))
      assert.match(r.stdout, /LoadCredential=/)
      assert.match(r.stdout, /^# PrivateTmp: /m)
      if (user) assert.doesNotMatch(r.stdout, /^User=/m)
      else {
        assert.match(r.stdout, /^User=mon$/m)
        assert.match(r.stdout, /^DynamicUser=yes$/m)
      }
    }
  })
})

describe('mon top: stale data', () => {
  it('an empty window over a host whose data stopped reports when its newest point was (lastSeen), not "yet"', async () => {
    const T = Date.UTC(2026, 0, 15, 12, 0, 0)
    const store = new SqliteStore({path: join(tmp.dir, 'top-stale.db')})
    try {
      const stopped = T - 2 * 3_600_000
      await store.write([0, 1, 2].map((i) => ({measurement: 'system', tags: {host: 'web-01'}, fields: {load1: 0.5}, ts: stopped - (2 - i) * 10_000})))
      const source = new MetricsSource(store, {host: 'web-01', windowMs: 15 * 60_000, every: 20_000, perCore: false}, new ManualClock(T))
      const m = await source.poll()
      assert.deepEqual(m.problems, [])
      assert.equal(m.cpu.empty, true)
      assert.equal(m.lastSeen, stopped)
      const never = await new MetricsSource(store, {host: 'web-02', windowMs: 15 * 60_000, every: 20_000, perCore: false}, new ManualClock(T)).poll()
      assert.equal(never.lastSeen, undefined)
    } finally {
      await store.close()
    }
  })
})

describe('mon top at 80×24', () => {
  it('keeps every panel title and the alert names readable', {timeout: 90_000}, async () => {
    const fx = await writeTopFixture(join(tmp.dir, 'top-80x24'), {aheadMs: 5 * 60_000})
    const s = new TmuxSession(['--config', fx.config], {width: 80, height: 24})
    try {
      const screen = await s.waitFor('the dashboard with alerts', (text) => text.includes('HighMemory') && text.includes('Disk'))
      const header = screen.split('\n')[0]!
      assert.match(header, /3 firing/)
      for (const title of ['CPU', 'Network', 'Memory', 'Disks', 'Load', 'Disk I/O', 'Checks', 'Alerts 3 firing']) assert.ok(screen.includes(title), `title '${title}' on screen:\n${screen}`)
      // alert names are not cut (DiskFilling was 'DiskFil…')
      assert.match(screen, /crit +HighMemory /)
      assert.equal(screen.match(/warn +DiskFilling /g)?.length, 2, screen)
    } finally {
      s.close()
    }
  })
})
