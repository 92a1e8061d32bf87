/**
 * Events in `mon top` (tmux): the newest event of the window about the shown host (or no host)
 * is a ▲ marker in the CPU chart's title, an event of another host is not, and an event recorded
 * while top runs appears on a later refresh.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {tempDir} from '../helpers/servers.js'
import {writeTopFixture, type TopFixture} from './top-fixture.js'
import {TmuxSession} from './top-tmux.js'

const tmp = tempDir('mon-top-events-')
const sessions: TmuxSession[] = []
after(() => {
  for (const s of sessions) s.close()
  tmp.cleanup()
})

describe('mon top: events', () => {
  let fx: TopFixture
  before(async () => {
    fx = await writeTopFixture(join(tmp.dir, 'fixture'), {aheadMs: 5 * 60_000})
  })

  const addEvent = async (title: string, at: number, ...args: string[]) => {
    const r = await runMon(['event', 'add', title, '--at', new Date(at).toISOString(), '--config', fx.config, ...args])
    assert.equal(r.code, 0, r.stderr)
  }

  it('shows the newest event of the host as a marker in the CPU chart title, and a new one on the next refresh', async () => {
    await addEvent('deploy v1.2', fx.now - 3 * 60_000, '--tag', 'host=web-01', '--tag', 'service=api')
    await addEvent('db maintenance', fx.now - 60_000, '--tag', 'host=db-01')
    const s = new TmuxSession(['--config', fx.config], {width: 120, height: 40})
    sessions.push(s)
    const screen = await s.waitFor('the deploy marker', (text) => /CPU \d+\.\d%.*▲ \d\d:\d\d deploy v1\.2/.test(text))
    const title = screen.split('\n').find((l) => l.includes('▲'))!
    assert.match(title, /CPU \d+\.\d%.*▲ \d\d:\d\d deploy v1\.2/)
    assert.doesNotMatch(screen, /db maintenance/, "another host's event is not shown")

    // recorded while top runs (no host tag: about every host), newer than the deploy
    await addEvent('rollback', Date.now())
    const later = await s.waitFor('the newer event', (text) => /▲ \d\d:\d\d rollback \(\+1\)/.test(text))
    assert.doesNotMatch(later, /deploy v1\.2/, 'the title shows the newest event')
    s.keys('q')
    const end = await s.waitForExit('the shell after q')
    assert.equal(s.exitCode(end), 0, end)
  })
})
