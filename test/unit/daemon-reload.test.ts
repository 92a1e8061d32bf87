/**
 * A reload as the daemon's components apply it (createDaemon in-process, embedded store in a temp dir,
 * a ManualTimer for time, real loopback sockets): every component checks the new config before any
 * applies it, and a component that cannot apply its part leaves its old one running while the
 * others apply theirs.
 */
import assert from 'node:assert/strict'
import {createServer, type Server} from 'node:net'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {parseConfigText, type LoadedConfig} from '../../src/core/config/parse.js'
import {createDaemon, type Daemon} from '../../src/core/daemon/daemon.js'
import {silentLogger} from '../../src/core/log.js'
import {ManualTimer} from '../../src/core/scheduler/timer.js'
import {tempDir} from '../helpers/servers.js'

const rules = (...names: string[]) => `groups:\n${names.map((n) => `  - name: ${n}\n    rules:\n      - alert: ${n}Absent\n        expr: absent(nothing.${n})\n`).join('')}`

describe('daemon reload through its components', () => {
  const tmp = tempDir('mon-daemon-reload-')
  after(() => tmp.cleanup())

  /** A daemon on `dir` whose reloads read `config()`. */
  async function startDaemon(dir: string, apiListen: () => string): Promise<Daemon> {
    mkdirSync(dir, {recursive: true})
    writeFileSync(join(dir, 'rules.yaml'), rules('first'))
    const load = (): LoadedConfig =>
      parseConfigText(
        `data_dir: ${join(dir, 'data')}\nagent: {self_metrics: false}\ninputs: {host: {enabled: false}}\nrules: {files: [rules.yaml], default_interval: 1m}\napi: {listen: "${apiListen()}"}\n`,
        join(dir, 'mon.yaml'),
        {},
        {cwd: dir},
      )
    const timer = new ManualTimer(Date.UTC(2026, 0, 16, 7, 0, 0))
    const daemon = createDaemon({loaded: load(), loadConfig: async () => load(), log: silentLogger, version: 'test', clock: timer, timer, statusEveryMs: 3_600_000, maintenanceEveryMs: 3_600_000, notifyPollMs: 600_000})
    await daemon.start()
    return daemon
  }

  it('the API cannot take its new address: the rules still change, the API keeps serving on the old one', async () => {
    const dir = join(tmp.dir, 'taken')
    let listen = '127.0.0.1:0'
    const daemon = await startDaemon(dir, () => listen)
    const taken: Server = createServer()
    try {
      await new Promise<void>((resolve) => taken.listen(0, '127.0.0.1', resolve))
      const takenPort = (taken.address() as {port: number}).port
      const before = daemon.apiAddress!.url
      writeFileSync(join(dir, 'rules.yaml'), rules('first', 'second'))
      listen = `127.0.0.1:${takenPort}`
      const outcome = await daemon.reload()

      assert.equal(outcome.ok, false)
      assert.deepEqual(outcome.changes, ['inputs: 0', 'rules: 2 groups, 2 rules'])
      assert.match(outcome.error!, new RegExp(`^api: .*127\\.0\\.0\\.1:${takenPort}.*; still serving on ${before.replace(/[.]/g, '\\.')}$`, 's'))
      assert.deepEqual(
        daemon.facts().rules.groups.map((g) => g.name),
        ['first', 'second'],
      )
      // the old settings serve again (with api.listen port 0, on a port picked anew)
      const health = await fetch(`${daemon.apiAddress!.url}/healthz`)
      assert.equal(health.status, 200)
      assert.equal(((await health.json()) as {status: string}).status, 'degraded', 'the reload applied in part says so')
      assert.equal(daemon.facts().reload.lastOk, false)
    } finally {
      await daemon.stop(5000)
      taken.close()
    }
  })

  it('a rule file that does not load is refused before any component applies anything', async () => {
    const dir = join(tmp.dir, 'refused')
    let listen = '127.0.0.1:0'
    const daemon = await startDaemon(dir, () => listen)
    try {
      const before = daemon.apiAddress!.url
      writeFileSync(join(dir, 'rules.yaml'), `groups:\n  - name: broken\n    rules:\n      - alert: Broken\n        expr: avgg(x)\n`)
      listen = 'localhost:0' // a new API section too: it must not be rebuilt
      const outcome = await daemon.reload()
      assert.equal(outcome.ok, false)
      assert.deepEqual(outcome.changes, [])
      assert.match(outcome.error!, /rules\.yaml:\d+:\d+: .*avgg/)
      assert.deepEqual(
        daemon.facts().rules.groups.map((g) => g.name),
        ['first'],
      )
      assert.equal(daemon.apiAddress!.url, before)
    } finally {
      await daemon.stop(5000)
    }
  })
})
