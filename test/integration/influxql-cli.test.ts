/**
 * The real `influx` 1.x CLI (Debian's influxdb-client, /usr/bin/influx) against `mon daemon` on the
 * embedded store and against a real influxd holding the same fixture: SHOW DATABASES, SHOW
 * MEASUREMENTS, SHOW TAG VALUES/KEYS, SHOW FIELD KEYS and a dozen SELECTs in the column (the
 * CLI's default), json and csv formats, with rfc3339 and ms precision, print the same text.
 *
 * The fixture has fixed timestamps and every statement names its time range, so nothing depends
 * on the wall clock; the embedded store keeps raw points for 20 years here so the 2026 fixture is
 * not past retention.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {runMon} from '../helpers/cli.js'
import {startMonDaemon, type RunningDaemon} from '../helpers/mon-daemon.js'
import {fixture, RANGE, SELECTS, SHOWS} from '../helpers/influxql-fixture.js'
import {requireBinary, startInfluxd, tempDir, type RunningServer} from '../helpers/servers.js'

let tmp: ReturnType<typeof tempDir>
let daemon: RunningDaemon
let influxd: RunningServer
let influx: string

before(async () => {
  influx = requireBinary('influx', 'influxdb-client')
  tmp = tempDir('mon-influxql-cli-')
  const dir = join(tmp.dir, 'mon')
  mkdirSync(dir, {recursive: true})
  const data = fixture()
  writeFileSync(join(dir, 'fixture.lp'), data)
  const config = `host: testbox
agent: {interval: 1h, self_metrics: false}
inputs:
  host: {enabled: false}
retention: {raw: 20y}
api: {listen: "127.0.0.1:0"}
`
  writeFileSync(join(dir, 'mon.yaml'), `data_dir: ${join(dir, 'data')}\n${config}`)
  const w = await runMon(['write', join(dir, 'fixture.lp'), '--config', join(dir, 'mon.yaml'), '--json'], {env: {MON_CONFIG: ''}})
  assert.equal(w.code, 0, w.stdout + w.stderr)
  ;[daemon, influxd] = await Promise.all([startMonDaemon(dir, config), startInfluxd()])
  assert.equal((await fetch(`${influxd.url}/query`, {method: 'POST', body: new URLSearchParams({q: 'CREATE DATABASE mon'})})).status, 200)
  const wrote = await fetch(`${influxd.url}/write?db=mon`, {method: 'POST', body: data})
  assert.equal(wrote.status, 204, await wrote.text())
})

after(async () => {
  await Promise.all([daemon?.stop(), influxd?.destroy()])
  tmp?.cleanup()
})

function runInflux(url: string, args: string[]): Promise<{code: number | null; stdout: string; stderr: string}> {
  const {hostname, port} = new URL(url)
  return new Promise((resolve, reject) => {
    const proc = spawn(influx, ['-host', hostname, '-port', port, '-database', 'mon', ...args], {stdio: ['ignore', 'pipe', 'pipe'], env: {...process.env, HOME: tmp.dir}})
    let stdout = ''
    let stderr = ''
    proc.stdout.on('data', (d) => (stdout += d))
    proc.stderr.on('data', (d) => (stderr += d))
    const timer = setTimeout(() => proc.kill('SIGKILL'), 30_000)
    proc.once('error', reject)
    // 'close', not 'exit': the output pipes may still hold data when the process has exited
    proc.once('close', (code) => {
      clearTimeout(timer)
      resolve({code, stdout, stderr})
    })
  })
}

async function same(statement: string, extra: string[] = []): Promise<string> {
  const args = ['-execute', statement, ...extra]
  const [ours, theirs] = await Promise.all([runInflux(daemon.url, args), runInflux(influxd.url, args)])
  const what = `influx ${extra.join(' ')} -execute '${statement}'`
  assert.equal(theirs.code, 0, `influxd: ${what}\n${theirs.stdout}${theirs.stderr}`)
  assert.equal(ours.stdout, theirs.stdout, `${what}\n--- mon:\n${ours.stdout}${ours.stderr}\n--- influxd:\n${theirs.stdout}`)
  assert.equal(ours.stderr, theirs.stderr, what)
  assert.equal(ours.code, 0, what)
  return ours.stdout
}

describe('the influx CLI prints the same against mon and influxd', () => {
  it('SHOW DATABASES, MEASUREMENTS, TAG VALUES, TAG KEYS, FIELD KEYS', async () => {
    for (const s of SHOWS) await same(s)
    assert.match(await same('SHOW DATABASES'), /^mon$/m)
  })

  it(`${SELECTS.length} SELECTs in the column format (the default)`, async () => {
    for (const s of SELECTS) {
      const out = await same(s)
      assert.ok(out.trim().length > 0, `no output for ${s}`)
    }
  })

  it('the SELECTs as -format json and csv', async () => {
    for (const s of SELECTS) {
      await same(s, ['-format', 'json'])
      await same(s, ['-format', 'csv'])
    }
  })

  it('-precision rfc3339 and ms', async () => {
    for (const s of SELECTS.slice(0, 6)) {
      await same(s, ['-precision', 'rfc3339'])
      await same(s, ['-precision', 'ms', '-format', 'csv'])
    }
  })

  it('several statements in one -execute, and errors print the same', async () => {
    await same(`${SELECTS[0]}; ${SELECTS[3]}`)
    for (const bad of ['SELEC 1', `SELECT mean("usage_user") FROM "nope" WHERE ${RANGE}`]) {
      const args = ['-execute', bad]
      const [ours, theirs] = await Promise.all([runInflux(daemon.url, args), runInflux(influxd.url, args)])
      assert.equal(ours.stdout + ours.stderr, theirs.stdout + theirs.stderr, bad)
      assert.equal(ours.code, theirs.code, bad)
    }
  })
})
