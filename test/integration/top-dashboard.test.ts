/**
 * `mon top` in a real terminal (tmux): fixture metrics and firing alerts on a temp embedded store,
 * the panels and their values on screen, acknowledging an alert with `a` (checked with
 * `mon alerts list --state acked --json`), silencing with `s`, resizing, NO_COLOR, an unreachable
 * backend, an empty store, and the terminal given back after `q`.
 */
import assert from 'node:assert/strict'
import {existsSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {defaultActor} from '../../src/core/incidents/index.js'
import {runMon} from '../helpers/cli.js'
import {freePort, tempDir} from '../helpers/servers.js'
import {writeTopFixture, type TopFixture} from './top-fixture.js'
import {TmuxSession} from './top-tmux.js'

const tmp = tempDir('mon-top-')
/** fixture samples continue this far past now, as if `mon collect` kept running */
const AHEAD = 5 * 60_000
const sessions: TmuxSession[] = []
after(() => {
  for (const s of sessions) s.close()
  tmp.cleanup()
})

function start(args: string[], opts: {width: number; height: number; env?: Record<string, string>}): TmuxSession {
  const s = new TmuxSession(args, opts)
  sessions.push(s)
  return s
}

/** Colour escape codes (foreground/background), as opposed to resets and bold/inverse. */
const COLOR_SGR = /\u001B\[(?:[0-9;]*;)?(?:3[0-7]|4[0-7]|9[0-7]|10[0-7]|38;5;\d+|48;5;\d+)(?:;[0-9;]*)?m/

async function quit(s: TmuxSession): Promise<string> {
  s.keys('q')
  const screen = await s.waitForExit('the shell after q')
  return screen
}

describe('mon top', () => {
  let fx: TopFixture
  before(async () => {
    fx = await writeTopFixture(join(tmp.dir, 'fixture'), {aheadMs: AHEAD})
  })

  it('shows every panel with the fixture values, acks the selected alert with a comment, resizes, and gives the terminal back on q', async () => {
    const s = start(['--config', fx.config], {width: 120, height: 40})
    const screen = await s.waitFor('the dashboard with data', (text) => text.includes('HighMemory') && text.includes('api.example.com/health') && text.includes('87.3%'))
    assert.ok(s.paneFlags().alternate, 'mon top runs on the alternate screen')

    // header: backend, host, window, refresh rate, clock, firing alerts
    const header = screen.split('\n')[0]!
    for (const part of ['mon top', 'host web-01', 'last 15m', 'every 1s', `sqlite:${join(fx.dataDir, 'mon.db')}`, '3 firing']) assert.ok(header.includes(part), `header has '${part}': ${header}`)
    assert.match(header, /\d\d:\d\d:\d\d/)
    // charts and gauges
    assert.match(screen, /CPU \d+\.\d%/)
    assert.match(screen, /Network ↓ rx 1\.5 MB\/s {2}↑ tx 300 KB\/s/)
    assert.match(screen, /Disk I\/O R2\.0M W512K/)
    assert.match(screen, /Mem +█+░* +87\.3% +16 GB/)
    assert.match(screen, /Swap +█*░+ +3\.5% +2 GB/)
    assert.match(screen, /1m \d\.\d\d 5m 1\.25 15m 0\.75/)
    assert.match(screen, /\/ +█+░* +63%/)
    assert.match(screen, /\/var\/lib… +█+░* +91%/)
    // checks: failing first, latency, certificate days
    assert.match(screen, /Checks 3, 1 failing/)
    assert.match(screen, /shop\.internal:8080\/ +conn failed/)
    assert.match(screen, /10\.0\.0\.5:6379 +ok +0\.8 ms/)
    assert.match(screen, /api\.example\.com\/health +200 +41 ms +9d/)
    // alerts: severity, name, labels
    assert.match(screen, /Alerts 3 firing/)
    assert.match(screen, /crit HighMemory +host=web-01/)
    assert.match(screen, /warn DiskFilling +host=db-01 path=\/var/)
    // colour: the failing check and the critical alert are red
    assert.match(s.capture(true), /\u001B\[[0-9;]*31m/)

    // `a` acks the selected alert (HighMemory: critical sorts first) after asking for a comment
    s.keys('a')
    await s.waitFor('the comment prompt', (text) => text.includes('Acknowledge HighMemory {host=web-01}'))
    s.type('disk is fine, memory: restarting worker q7')
    s.keys('Enter')
    const acked = await s.waitFor('the acknowledgement', (text) => /acknowledged HighMemory \(incident #\d+\)/.test(text) && /Alerts 3 firing, 1 acked/.test(text))
    assert.ok(acked.includes(defaultActor().slice(0, 6)), 'the acked-by column shows who')
    const list = await runMon(['alerts', 'list', '--state', 'acked', '--json', '--config', fx.config])
    assert.equal(list.code, 0, list.stderr)
    const alerts = JSON.parse(list.stdout) as Array<{alertname: string; state: string; ackedBy: string; incident: {ackComment: string | null}}>
    assert.deepEqual(
      alerts.map((a) => [a.alertname, a.state, a.ackedBy, a.incident.ackComment]),
      [['HighMemory', 'acked', defaultActor(), 'disk is fine, memory: restarting worker q7']],
    )

    // resize to 80×24: everything is laid out again
    s.resize(80, 24)
    const small = await s.waitFor('the 80×24 layout', (text) => text.split('\n')[0]!.includes('│ sqlite │') || /x sqlite x/.test(text.split('\n')[0]!))
    const lines = small.split('\n').filter((l) => l.length > 0)
    assert.ok(lines.length <= 24, `${lines.length} lines`)
    for (const title of ['CPU', 'Network', 'Memory', 'Disks', 'Load', 'Checks', 'Alerts']) assert.ok(small.includes(title), `${title} at 80×24`)
    assert.match(small, /Mem +█+░* +87\.3%/)
    assert.match(small, /HighMem/)

    const end = await quit(s)
    assert.equal(s.exitCode(end), 0, end)
    const flags = s.paneFlags()
    assert.equal(flags.alternate, false, 'the alternate screen is left')
    assert.equal(flags.cursor, true, 'the cursor shows again')
    assert.match(end, /(^| )icanon( |$)/m, `canonical mode restored: ${end}`)
    assert.match(end, /(^| )echo( |$)/m, `echo restored: ${end}`)
    assert.doesNotMatch(end, /HighMemory|Checks/, 'the dashboard is gone from the screen')
  })

  it('silences the selected alert for a chosen duration', async () => {
    const own = await writeTopFixture(join(tmp.dir, 'silence'), {aheadMs: AHEAD})
    const s = start(['--config', own.config], {width: 120, height: 40})
    await s.waitFor('the alerts', (text) => /crit HighMemory[^\n]*\n[^\n]*warn DiskFilling/.test(text))
    // HighMemory (critical) sorts first; the row below is a DiskFilling
    s.keys('Down', 's')
    await s.waitFor('the duration list', (text) => /silence DiskFilling for/.test(text) && text.includes('4h'))
    s.keys('Down', 'Down', 'Enter') // 1h → 2h → 4h
    await s.waitFor('the comment prompt', (text) => text.includes('for 4h. Why? (required)'))
    s.type('disk cleanup job running')
    s.keys('Enter')
    await s.waitFor('the silence', (text) => /silenced DiskFilling for 4h, until \d\d:\d\d:\d\d/.test(text) && text.includes('silenced'))
    const list = await runMon(['alerts', 'silence', 'list', '--json', '--config', own.config])
    assert.equal(list.code, 0, list.stderr)
    const silences = JSON.parse(list.stdout) as Array<{matchers: string[]; comment: string; createdBy: string; startsAt: string; endsAt: string}>
    assert.equal(silences.length, 1)
    assert.equal(silences[0]!.comment, 'disk cleanup job running')
    assert.equal(silences[0]!.createdBy, defaultActor())
    assert.ok(silences[0]!.matchers.includes('alertname="DiskFilling"'), silences[0]!.matchers.join(', '))
    assert.equal(Date.parse(silences[0]!.endsAt) - Date.parse(silences[0]!.startsAt), 4 * 3_600_000)
    assert.equal(s.exitCode(await quit(s)), 0)
  })

  it('works at 80×24 without colour: help, per-core CPU, host switch, filter', async () => {
    const s = start(['--config', fx.config, '--since', '10m', '--refresh', '2s'], {width: 80, height: 24, env: {NO_COLOR: '1'}})
    const screen = await s.waitFor('the dashboard', (text) => text.includes('87.3%') && text.includes('HighMem'))
    assert.match(screen.split('\n')[0]!, /last 10m .* every 2s/)
    assert.doesNotMatch(s.capture(true), COLOR_SGR, 'no colour codes with NO_COLOR')

    s.keys('?')
    await s.waitFor('the help', (text) => text.includes('acknowledge the selected alert'))
    s.keys('Escape')
    await s.waitFor('the help closed', (text) => !text.includes('acknowledge the selected alert'))

    s.keys('c')
    await s.waitFor('per-core CPU', (text) => /CPU per core +busiest cpu3/.test(text))

    s.keys('Tab')
    await s.waitFor('the checks table focused', (text) => text.includes('▸ Checks') && !text.includes('▸ Alerts'))
    s.keys('Tab')
    await s.waitFor('the alerts table focused', (text) => text.includes('▸ Alerts'))

    s.keys('+')
    await s.waitFor('a faster refresh', (text) => text.split('\n')[0]!.includes('every 1s'))

    s.keys('h')
    await s.waitFor('the host list', (text) => text.includes('host (Enter, Esc)') && text.includes('db-01'))
    s.keys('Up', 'Enter') // web-01 → db-01
    await s.waitFor('db-01', (text) => text.split('\n')[0]!.includes('host db-01') && /Mem +█+░* +41\.0%/.test(text))

    s.keys('/')
    await s.waitFor('the filter prompt', (text) => text.includes('Show checks, alerts and disks containing'))
    s.type('docker')
    s.keys('Enter')
    const filtered = await s.waitFor('the filter', (text) => text.includes('filter: docker'))
    assert.doesNotMatch(filtered, /HighMem/, 'alerts without "docker" are hidden')
    assert.match(filtered, /DiskFil/)
    assert.doesNotMatch(s.capture(true), COLOR_SGR)
    assert.equal(s.exitCode(await quit(s)), 0)
  })

  it('shows an outage banner and keeps retrying when the backend is down, and quits cleanly', async () => {
    const dir = join(tmp.dir, 'outage')
    const port = await freePort()
    const {mkdirSync, writeFileSync} = await import('node:fs')
    mkdirSync(dir, {recursive: true})
    const config = join(dir, 'mon.yaml')
    writeFileSync(config, `host: web-01\ndata_dir: ${JSON.stringify(join(dir, 'data'))}\nstore: {type: influxdb, url: "http://127.0.0.1:${port}", database: mon, timeout: 2s}\n`)
    const s = start(['--config', config], {width: 100, height: 30})
    const first = await s.waitFor('the banner', (text) => text.includes('backend unavailable') && text.includes(`127.0.0.1:${port}`))
    assert.match(first, /retrying every 1s/)
    assert.match(first, /waiting for the backend/)
    // still running and still trying: the failure count goes up
    const count = (text: string) => Number(/(\d+) failed polls?/.exec(text)?.[1] ?? 0)
    const seen = count(first)
    await s.waitFor('another failed poll', (text) => count(text) > seen, 30_000)
    assert.equal(s.exitCode(), undefined, 'mon top keeps running')
    assert.equal(s.exitCode(await quit(s)), 0)
  })

  it('redraws only what changed: a tick with nothing new writes a few bytes, never a cleared screen', async () => {
    const own = await writeTopFixture(join(tmp.dir, 'flicker'), {aheadMs: AHEAD})
    const s = start(['--config', own.config, '--since', '1h'], {width: 120, height: 40})
    await s.waitFor('the dashboard', (text) => text.includes('HighMemory') && text.includes('87.3%'))
    const {readFileSync, existsSync} = await import('node:fs')
    const clock = (text: string) => /(\d\d:\d\d:\d\d)/.exec(text.split('\n')[0]!)?.[1]
    const out = join(tmp.dir, 'flicker', 'tty.out')
    s.pipe(out)
    const size = () => (existsSync(out) ? readFileSync(out).length : 0)
    // bytes written per tick (one tick = the header clock moving on)
    const perTick: number[] = []
    let last = clock(s.capture())
    let before = size()
    for (let i = 0; i < 5; i++) {
      const screen = await s.waitFor('the next tick', (text) => clock(text) !== last)
      last = clock(screen)
      const now = size()
      perTick.push(now - before)
      before = now
    }

    s.unpipe()
    const written = readFileSync(out, 'latin1')
    assert.doesNotMatch(written, /\u001B\[2J|\u001B\[H\u001B\[J/, 'the screen is never cleared')
    // a full 120×40 repaint is over 10 KB; a tick that only moves the clock (and the alerts'
    // ages) is a few dozen bytes. A chart bucket boundary may fall into one of the ticks.
    const sorted = [...perTick].sort((a, b) => a - b)
    assert.ok(sorted[2]! < 600, `bytes per tick: ${perTick.join(', ')}`)
    assert.equal(s.exitCode(await quit(s)), 0)
  })

  it('shows empty panels with a hint on a store without data, and creates nothing in a data dir that does not exist', async () => {
    const dir = join(tmp.dir, 'empty')
    const {mkdirSync, writeFileSync} = await import('node:fs')
    mkdirSync(dir, {recursive: true})
    const config = join(dir, 'mon.yaml')
    writeFileSync(config, `host: fresh-01\ndata_dir: ${JSON.stringify(join(dir, 'data'))}\n`)
    const s = start(['--config', config], {width: 120, height: 40})
    const screen = await s.waitFor('the hints', (text) => text.includes('no cpu metrics for fresh-01 yet') && text.includes('no active alerts'))
    assert.match(screen, /run `mon collect`/)
    assert.match(screen, /0 firing/)
    assert.doesNotMatch(screen, /backend unavailable|error/i)
    // Ctrl-C quits as q does
    s.keys('C-c')
    const end = await s.waitForExit('the shell after Ctrl-C')
    assert.equal(s.exitCode(end), 0)
    assert.equal(s.paneFlags().alternate, false)
    // mon top only reads: no data dir, mon.db or state.db appeared (read-only commands create nothing)
    assert.equal(existsSync(join(dir, 'data')), false, 'mon top created the data dir')
  })

  it('refuses to run without a terminal and checks its flags (exit 2, no stack)', async () => {
    const noTty = await runMon(['top', '--config', fx.config])
    assert.equal(noTty.code, 2)
    assert.match(noTty.stderr, /mon top needs a terminal/)
    assert.doesNotMatch(noTty.stderr, /at .*\.js:\d+/)
    const badRefresh = await runMon(['top', '--refresh', '10ms', '--config', fx.config])
    assert.equal(badRefresh.code, 2)
    assert.match(badRefresh.stderr, /--refresh 10ms is out of range/)
    const badSince = await runMon(['top', '--since', 'soon', '--config', fx.config])
    assert.equal(badSince.code, 2)
    assert.match(badSince.stderr, /invalid duration "soon"/)
    const help = await runMon(['top', '--help'])
    assert.equal(help.code, 0)
    for (const part of ['--host', '--refresh', '--since', '--config', 'EXAMPLES', 'mon top --host web-01 --since 1h']) assert.ok(help.stdout.includes(part), `--help has ${part}`)
  })
})
