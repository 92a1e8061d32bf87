import assert from 'node:assert/strict'
import {chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'

let tmp: {dir: string; cleanup: () => void}
let env: NodeJS.ProcessEnv
before(() => {
  tmp = tempDir('mon-cli-')
  env = {MON_DATA_DIR: join(tmp.dir, 'data'), XDG_CONFIG_HOME: join(tmp.dir, 'xdg-config'), XDG_DATA_HOME: join(tmp.dir, 'xdg-data')}
})
after(() => tmp.cleanup())

const NOW_NS = `${Date.now()}000000`

describe('mon CLI basics', () => {
  it('--version and --help', async () => {
    const v = await runMon(['--version'], {env})
    assert.equal(v.code, 0)
    assert.match(v.stdout, /^mon\/\d+\.\d+\.\d+ /)
    const h = await runMon(['--help'], {env})
    assert.equal(h.code, 0)
    for (const cmd of ['collect', 'query', 'write', 'config', 'store']) assert.match(h.stdout, new RegExp(`\\b${cmd}\\b`))
  })

  it('every command documents examples in its help', async () => {
    for (const cmd of [['query'], ['write'], ['collect'], ['config', 'init'], ['config', 'show'], ['config', 'validate'], ['store', 'info']]) {
      const r = await runMon([...cmd, '--help'], {env})
      assert.equal(r.code, 0, cmd.join(' '))
      assert.match(r.stdout, /EXAMPLES/, `${cmd.join(' ')} has examples`)
    }
  })

  it('-h and `mon help COMMAND` print what --help prints; an unknown command there is a usage error', async () => {
    for (const cmd of [['query'], ['status'], ['alerts', 'silence', 'add'], []]) {
      const long = await runMon([...cmd, '--help'], {env})
      assert.equal(long.code, 0, cmd.join(' '))
      const short = await runMon([...cmd, '-h'], {env})
      assert.equal(short.code, 0, cmd.join(' '))
      assert.equal(short.stdout, long.stdout, `${cmd.join(' ')} -h`)
      const help = await runMon(['help', ...cmd], {env})
      assert.equal(help.code, 0, `help ${cmd.join(' ')}`)
      assert.equal(help.stdout, long.stdout, `help ${cmd.join(' ')}`)
    }
    const unknown = await runMon(['help', 'nope'], {env})
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /nope not found/)
  })

  it('an unknown flag is a usage error: exit 2, one message, no stack', async () => {
    const r = await runMon(['query', 'cpu.usage_user', '--bogus'], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /Nonexistent flag: --bogus/)
    assert.doesNotMatch(r.stderr, /at .*\.js:\d+/)
  })

  it('shell completion is available', async () => {
    const r = await runMon(['autocomplete', 'bash'], {env})
    assert.equal(r.code, 0)
    assert.match(r.stdout, /mon autocomplete/)
  })
})

