/**
 * Slow clients cannot starve the push listener. The real `mon collect` runs with 1,024 open files
 * (`ulimit -n 1024`, a common default) while 1,100 connections from another loopback address
 * (127.0.0.2: one misbehaving host) send request headers a byte a second and never finish them.
 * Legitimate writes from 127.0.0.1 must keep succeeding meanwhile: the per-source cap
 * (max_connections_per_source, 256 by default) closes the 844 beyond it at once — without it the
 * listener runs out of file descriptors and accept() resets everyone ("socket hang up") — and
 * header_timeout (10 s by default) closes the trickling ones it took.
 */
import assert from 'node:assert/strict'
import {spawn} from 'node:child_process'
import {readFileSync, writeFileSync} from 'node:fs'
import {request} from 'node:http'
import {connect, type Socket} from 'node:net'
import {join} from 'node:path'
import {after, before, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {createApiServer} from '../../src/core/daemon/api.js'
import {serverSocketOptions} from '../../src/core/server/socket.js'
import {BIN} from '../helpers/cli.js'
import {freePort, tempDir, waitFor} from '../helpers/servers.js'

const SLOW_CLIENTS = 1100
const LEGIT_WRITES = 100
const LISTENER_FILE_LIMIT = 1024
const PER_SOURCE_CAP = 256 // the default of inputs.listener.max_connections_per_source

let tmp: ReturnType<typeof tempDir>
before(() => {
  tmp = tempDir('mon-chaos-slow-')
})
after(() => tmp.cleanup())

/** The soft open-files limit of this process (it holds the 1,100 client sockets). */
function openFileLimit(): number {
  const line = readFileSync('/proc/self/limits', 'utf8').split('\n').find((l) => l.startsWith('Max open files'))
  if (!line) throw new Error('cannot read the open-files limit from /proc/self/limits')
  const soft = line.split(/\s{2,}/)[1]!
  return soft === 'unlimited' ? Number.POSITIVE_INFINITY : Number(soft)
}

interface SlowClient {
  socket: Socket
  connected: boolean
  closed: boolean
}

async function openSlowClients(port: number, n: number): Promise<SlowClient[]> {
  const out: SlowClient[] = []
  for (let i = 0; i < n; i += 100) out.push(...(await Promise.all(Array.from({length: Math.min(100, n - i)}, () => openSlowClient(port)))))
  return out
}

/** A connection from 127.0.0.2 that starts a request and sends its headers a byte at a time (the caller trickles); `silent`: from 127.0.0.3, sending nothing at all. */
function openSlowClient(port: number, silent = false): Promise<SlowClient> {
  return new Promise((resolve) => {
    const socket = connect({host: '127.0.0.1', port, localAddress: silent ? '127.0.0.3' : '127.0.0.2'})
    const client: SlowClient = {socket, connected: false, closed: false}
    socket.on('error', () => {}) // a reset is one of the expected ends
    socket.once('connect', () => {
      client.connected = true
      if (!silent) socket.write('POST /write HTTP/1.1\r\nHost: listener\r\nX-Slow: ')
      resolve(client)
    })
    socket.once('close', () => {
      client.closed = true
      resolve(client)
    })
  })
}

function write(port: number, body: string): Promise<number | string> {
  return new Promise((resolve) => {
    const req = request({host: '127.0.0.1', port, path: '/write?precision=s', method: 'POST', agent: false, localAddress: '127.0.0.1'}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', (err) => resolve(err.message))
    req.end(body)
  })
}

it(`${SLOW_CLIENTS} trickling connections from one host: legitimate writes keep succeeding`, {timeout: 180_000}, async (t) => {
  const limit = openFileLimit()
  if (limit < SLOW_CLIENTS + 200) throw new Error(`this test holds ${SLOW_CLIENTS} sockets but may open only ${limit} files: raise the limit (ulimit -n 4096) and run it again`)
  const port = await freePort()
  const file = join(tmp.dir, 'mon.yaml')
  writeFileSync(
    file,
    `data_dir: ${tmp.dir}/data
host: box
agent: {self_metrics: false, flush_interval: 100ms}
inputs:
  host: {enabled: false}
  listener: {enabled: true, listen: "127.0.0.1:${port}"}
`,
  )
  // the listener's process gets the file limit many hosts start with
  const child = spawn('/bin/sh', ['-c', `ulimit -n ${LISTENER_FILE_LIMIT} && exec "$0" "$@"`, process.execPath, BIN, 'collect', '--config', file, '--json'], {
    env: {...process.env, MON_CONFIG: '', NO_COLOR: '1'},
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  let err = ''
  child.stdout.on('data', (d) => (out += d))
  child.stderr.on('data', (d) => (err += d))
  const slow: SlowClient[] = []
  let trickle: NodeJS.Timeout | undefined
  try {
    await waitFor(async () => (await fetch(`http://127.0.0.1:${port}/ping`)).status === 204, 'listener', 30_000, child, () => err)

    slow.push(...(await openSlowClients(port, SLOW_CLIENTS)))
    // a byte a second: never a whole header, never idle
    trickle = setInterval(() => {
      for (const c of slow) if (!c.closed) c.socket.write('a')
    }, 1000)
    const open = () => slow.filter((c) => !c.closed).length
    const openAtStart = open()

    const statuses: Array<number | string> = []
    for (let i = 0; i < LEGIT_WRITES; i++) statuses.push(await write(port, `chaos_slow,src=legit n=${i}i ${1767614400 + i}\n`))
    const openAtEnd = open()
    const ok = statuses.filter((s) => s === 204).length
    t.diagnostic(`${SLOW_CLIENTS} slow connections from 127.0.0.2: ${openAtStart} open as the legitimate writes began, ${openAtEnd} as they ended`)
    t.diagnostic(`legitimate writes from 127.0.0.1: ${ok}/${LEGIT_WRITES} answered 204${ok < LEGIT_WRITES ? `; the others: ${JSON.stringify([...new Set(statuses.filter((s) => s !== 204))])}` : ''}`)
    assert.equal(ok, LEGIT_WRITES, 'every legitimate write succeeds')

    // the listener closed those beyond the cap at once (the client may see it a little later)
    await waitFor(async () => open() <= PER_SOURCE_CAP, 'slow connections beyond the per-source cap closed', 30_000, child, () => err)
    const held = open()
    t.diagnostic(`per-source cap: ${SLOW_CLIENTS - held} closed at once, ${held} held`)
    assert.ok(held > 0, 'the listener took some (up to the cap) and left them to header_timeout')

    // header_timeout: the ones it took are closed although they keep sending
    await waitFor(async () => slow.every((c) => c.closed), 'trickling connections closed by header_timeout', 60_000, child, () => err)
    t.diagnostic(`all ${SLOW_CLIENTS} slow connections closed by the listener (cap or header_timeout)`)
  } finally {
    clearInterval(trickle)
    for (const c of slow) c.socket.destroy()
    if (child.exitCode === null) child.kill('SIGTERM')
  }
  const code = child.exitCode ?? (await new Promise<number | null>((r) => child.once('exit', r)))
  assert.equal(code, 0, err)
  const result = JSON.parse(out) as {inputs: Array<{name: string; written: number}>}
  assert.equal(result.inputs.find((i) => i.name === 'listener')!.written, LEGIT_WRITES, 'every acknowledged point is in the store')
})

it('the daemon API has the same limits: its per-source cap and header_timeout (1s here) hold 100 trickling and 10 silent connections', {timeout: 150_000}, async (t) => {
  const {config} = parseConfigText('api:\n  listen: 127.0.0.1:0\n  header_timeout: 1s\n  max_connections_per_source: 10\n', '<test>', {})
  const api = createApiServer({listen: config.api.listen, clock: systemClock, socket: serverSocketOptions('api', config.api)})
  api.route('GET', '/healthz', () => ({json: {status: 'ok'}}), {auth: false})
  const {port, url} = await api.listen()
  const slow = await openSlowClients(port, 100)
  const silent = await Promise.all(Array.from({length: 10}, () => openSlowClient(port, true)))
  const trickle = setInterval(() => {
    for (const c of slow) if (!c.closed) c.socket.write('a')
  }, 200)
  try {
    const statuses: number[] = []
    for (let i = 0; i < 20; i++) statuses.push((await fetch(`${url}/healthz`)).status)
    assert.deepEqual(new Set(statuses), new Set([200]), 'requests from another address are answered')
    await waitFor(async () => slow.filter((c) => !c.closed).length <= 10, 'API: slow connections beyond the per-source cap closed', 10_000)
    const held = slow.filter((c) => !c.closed).length
    await waitFor(async () => slow.every((c) => c.closed), 'API: trickling connections closed by header_timeout', 60_000)
    await waitFor(async () => silent.every((c) => c.closed), 'API: connections that never send a byte closed by header_timeout', 60_000)
    t.diagnostic(`api: 100 slow connections from 127.0.0.2 → ${100 - held} closed at once, ${held} later by header_timeout; 10 silent ones closed by header_timeout; ${statuses.length}/20 requests from 127.0.0.1 answered 200`)
  } finally {
    clearInterval(trickle)
    for (const c of [...slow, ...silent]) c.socket.destroy()
    await api.close()
  }
})
