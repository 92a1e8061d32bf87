/**
 * The push listener end to end, in process: real HTTP on loopback → listener → disk spool →
 * writer → the embedded store. Malformed lines, oversized bodies, bad gzip and wrong tokens get
 * clear 4xx answers, and the listener keeps serving.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {join} from 'node:path'
import {gzipSync} from 'node:zlib'
import {after, before, describe, it} from 'node:test'
import {systemClock} from '../../src/core/clock.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {createAgent, type Agent} from '../../src/core/pipeline/agent.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from '../helpers/servers.js'

const TOKEN = 's3cret-token'
let tmp: ReturnType<typeof tempDir>
let store: SqliteStore
let agent: Agent
let base: string

before(async () => {
  tmp = tempDir('mon-listener-')
  const {config} = parseConfigText(
    `data_dir: ${tmp.dir}
host: collector-1
global_tags: {dc: east}
agent: {self_metrics: false, flush_interval: 50ms}
inputs:
  host: {enabled: false}
  listener:
    enabled: true
    listen: 127.0.0.1:0
    token: ${TOKEN}
    max_body: 4KiB
spool: {fsync: batch}
`,
    '<test>',
    {},
  )
  store = new SqliteStore({path: join(tmp.dir, 'mon.db')})
  agent = await createAgent({config, dataDir: tmp.dir, store, clock: systemClock})
  await agent.start()
  const a = agent.listenerAddress!
  assert.equal(a.host, '127.0.0.1')
  assert.ok(a.port > 0, 'port 0 binds a free port and reports it')
  base = `http://127.0.0.1:${a.port}`
})

after(async () => {
  await agent?.stop(5000)
  await store?.close()
  tmp?.cleanup()
})

interface Reply {
  status: number
  headers: Record<string, string | string[] | undefined>
  body: string
}

/** A raw request (fetch would hide Content-Length games and chunking). */
function send(path: string, body: Buffer | string, headers: Record<string, string> = {}, method = 'POST'): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(`${base}${path}`, {method, headers: {authorization: `Token ${TOKEN}`, ...headers}}, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, headers: res.headers, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function count(measurement: string, field = 'v'): Promise<number> {
  const frames = await store.query({measurement, field, matchers: [], start: 0, end: Date.now() + 86_400_000})
  return frames.reduce((n, f) => n + f.rows.length, 0)
}

describe('listener', () => {
  it('answers /ping like InfluxDB', async () => {
    const r = await send('/ping', '', {}, 'GET')
    assert.equal(r.status, 204)
    assert.ok(r.headers['x-influxdb-version'])
    assert.equal((await send('/health', '', {}, 'GET')).status, 200)
  })

  it('v1 /write and v2 /api/v2/write store the points with their own timestamps', async () => {
    const v1 = await send('/write?db=anything&precision=s', 'cpu,host=web-1 v=1 1700000000\ncpu,host=web-1 v=2 1700000010\n')
    assert.equal(v1.status, 204, v1.body)
    const v2 = await send('/api/v2/write?org=o&bucket=b&precision=ns', 'cpu,host=web-2 v=3 1700000000123456789')
    assert.equal(v2.status, 204, v2.body)
    assert.equal(await agent.flushNow(5000), true)
    const frames = await store.query({measurement: 'cpu', field: 'v', matchers: [], start: 0, end: 2e12})
    const byHost = Object.fromEntries(frames.map((f) => [f.tags.host, f.rows.map((r) => [r[0], r[1]])]))
    assert.deepEqual(byHost['web-1'], [[1_700_000_000_000, 1], [1_700_000_010_000, 2]])
    assert.deepEqual(byHost['web-2'], [[1_700_000_000_123, 3]])
  })

  it('adds host and global tags to points that lack them, and the time of arrival to lines without one', async () => {
    const before = Date.now()
    assert.equal((await send('/write', 'deploys,service=api v=1')).status, 204)
    await agent.flushNow(5000)
    const [frame] = await store.query({measurement: 'deploys', field: 'v', matchers: [], start: 0, end: 2e12})
    assert.deepEqual(frame!.tags, {dc: 'east', host: 'collector-1', service: 'api'})
    assert.ok((frame!.rows[0]![0] as number) >= before - 1000)
  })

  it('partial write: keeps the valid lines, answers 400 naming the first bad line and why', async () => {
    const r = await send('/write?precision=s', 'mixed v=1 1\nmixed v= 2\nmixed v=3 3\nmixed,bad v=4 4\n')
    assert.equal(r.status, 400)
    const body = JSON.parse(r.body) as {error: string; message: string; line: number}
    assert.match(body.error, /^partial write: line 2:\d+: .+: 'mixed v= 2'; 1 more bad line \(2 points written, 2 lines rejected\) dropped=2$/)
    assert.equal(body.message, body.error)
    assert.equal(body.line, 2)
    await agent.flushNow(5000)
    assert.equal(await count('mixed'), 2)
  })

  it('all lines bad: 400 "unable to parse", nothing stored', async () => {
    const r = await send('/write', 'nofields\n')
    assert.equal(r.status, 400)
    assert.match(JSON.parse(r.body).error, /^unable to parse: line 1:/)
  })

  it('wrong or missing token: 401; v1 p= and Basic work', async () => {
    assert.equal((await send('/write', 'auth v=1 1', {authorization: 'Token wrong'})).status, 401)
    assert.equal((await send('/write', 'auth v=1 1', {authorization: ''})).status, 401)
    assert.equal((await send('/api/v2/write', 'auth v=1 1', {authorization: ''})).status, 401)
    assert.equal((await send(`/write?u=me&p=${TOKEN}`, 'auth v=1 1', {authorization: ''})).status, 204)
    assert.equal((await send('/write', 'auth v=2 2', {authorization: `Basic ${Buffer.from(`me:${TOKEN}`).toString('base64')}`})).status, 204)
    assert.equal((await send('/api/v2/write', 'auth v=3 3', {authorization: `Bearer ${TOKEN}`})).status, 204)
    assert.equal(agent.status().listener!.unauthorized, 3)
  })

  it('gzip bodies are accepted; a bad gzip body is a 400', async () => {
    assert.equal((await send('/write', gzipSync('zipped v=1 1\nzipped v=2 2\n'), {'content-encoding': 'gzip'})).status, 204)
    const bad = await send('/write', Buffer.from('definitely not gzip'), {'content-encoding': 'gzip'})
    assert.equal(bad.status, 400)
    assert.match(JSON.parse(bad.body).error, /^invalid gzip body/)
    assert.equal((await send('/write', 'x v=1', {'content-encoding': 'br'})).status, 415)
  })

  it('oversized bodies get 413, before and after decompression', async () => {
    const big = 'big v=1 1\n'.repeat(1000) // 10 KB > 4 KiB
    const r = await send('/write', big)
    assert.equal(r.status, 413)
    assert.match(JSON.parse(r.body).error, /larger than max_body \(4096 bytes\)/)
    const chunked = await send('/write', big, {'transfer-encoding': 'chunked'})
    assert.equal(chunked.status, 413)
    const bomb = await send('/write', gzipSync(big), {'content-encoding': 'gzip'})
    assert.equal(bomb.status, 413)
    assert.match(JSON.parse(bomb.body).error, /decompressed body/)
  })

  it('bad precision, wrong method and unknown paths are clear 4xx answers', async () => {
    assert.match(JSON.parse((await send('/write?precision=x', 'p v=1 1')).body).error, /invalid precision "x"/)
    assert.equal((await send('/api/v2/write?precision=h', 'p v=1 1')).status, 400)
    assert.equal((await send('/write', '', {}, 'GET')).status, 405)
    assert.equal((await send('/nope', '')).status, 404)
  })

  it('keeps serving after all that', async () => {
    assert.equal((await send('/write', 'after v=1 1')).status, 204)
    await agent.flushNow(5000)
    assert.equal(await count('after'), 1)
    const st = agent.status()
    assert.ok(st.listener!.badRequests >= 4)
    assert.equal(st.listener!.tooLarge, 3)
    assert.equal(st.spool.records, 0, 'everything acknowledged reached the store')
  })
})