describe('collect, write, query on the embedded store', () => {
  it('collect --once writes host metrics with Telegraf names and prints a summary', async () => {
    const r = await runMon(['collect', '--once'], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, /^wrote \d+ points from 1 input to sqlite:.*mon\.db( \(.*\))?\n$/)
    const j = await runMon(['collect', '--once', '--json'], {env})
    assert.equal(j.code, 0, j.stderr)
    const summary = JSON.parse(j.stdout)
    assert.ok(summary.points > 5)
    assert.equal(summary.runs[0].input, 'host')
    const m = await runMon(['query', 'last(cpu.usage_idle{cpu="cpu-total"}) by host', '--since', '10m', '--json'], {env})
    assert.equal(m.code, 0, m.stderr)
    const result = JSON.parse(m.stdout)
    assert.equal(result.series.length, 1)
    const idle = result.series[0].values[0][1]
    assert.ok(idle >= 0 && idle <= 100, `usage_idle ${idle}`)
    for (const q of ['last(mem.used_percent)', 'last(system.load1)', 'last(processes.total)']) {
      const r2 = await runMon(['query', q, '--since', '10m', '--json'], {env})
      assert.equal(JSON.parse(r2.stdout).series.length, 1, q)
    }
  })

  it('write from stdin, then query with every format', async () => {
    const lines = Array.from({length: 30}, (_, i) => `orders,shop=eu,env=prod count=${i}i,amount=${i * 1.5} ${Date.now() - (30 - i) * 60_000}`).join('\n')
    const w = await runMon(['write', '-', '--precision', 'ms'], {env, input: lines})
    assert.equal(w.code, 0, w.stderr)
    assert.match(w.stdout, /wrote 30 points/)
    // an instant query over a window: every point of the last hour, summed per shop
    const table = await runMon(['query', 'sum(orders.count[1h]) by shop'], {env})
    assert.equal(table.code, 0, table.stderr)
    assert.match(table.stdout, /^time\s+shop\s+value\n/)
    assert.match(table.stdout, /\beu\s+435\n/)
    const csv = await runMon(['query', 'max_over_time(orders.amount[1h])', '--format', 'csv'], {env})
    assert.equal(csv.stdout.split('\n')[0], 'time,env,shop,value')
    assert.match(csv.stdout.split('\n')[1], /,prod,eu,43\.5$/)
    // a range query: the instant query every 10 minutes, each step counting its own window
    const every = await runMon(['query', 'count_over_time(orders.count[10m])', '--since', '40m', '--every', '10m', '--json'], {env})
    const result = JSON.parse(every.stdout)
    assert.equal(result.type, 'range')
    assert.equal(result.step, '10m')
    const times = result.series[0].values.map((v: unknown[]) => Date.parse(v[0] as string))
    assert.deepEqual(times.slice(1).map((t: number, i: number) => t - times[i]), [600_000, 600_000, 600_000])
    const counts = result.series[0].values.map((v: unknown[]) => v[1])
    assert.deepEqual(counts, [...counts].map((c: number) => Math.min(10, c)), 'a 10m window holds at most 10 of the 1/min points')
    assert.equal(counts.reduce((a: number, b: number) => a + b, 0), 30, 'the four windows (now − 40m, now] partition the 30 points')
    const chart = await runMon(['query', 'mean(orders.amount)', '--since', '1h', '--format', 'chart'], {env})
    assert.equal(chart.code, 0, chart.stderr)
    assert.match(chart.stdout, /┤/)
  })

  it('writing the same points again does not duplicate them', async () => {
    const lp = `replay,host=a v=1 ${NOW_NS}\nreplay,host=a v=2 ${NOW_NS.slice(0, -9)}500000000\n`
    await runMon(['write'], {env, input: lp})
    await runMon(['write'], {env, input: lp})
    const r = await runMon(['query', 'count_over_time(replay.v[1d])', '--json'], {env})
    assert.equal(JSON.parse(r.stdout).series[0].values[0][1], 2)
  })

  it('malformed line protocol: file:line:col, exit 2, nothing written', async () => {
    const file = join(tmp.dir, 'bad.lp')
    writeFileSync(file, `good,host=a v=1 ${NOW_NS}\ngood,host=b v= ${NOW_NS}\n`)
    const r = await runMon(['write', file], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, new RegExp(`${file.replace(/[/.]/g, '\\$&')}:2:15: missing field value`))
    const q = await runMon(['query', 'count_over_time(good.v[1d])', '--json'], {env})
    assert.deepEqual(JSON.parse(q.stdout).series, [], 'the valid line was not written either')
    const skip = await runMon(['write', file, '--skip-invalid'], {env})
    assert.equal(skip.code, 0)
    assert.match(skip.stdout, /wrote 1 point \(skipped 1 invalid line\)/)
  })

  it('a query syntax error shows the query with a caret and exits 2', async () => {
    const r = await runMon(['query', 'mean(cpu.usage_user{cpu="cpu-total") by host'], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /query:1:36: expected ',' or '}'/)
    assert.match(r.stderr, /\n {2}mean\(cpu\.usage_user\{cpu="cpu-total"\) by host\n {37}\^/)
  })

  it('bad --since and --every are named', async () => {
    const r = await runMon(['query', 'x.y', '--since', 'yesterday'], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /invalid --since 'yesterday'/)
    const e = await runMon(['query', 'x.y', '--every', '0s'], {env})
    assert.equal(e.code, 2)
    assert.match(e.stderr, /--every must be a positive duration/)
    const at = await runMon(['query', 'x.y', '--at', 'noon'], {env})
    assert.equal(at.code, 2)
    assert.match(at.stderr, /invalid --at 'noon'/)
  })

  it('store info reports backend, counts, range and size', async () => {
    const r = await runMon(['store', 'info', '--json'], {env})
    assert.equal(r.code, 0, r.stderr)
    const info = JSON.parse(r.stdout)
    assert.equal(info.backend, 'sqlite')
    assert.ok(info.series > 0 && info.points > 0 && info.bytesOnDisk > 0)
    assert.ok(info.oldest <= info.newest)
  })
})

describe('config commands', () => {
  it('config init writes a commented sample that validates; refuses to overwrite', async () => {
    const path = join(tmp.dir, 'mon.yaml')
    const r = await runMon(['config', 'init', '--path', path], {env})
    assert.equal(r.code, 0, r.stderr)
    assert.match(readFileSync(path, 'utf8'), /^# mon configuration/)
    const v = await runMon(['config', 'validate', path], {env})
    assert.equal(v.code, 0, v.stderr)
    const again = await runMon(['config', 'init', '--path', path], {env})
    assert.equal(again.code, 2)
    assert.match(again.stderr, /already exists/)
  })

  it('unknown keys and wrong types: file:line:col with a hint, exit 2', async () => {
    const path = join(tmp.dir, 'bad.yaml')
    writeFileSync(path, 'store:\n  type: sqlite\ninputs:\n  host:\n    intervall: 10s\n')
    const r = await runMon(['config', 'validate', path], {env})
    assert.equal(r.code, 2)
    assert.match(r.stderr, /bad\.yaml:5:5: unknown option 'intervall' in inputs\.host/)
    assert.match(r.stderr, /did you mean 'interval'\?/)
    const q = await runMon(['query', 'x.y', '--config', path], {env})
    assert.equal(q.code, 2, 'every command refuses a bad config')
  })

  it('config show redacts interpolated secrets', async () => {
    const path = join(tmp.dir, 'secret.yaml')
    writeFileSync(path, 'store:\n  type: influxdb\n  url: http://127.0.0.1:1\n  token: ${MON_TEST_TOKEN}\n')
    const r = await runMon(['config', 'show', '--config', path, '--json'], {env: {...env, MON_TEST_TOKEN: 's3cr3t-value'}})
    assert.equal(r.code, 0, r.stderr)
    assert.doesNotMatch(r.stdout, /s3cr3t-value/)
    assert.equal(JSON.parse(r.stdout).config.store.token, '***')
  })

  it('MON_CONFIG is used, and a missing explicit file is an error', async () => {
    const r = await runMon(['config', 'show', '--source'], {env: {...env, MON_CONFIG: join(tmp.dir, 'mon.yaml')}})
    assert.equal(r.stdout.trim(), join(tmp.dir, 'mon.yaml'))
    const missing = await runMon(['config', 'show', '--config', join(tmp.dir, 'nope.yaml')], {env})
    assert.equal(missing.code, 2)
    assert.match(missing.stderr, /config file not found/)
  })
})

describe('bad environments', () => {
  it('an unwritable data dir: one clear message, exit 1', async () => {
    const ro = join(tmp.dir, 'ro')
    mkdirSync(ro)
    writeFileSync(join(ro, 'blocker'), '')
    const r = await runMon(['collect', '--once'], {env: {...env, MON_DATA_DIR: join(ro, 'blocker', 'data')}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /cannot create (data|spool) directory/)
    assert.doesNotMatch(r.stderr, /\n\s+at /)
    chmodSync(ro, 0o755)
  })

  it('a corrupt database file: one clear message, nothing overwritten', async () => {
    const dataDir = join(tmp.dir, 'corrupt')
    mkdirSync(dataDir)
    const junk = 'this is not a sqlite database '.repeat(200)
    writeFileSync(join(dataDir, 'mon.db'), junk)
    const r = await runMon(['store', 'info'], {env: {...env, MON_DATA_DIR: dataDir}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, /corrupt or not a mon database/)
    assert.equal(readFileSync(join(dataDir, 'mon.db'), 'utf8'), junk)
    assert.ok(!existsSync(join(dataDir, 'mon.db-wal')) || readFileSync(join(dataDir, 'mon.db-wal')).length === 0)
  })
})
