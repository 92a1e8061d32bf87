/**
 * The embedded store's write thread in a real `mon daemon` (bin/run.js): bulk bodies pushed to
 * its listener are stored by the thread (its own connection), and stopping the daemon while the
 * spool still holds acknowledged bodies loses none of them — SIGKILLed mid-drain, and SIGTERMed
 * with a shutdown timeout too short to drain while another connection holds the store's write
 * lock (the thread waits its busy timeout, finishes what it was given once the lock goes, the
 * store closes, the spool keeps the rest). After a restart every acknowledged point is in the
 * store, once, with its value; queries through the daemon's API (the main thread's connection)
 * see it.
 */
import assert from 'node:assert/strict'
import {spawn, type ChildProcess} from 'node:child_process'
import {existsSync, readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import Database from 'better-sqlite3'
import {BIN} from '../helpers/cli.js'
import {freePort, tempDir, waitFor} from '../helpers/servers.js'

const LINES = 5000
const BODIES = 40
const T0 = 1_700_000_000_000
const TOKEN = 'write-thread-test'

let tmp: ReturnType<typeof tempDir>
let port: number
let config: string
let dataDir: string

before(async () => {
  tmp = tempDir('mon-write-thread-daemon-')
  port = await freePort()
  dataDir = join(tmp.dir, 'data')
  config = join(tmp.dir, 'mon.yaml')
  writeFileSync(
    config,
    `data_dir: ${dataDir}
agent: {self_metrics: false}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: "127.0.0.1:${port}", max_body: 64MiB}
spool: {fsync: batch}
retention: {raw: 3650d}
api: {listen: "127.0.0.1:0", token: ${TOKEN}}
log: {level: info}
`,
  )
})

after(() => tmp.cleanup())

interface Daemon {
  proc: ChildProcess
  api: string
  output: () => string
}

async function startDaemon(args: string[] = []): Promise<Daemon> {
  let out = ''
  const proc = spawn(process.execPath, [BIN, 'daemon', '--config', config, ...args], {env: {...process.env, MON_CONFIG: '', MON_API_TOKEN: '', NO_COLOR: '1'}, stdio: ['ignore', 'pipe', 'pipe']})
  proc.stdout!.on('data', (d) => (out = (out + d).slice(-50_000)))
  proc.stderr!.on('data', (d) => (out = (out + d).slice(-50_000)))
  const statusFile = join(dataDir, 'daemon.json')
  const status = () => JSON.parse(readFileSync(statusFile, 'utf8')) as {state?: string; pid?: number; api?: {url: string}}
  await waitFor(async () => existsSync(statusFile) && status().state === 'running' && status().pid === proc.pid, 'mon daemon running', 60_000, proc, () => out)
  await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 'mon listener', 30_000, proc, () => out)
  return {proc, api: status().api!.url, output: () => out}
}

/** Body `b` of a burst: LINES lines of `measurement`, 100 series, fields a (the line's number), b and c. */
function body(measurement: string, b: number): Buffer {
  let text = ''
  for (let i = 0; i < LINES; i++) {
    const n = b * LINES + i
    text += `${measurement},host=host-${n % 10},cpu=cpu-${Math.floor(n / 10) % 10} a=${n},b=${(n % 977) / 8},c=${n % 13}.25 ${T0 + Math.floor(n / 100) * 1000}\n`
  }
  return Buffer.from(text)
}

/** POSTs every body, 4 at a time; resolves once each was answered 204 (acknowledged: in the spool). */
async function push(measurement: string): Promise<void> {
  let next = 0
  const one = async (): Promise<void> => {
    for (let b = next++; b < BODIES; b = next++) {
      const res = await fetch(`http://127.0.0.1:${port}/write?precision=ms`, {method: 'POST', body: body(measurement, b)})
      assert.equal(res.status, 204, await res.text())
    }
  }
  await Promise.all([one(), one(), one(), one()])
}

async function scalar(api: string, query: string): Promise<number> {
  const res = await fetch(`${api}/api/v1/query?${new URLSearchParams({query, time: String((T0 + 86_400_000) / 1000)})}`, {headers: {authorization: `Bearer ${TOKEN}`}})
  const json = (await res.json()) as {status: string; error?: string; data?: {result: Array<{value: [number, string]}>}}
  assert.equal(json.status, 'success', json.error)
  return Number(json.data?.result[0]?.value[1] ?? 0)
}

function exited(proc: ChildProcess): Promise<{code: number | null; signal: NodeJS.Signals | null}> {
  if (proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve({code: proc.exitCode, signal: proc.signalCode})
  return new Promise((resolve) => proc.once('exit', (code, signal) => resolve({code, signal})))
}

const total = BODIES * LINES
/** the sum of field `a` over a burst: every line's number once */
const sumA = (total * (total - 1)) / 2

async function assertAll(d: Daemon, measurement: string): Promise<void> {
  const window = `[2d]`
  let n = 0
  await waitFor(async () => (n = await scalar(d.api, `sum(count_over_time(${measurement}.a${window}))`)) === total, `${measurement}: all ${total} points stored`, 60_000, d.proc, () => `${n} stored\n${d.output()}`)
  assert.equal(await scalar(d.api, `sum(count_over_time(${measurement}.c${window}))`), total)
  assert.equal(await scalar(d.api, `sum(sum_over_time(${measurement}.a${window}))`), sumA)
}

it('acknowledged bulk pushes survive a SIGKILL and a SIGTERM mid-drain (the write thread stops cleanly), all there after a restart', {timeout: 240_000}, async () => {
  // 1: pushed, then SIGKILLed at once: the thread is killed mid-write, the spool keeps the rest
  let d = await startDaemon()
  await push('killed')
  d.proc.kill('SIGKILL')
  await exited(d.proc)

  // 2: the restart replays the spool; another burst, then SIGTERM with no time to drain it
  d = await startDaemon(['--shutdown-timeout', '1ms'])
  await assertAll(d, 'killed')
  // another process's write transaction: the thread's writes wait on it, the spool fills
  const lock = new Database(join(dataDir, 'mon.db'))
  lock.exec('BEGIN IMMEDIATE')
  await push('stopped')
  d.proc.kill('SIGTERM')
  // the writer gives up on its batches in flight after 2 s; the store's close waits for the thread
  await new Promise((r) => setTimeout(r, 3000))
  lock.exec('ROLLBACK')
  lock.close()
  const stop = await exited(d.proc)
  assert.deepEqual(stop, {code: 0, signal: null}, d.output())
  const stopped = /"msg":"daemon stopped".*"pendingInSpool":(\d+)/.exec(d.output())
  assert.ok(stopped && Number(stopped[1]) > 0, `the daemon stopped with a backlog in the spool:\n${d.output()}`)
  assert.doesNotMatch(d.output(), /write thread exited/)

  // 3: the next run has every acknowledged point of both, once
  d = await startDaemon()
  try {
    await assertAll(d, 'stopped')
    await assertAll(d, 'killed')
    assert.doesNotMatch(d.output(), /SQLITE_BUSY|database is locked|write thread exited/)
  } finally {
    d.proc.kill('SIGTERM')
    await exited(d.proc)
  }
})
