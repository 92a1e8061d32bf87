/**
 * `mon top` in a real terminal over a plain Prometheus (issue 20): Debian's prometheus scrapes
 * Debian's prometheus-node-exporter on loopback every second, the store is that Prometheus
 * (read-only), and the dashboard picks the node_exporter panels by itself and fills CPU, memory,
 * disks, network and load for the exporter's instance.
 */
import assert from 'node:assert/strict'
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {startNodeExporter, startScrapingPrometheus, tempDir, type RunningServer} from '../helpers/servers.js'
import {TmuxSession} from './top-tmux.js'

describe('mon top over a Prometheus scraping node_exporter', () => {
  let exporter: RunningServer
  let second: RunningServer
  let prometheus: RunningServer
  let session: TmuxSession | undefined
  let config: string
  let instance: string
  const tmp = tempDir('mon-top-prometheus-')

  before(async () => {
    // two exporters: the host list (h) shows both instances
    exporter = await startNodeExporter()
    second = await startNodeExporter()
    instance = `127.0.0.1:${exporter.port}`
    prometheus = await startScrapingPrometheus([instance, `127.0.0.1:${second.port}`], '1s')
    // a few scrapes in: rates need two, and the charts a little history
    const scrapes = async () => {
      const r = await fetch(`${prometheus.url}/api/v1/query?query=${encodeURIComponent('count_over_time(node_load1[1m])')}`)
      const body = (await r.json()) as {data?: {result?: Array<{value: [number, string]}>}}
      return Number(body.data?.result?.[0]?.value[1] ?? 0)
    }

    for (let i = 0; i < 200 && (await scrapes()) < 6; i++) await new Promise((r) => setTimeout(r, 250))
    assert.ok((await scrapes()) >= 6, `Prometheus scraped node_exporter:\n${prometheus.output()}`)
    config = join(tmp.dir, 'mon.yaml')
    writeFileSync(config, `data_dir: ${JSON.stringify(join(tmp.dir, 'data'))}\nstore:\n  type: prometheus\n  url: ${prometheus.url}\n`)
  })

  after(async () => {
    session?.close()
    await prometheus?.destroy()
    await exporter?.destroy()
    await second?.destroy()
    tmp.cleanup()
  })

  it('detects node_exporter names, takes the instance as the host and shows every panel', async () => {
    session = new TmuxSession(['--config', config, '--host', instance, '--since', '1m', '--refresh', '1s'], {width: 120, height: 40})
    const s = session
    const screen = await s.waitFor(
      'CPU, memory, a filesystem, network and load from Prometheus',
      (text) => /CPU \d+\.\d%/.test(text) && /Mem +[█░]+ +\d+\.\d%/.test(text) && /↓ rx \d/.test(text) && /1m \d+\.\d+ 5m \d+\.\d+ 15m/.test(text) && /\/\S* +[█░]+ +\d+%/.test(text),
      60_000,
    )
    const header = screen.split('\n')[0]!
    assert.ok(header.includes('prometheus'), header)
    assert.ok(header.includes(`host ${instance}`), header)
    s.keys('h')
    const hosts = await s.waitFor('the host list', (text) => text.includes('host (Enter, Esc)'))
    assert.ok(hosts.includes(instance) && hosts.includes(`127.0.0.1:${second.port}`), hosts)
    s.keys('Escape')
    await s.waitFor('the host list closed', (text) => !text.includes('host (Enter, Esc)'))
    s.keys('q')
    const end = await s.waitForExit('the shell')
    assert.equal(s.exitCode(end), 0)
  })
})
