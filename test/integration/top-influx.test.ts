/**
 * `mon top --host web-01` on a real InfluxDB 1.x: the same fixture metrics written to influxd,
 * alert state local, the dashboard in tmux showing the remote host's values and the host list
 * from InfluxDB's tag values — everything through the query layer, nothing backend-specific.
 */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parseConfigText} from '../../src/core/config/parse.js'
import {openStore} from '../../src/core/store/open.js'
import type {FullStore} from '../../src/core/store/types.js'
import {runMon} from '../helpers/cli.js'
import {startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'
import {writeTopFixture, type TopFixture} from './top-fixture.js'
import {TmuxSession} from './top-tmux.js'

describe('mon top on InfluxDB', () => {
  let influxd: RunningServer
  let store: FullStore
  let fx: TopFixture
  let session: TmuxSession | undefined
  const tmp = tempDir('mon-top-influx-')

  before(async () => {
    influxd = await startInfluxd()
    const created = await fetch(`${influxd.url}/query?q=${encodeURIComponent('CREATE DATABASE toptest')}`, {method: 'POST'})
    assert.equal(created.status, 200)
    const storeConfig = `store:\n  type: influxdb\n  url: ${influxd.url}\n  database: toptest\n`
    const loaded = parseConfigText(`data_dir: ${JSON.stringify(join(tmp.dir, 'data'))}\n${storeConfig}`, 'mon.yaml')
    store = await openStore(loaded.config.store, {dataDir: loaded.dataDir})
    // this machine (laptop) has no metrics: the dashboard is for a remote host
    fx = await writeTopFixture(tmp.dir, {host: 'laptop', store, storeConfig, aheadMs: 5 * 60_000})
    const info = await runMon(['query', 'last(mem.used_percent) by host', '--since', '30m', '--json', '--config', fx.config])
    assert.equal(info.code, 0, info.stderr)
  })

  after(async () => {
    session?.close()
    await store?.close()
    await influxd?.destroy()
    tmp.cleanup()
  })

  it('shows web-01 from InfluxDB and lists the hosts InfluxDB knows', async () => {
    session = new TmuxSession(['--host', 'web-01', '--config', fx.config], {width: 120, height: 40})
    const s = session
    const screen = await s.waitFor('the dashboard with data from InfluxDB', (text) => text.includes('87.3%') && text.includes('api.example.com/health') && text.includes('HighMemory'), 30_000)
    const header = screen.split('\n')[0]!
    assert.ok(header.includes(`influxdb:${influxd.url}/toptest`) || header.includes('influxdb'), header)
    assert.ok(header.includes('host web-01'), header)
    assert.match(screen, /CPU \d+\.\d%/)
    assert.match(screen, /↓ rx 1\.5 MB\/s {2}↑ tx 300 KB\/s/)
    assert.match(screen, /Mem +█+░* +87\.3%/)
    assert.match(screen, /\/var\/lib… +█+░* +91%/)
    assert.match(screen, /api\.example\.com\/health +200 +41 ms +9d/)
    assert.match(screen, /shop\.internal:8080\/ +conn failed/)
    s.keys('h')
    const hosts = await s.waitFor('the host list', (text) => text.includes('host (Enter, Esc)'))
    assert.match(hosts, /db-01/)
    assert.match(hosts, /web-01/)
    // one key at a time: Escape and q sent together arrive as Meta-q
    s.keys('Escape')
    await s.waitFor('the host list closed', (text) => !text.includes('host (Enter, Esc)'))
    s.keys('q')
    const end = await s.waitForExit('the shell')
    assert.equal(s.exitCode(end), 0)
  })
})
