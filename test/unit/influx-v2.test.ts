/**
 * The InfluxDB 2.x requests no local server can answer for real (Flux, the v1-compatible /query
 * with a token, bucket creation, the v2 write with org/bucket/token): checked as they arrive at a
 * loopback HTTP server that records them and answers the way InfluxDB 2.x does.
 */
import assert from 'node:assert/strict'
import {createServer, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, beforeEach, describe, it} from 'node:test'
import {gunzipSync} from 'node:zlib'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import {InfluxQueryError} from '../../src/core/store/influx/errors.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {InfluxWriteRejected} from '../../src/core/store/influx/write.js'

interface Seen {
  method: string
  path: string
  query: URLSearchParams
  headers: IncomingMessage['headers']
  body: string
}

type Handler = (req: Seen, res: ServerResponse) => void

const FLUX_CSV = [
  '#datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string,string',
  '#group,false,false,true,true,false,false,true,true,true',
  '#default,_result,,,,,,,,',
  ',result,table,_start,_stop,_time,_value,_field,_measurement,host',
  ',,0,2026-11-25T08:00:00Z,2026-11-25T09:00:00Z,2026-11-25T08:10:00Z,41.5,used_percent,mem,a',
  ',,0,2026-11-25T08:00:00Z,2026-11-25T09:00:00Z,2026-11-25T08:20:00Z,42.5,used_percent,mem,a',
  ',,1,2026-11-25T08:00:00Z,2026-11-25T09:00:00Z,2026-11-25T08:10:00Z,12,used_percent,mem,b',
  '',
].join('\r\n')

