/**
 * The durability promise, end to end with the real binary and a real influxd: N points pushed
 * through the listener while influxd is stopped for part of the run and `mon collect` is
 * SIGKILLed once mid-run. After both are back, InfluxDB holds exactly N points — none lost
 * (the spool kept them), none doubled (replays overwrite the same series + timestamp).
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {readdirSync, statSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import {BIN} from '../helpers/cli.js'
import {freePort, startInfluxd, tempDir, waitFor, type RunningServer} from '../helpers/servers.js'

const BATCHES = 30
const PER_BATCH = 1000
const N = BATCHES * PER_BATCH
const T0 = 1_700_000_000_000

let influx: RunningServer
let tmp: ReturnType<typeof tempDir>
let port: number
let configPath: string
let mon: ChildProcess | undefined
let monLog = ''

before(async () => {
  influx = await startInfluxd()
  const res = await fetch(`${influx.url}/query?q=${encodeURIComponent('CREATE DATABASE fault')}`, {method: 'POST'})
  assert.equal(res.status, 200)
  tmp = tempDir('mon-fault-')
  port = await freePort()
  configPath = join(tmp.dir, 'mon.yaml')
  writeFileSync(
    configPath,
    `data_dir: ${tmp.dir}/data
store:
  type: influxdb
  url: ${influx.url}
  version: 1
  database: fault
  max_retries: 0
  timeout: 2s
agent:
  self_metrics: false
  flush_interval: 100ms
inputs:
  host: {enabled: false}
  listener:
    enabled: true
    listen: 127.0.0.1:${port}
spool:
  fsync: batch
log: {level: info}
`,
  )
})

after(async () => {
  if (mon && mon.exitCode === null && mon.signalCode === null) mon.kill('SIGKILL')
  await influx?.destroy()
  tmp?.cleanup()
})

async function startMon(): Promise<void> {
  const child = spawn(process.execPath, [BIN, 'collect', '--config', configPath], {env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  child.stdout!.on('data', (d) => (monLog = (monLog + d).slice(-20_000)))
  child.stderr!.on('data', (d) => (monLog = (monLog + d).slice(-20_000)))
  mon = child
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 'mon collect listener', 30_000, child, () => monLog)
}

function post(body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request(`http://127.0.0.1:${port}/write?db=fault&precision=ms`, {method: 'POST', agent: false}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

/** A client that retries until the listener says 204, as Telegraf's outputs do. */
async function push(batch: number): Promise<void> {
  const lines: string[] = []
  for (let j = 0; j < PER_BATCH; j++) lines.push(`fault,batch=${batch} v=${j}i ${T0 + batch * PER_BATCH + j}`)
  const body = lines.join('\n') + '\n'
  for (let attempt = 0; attempt < 300; attempt++) {
    try {
      if ((await post(body)) === 204) return
    } catch {
      // mon is down (killed): try again
    }
    await new Promise((r) => setTimeout(r, 100))
  }
  throw new Error(`batch ${batch} was never accepted\n${monLog}`)
}

function spoolBytes(): number {
  const dir = join(tmp.dir, 'data', 'spool')
  return readdirSync(dir)
    .filter((f) => f.endsWith('.seg'))
    .reduce((n, f) => n + statSync(join(dir, f)).size, 0)
}

async function countInInflux(): Promise<number> {
  const res = await fetch(`${influx.url}/query?db=fault&q=${encodeURIComponent('SELECT count(v) FROM fault')}`)
  const body = (await res.json()) as {results: Array<{series?: Array<{values: number[][]}>}>}
  return body.results[0]?.series?.[0]?.values[0]?.[1] ?? 0
}

it(`${N} points pushed through an influxd outage and a SIGKILL arrive exactly once`, {timeout: 120_000}, async () => {
  await startMon()

  // A: everything up
  for (let b = 0; b < 10; b++) await push(b)

  // B: influxd down; the listener keeps accepting into the spool
  await influx.stop()
  for (let b = 10; b < 20; b++) await push(b)

  // C: influxd back; while the backlog replays and new batches arrive, mon is SIGKILLed
  assert.ok(spoolBytes() > 10 * PER_BATCH * 25, `the outage's points wait in the spool (${spoolBytes()} bytes)`)
  await influx.restart()
  const pushing = (async () => {
    for (let b = 20; b < BATCHES; b++) await push(b)
  })()
  await new Promise((r) => setTimeout(r, 50))
  mon!.kill('SIGKILL')
  await new Promise((r) => mon!.once('exit', r))
  const logBefore = monLog.length
  await startMon()
  await pushing
  await waitFor(async () => /unsent points? from an earlier run/.test(monLog.slice(logBefore)), 'recovery after SIGKILL', 10_000, mon, () => monLog)

  await waitFor(async () => (await countInInflux()) >= N, `count reaching ${N}`, 60_000, undefined, () => `count=${'?'}\n${monLog}`)
  // let anything still replaying land, then check nothing was doubled
  mon!.kill('SIGTERM')
  const code = await new Promise<number | null>((r) => mon!.once('exit', r))
  assert.equal(code, 0, monLog)
  assert.equal(await countInInflux(), N)
  assert.match(monLog, /wrote \d+ points/)
})