describe('InfluxDB 2.x requests', () => {
  let server: Server
  let url: string
  let seen: Seen[] = []
  let handler: Handler

  before(async () => {
    server = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (d: Buffer) => chunks.push(d))
      req.on('end', () => {
        let raw = Buffer.concat(chunks)
        if (req.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw)
        const u = new URL(req.url ?? '/', 'http://x')
        const s: Seen = {method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: raw.toString('utf8')}
        seen.push(s)
        if (s.path === '/ping') {
          res.writeHead(204, {'X-Influxdb-Version': 'v2.7.10', 'X-Influxdb-Build': 'OSS'}).end()
          return
        }

        handler(s, res)
      })
    })
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`
  })

  after(() => new Promise<void>((resolve) => server.close(() => resolve())))
  beforeEach(() => {
    seen = []
  })

  const store = (extra: Record<string, unknown> = {}) =>
    new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url, org: 'acme', bucket: 'metrics', token: 's3cr3t-token', ...extra}), {sleep: async () => {}})

  it('detects 2.x from /ping and writes through /api/v2/write with org, bucket, precision and the token', async () => {
    handler = (_req, res) => res.writeHead(204).end()
    const s = store({gzip: true})
    const points = Array.from({length: 300}, (_, i) => ({measurement: 'cpu', tags: {host: 'a b'}, fields: {usage: i + 0.5, n: BigInt(i)}, ts: 1_764_000_000_000 + i}))
    await s.write(points)
    assert.equal((await s.ready()).api, 2)
    const writes = seen.filter((r) => r.path === '/api/v2/write')
    assert.equal(writes.length, 1)
    const w = writes[0]
    assert.equal(w.method, 'POST')
    assert.equal(w.query.get('org'), 'acme')
    assert.equal(w.query.get('bucket'), 'metrics')
    assert.equal(w.query.get('precision'), 'ms')
    assert.equal(w.headers.authorization, 'Token s3cr3t-token')
    assert.equal(w.headers['content-encoding'], 'gzip')
    const lines = w.body.split('\n')
    assert.equal(lines.length, 300)
    assert.equal(lines[0], 'cpu,host=a\\ b usage=0.5,n=0i 1764000000000')
    await s.close()
  })

  it('splits a write into batches of batch_size and sends them all', async () => {
    handler = (_req, res) => res.writeHead(204).end()
    const s = store({batch_size: 100, gzip: false})
    await s.write(Array.from({length: 250}, (_, i) => ({measurement: 'm', tags: {}, fields: {v: i}, ts: i})))
    const bodies = seen.filter((r) => r.path === '/api/v2/write').map((r) => r.body.split('\n').length)
    assert.deepEqual(bodies.sort((a, b) => a - b), [50, 100, 100])
    await s.close()
  })

  it('retries a 503 with Retry-After, then succeeds', async () => {
    let n = 0
    handler = (_req, res) => {
      if (++n <= 2) res.writeHead(503, {'Retry-After': '2', 'Content-Type': 'application/json'}).end('{"code":"unavailable","message":"busy"}')
      else res.writeHead(204).end()
    }

    const waits: number[] = []
    const s = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url, org: 'acme', bucket: 'metrics', token: 't0ken'}), {
      sleep: async (ms) => void waits.push(ms),
      random: () => 0,
    })
    await s.write([{measurement: 'm', tags: {}, fields: {v: 1}, ts: 1}])
    assert.equal(seen.filter((r) => r.path === '/api/v2/write').length, 3)
    assert.deepEqual(waits, [2000, 2000])
    await s.close()
  })

  it('a 400 is reported with the rejected line and not retried', async () => {
    handler = (_req, res) =>
      res.writeHead(400, {'Content-Type': 'application/json'}).end(JSON.stringify({code: 'invalid', message: 'unable to parse points: line 2: field type conflict', line: 2}))
    const s = store()
    const err = await s
      .write([
        {measurement: 'm', tags: {}, fields: {v: 1}, ts: 1},
        {measurement: 'm', tags: {}, fields: {v: 'x'}, ts: 2},
      ])
      .catch((e: unknown) => e)
    assert.ok(err instanceof InfluxWriteRejected, String(err))
    assert.deepEqual(err.rejectedLines, ['m v="x" 2'])
    assert.equal(seen.filter((r) => r.path === '/api/v2/write').length, 1)
    await s.close()
  })

  it('a 401 names the URL and the token, not the token value', async () => {
    handler = (_req, res) => res.writeHead(401, {'Content-Type': 'application/json'}).end('{"code":"unauthorized","message":"unauthorized access"}')
    const s = store()
    const err = (await s.write([{measurement: 'm', tags: {}, fields: {v: 1}, ts: 1}]).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    )) as Error & {hint?: string}
    assert.match(err.message, new RegExp(`InfluxDB at ${url} refused the credentials for write \\(401: unauthorized access\\)`))
    assert.match(err.hint ?? '', /store\.token/)
    assert.doesNotMatch(`${err.message} ${err.hint}`, /s3cr3t/)
    await s.close()
  })

  it('queries InfluxQL through the v1-compatible /query with db=bucket and the token', async () => {
    handler = (_req, res) =>
      res
        .writeHead(200, {'Content-Type': 'application/json'})
        .end('{"results":[{"statement_id":0,"series":[{"name":"cpu","tags":{"host":"a"},"columns":["time","mean"],"values":[[0,12.5]]}]}]}\n')
    const s = store()
    const frames = await s.query({measurement: 'cpu', field: 'usage', matchers: [], start: 60_000, end: 120_000, aggregate: {fn: 'mean', by: ['host']}})
    assert.deepEqual(frames, [{name: 'cpu', tags: {host: 'a'}, columns: ['time', 'mean'], rows: [[60_000, 12.5]]}])
    const q = seen.find((r) => r.path === '/query')!
    assert.equal(q.method, 'POST')
    assert.equal(q.query.get('db'), 'metrics')
    assert.equal(q.query.get('epoch'), 'ms')
    assert.equal(q.headers.authorization, 'Token s3cr3t-token')
    assert.equal(new URLSearchParams(q.body).get('q'), 'SELECT mean("usage"::field) FROM "cpu" WHERE time >= 60000ms AND time < 120000ms GROUP BY "host"')
    await s.close()
  })

  it('runs Flux through the client QueryApi (POST /api/v2/query?org=) and returns one table per series', async () => {
    handler = (_req, res) => res.writeHead(200, {'Content-Type': 'text/csv; charset=utf-8'}).end(FLUX_CSV)
    const s = store()
    const flux = 'from(bucket: "metrics") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "mem")'
    const result = await s.flux(flux)
    const q = seen.find((r) => r.path === '/api/v2/query')!
    assert.equal(q.method, 'POST')
    assert.equal(q.query.get('org'), 'acme')
    assert.equal(q.headers.authorization, 'Token s3cr3t-token')
    const body = JSON.parse(q.body) as {query: string; type?: string}
    assert.equal(body.query, flux)
    assert.deepEqual(result.series, [
      {name: 'mem', tags: {_field: 'used_percent', host: 'a'}, columns: ['_time', '_value'], values: [['2026-11-25T08:10:00Z', 41.5], ['2026-11-25T08:20:00Z', 42.5]]},
      {name: 'mem', tags: {_field: 'used_percent', host: 'b'}, columns: ['_time', '_value'], values: [['2026-11-25T08:10:00Z', 12]]},
    ])
    await s.close()
  })

  it('shows the Flux error InfluxDB returns', async () => {
    handler = (_req, res) => res.writeHead(400, {'Content-Type': 'application/json'}).end('{"code":"invalid","message":"compilation failed: error at @1:1-1:5: undefined identifier frum"}')
    const s = store()
    const err = await s.flux('frum(bucket: "x")').catch((e: unknown) => e)
    assert.ok(err instanceof InfluxQueryError)
    assert.match(err.message, /rejected the query: compilation failed: error at @1:1-1:5: undefined identifier frum/)
    await s.close()
  })

  it('init creates a missing bucket in the org', async () => {
    handler = (req, res) => {
      if (req.path === '/api/v2/buckets' && req.method === 'GET') res.writeHead(200, {'Content-Type': 'application/json'}).end('{"buckets":[]}')
      else if (req.path === '/api/v2/orgs') res.writeHead(200, {'Content-Type': 'application/json'}).end('{"orgs":[{"id":"0a1b2c","name":"acme"}]}')
      else if (req.path === '/api/v2/buckets' && req.method === 'POST') res.writeHead(201, {'Content-Type': 'application/json'}).end('{"id":"b1","name":"metrics"}')
      else res.writeHead(404).end()
    }

    const s = store()
    const result = await s.init()
    assert.equal(result.created, true)
    assert.equal(result.database, 'metrics')
    const get = seen.find((r) => r.path === '/api/v2/buckets' && r.method === 'GET')!
    assert.equal(get.query.get('name'), 'metrics')
    assert.equal(get.query.get('org'), 'acme')
    const post = seen.find((r) => r.path === '/api/v2/buckets' && r.method === 'POST')!
    assert.deepEqual(JSON.parse(post.body), {orgID: '0a1b2c', name: 'metrics', retentionRules: []})
    assert.equal(post.headers.authorization, 'Token s3cr3t-token')
    await s.close()
  })

  it('init leaves an existing bucket alone', async () => {
    handler = (_req, res) => res.writeHead(200, {'Content-Type': 'application/json'}).end('{"buckets":[{"id":"b1","name":"metrics"}]}')
    const s = store()
    assert.equal((await s.init()).created, false)
    assert.equal(seen.filter((r) => r.method === 'POST').length, 0)
    await s.close()
  })

  it('2.x without a bucket is a configuration error', async () => {
    const s = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url, token: 'x'}))
    await assert.rejects(s.ready(), /speaks the 2\.x API \(version v2\.7\.10\), which needs store\.bucket/)
    await s.close()
  })
})
