/**
 * Write failures against real servers: a loopback HTTP proxy in front of a real influxd answers
 * 503/429/413 or drops connections when told to and forwards the rest; a real influxd refuses a
 * field type conflict. The retry waits are recorded, not slept.
 */
import assert from 'node:assert/strict'
import {createServer, request, type IncomingMessage, type Server, type ServerResponse} from 'node:http'
import type {AddressInfo} from 'node:net'
import {after, before, beforeEach, describe, it} from 'node:test'
import {gunzipSync} from 'node:zlib'
import {influxStoreSchema} from '../../src/core/config/schema.js'
import type {Point} from '../../src/core/model/point.js'
import {InfluxError} from '../../src/core/store/influx/errors.js'
import {InfluxStore} from '../../src/core/store/influx/store.js'
import {InfluxWriteRejected} from '../../src/core/store/influx/write.js'
import {startInfluxd, type RunningServer} from '../helpers/servers.js'

/** What the proxy does with the next /write: answer it itself, or forward it to influxd. */
type Answer = {status: number; headers?: Record<string, string>; body?: string} | 'drop'
type Fault = Answer | ((req: IncomingMessage, body: Buffer) => Answer | 'forward')

describe('InfluxDB writes: retries, rejections, splitting', () => {
  let influxd: RunningServer
  let proxy: Server
  let proxyUrl: string
  let faults: Fault[] = []
  let writes = 0
  /** every /write the proxy got: its body (gunzipped) and the client port of its connection */
  let seen: Array<{body: string; port: number | undefined}> = []

  const forward = (req: IncomingMessage, body: Buffer, res: ServerResponse): void => {
    const up = request(`${influxd.url}${req.url}`, {method: req.method, headers: req.headers}, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers)
      r.pipe(res)
    })
    up.on('error', () => res.writeHead(502).end())
    up.end(body)
  }

  before(async () => {
    influxd = await startInfluxd()
    proxy = createServer((req, res) => {
      const chunks: Buffer[] = []
      req.on('data', (d: Buffer) => chunks.push(d))
      req.on('end', () => {
        const body = Buffer.concat(chunks)
        if (!req.url?.startsWith('/write')) return forward(req, body, res)
        writes++
        seen.push({body: (req.headers['content-encoding'] === 'gzip' ? gunzipSync(body) : body).toString(), port: req.socket.remotePort})
        const next = faults.shift()
        const fault = typeof next === 'function' ? next(req, body) : next
        if (fault === 'forward') return forward(req, body, res)

        if (fault === undefined) return forward(req, body, res)
        if (fault === 'drop') return req.socket.destroy()
        res.writeHead(fault.status, {'Content-Type': 'application/json', ...fault.headers}).end(fault.body ?? '{"error":"injected"}')
      })
    })
    await new Promise<void>((resolve) => proxy.listen(0, '127.0.0.1', resolve))
    proxyUrl = `http://127.0.0.1:${(proxy.address() as AddressInfo).port}`
    const setup = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'retry'}))
    await setup.init()
    await setup.close()
  })

  after(async () => {
    await new Promise<void>((resolve) => proxy?.close(() => resolve()))
    await influxd?.destroy()
  })

  beforeEach(() => {
    faults = []
    writes = 0
    seen = []
  })

  function store(extra: Record<string, unknown> = {}) {
    const waits: number[] = []
    const s = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: proxyUrl, database: 'retry', ...extra}), {
      sleep: async (ms) => void waits.push(ms),
      random: () => 0,
      retry: {jitter: 0},
    })
    return {s, waits}
  }

  const points = (measurement: string, n: number, value: (i: number) => Point['fields'][string] = (i) => i + 0.5): Point[] =>
    Array.from({length: n}, (_, i) => ({measurement, tags: {host: 'h1'}, fields: {v: value(i)}, ts: 1_764_000_000_000 + i * 1000}))

  async function count(measurement: string): Promise<number> {
    const s = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'retry'}))
    try {
      const [r] = await s.influxql(`SELECT count("v") FROM "${measurement}"`)
      return Number(r.series?.[0]?.values?.[0]?.[1] ?? 0)
    } finally {
      await s.close()
    }
  }

  it('503 with Retry-After twice, then written: waits what the server asked', async () => {
    faults = [
      {status: 503, headers: {'Retry-After': '1'}},
      {status: 503, headers: {'Retry-After': '3'}},
    ]
    const {s, waits} = store()
    await s.write(points('r503', 20))
    await s.close()
    assert.equal(writes, 3)
    assert.deepEqual(waits, [1000, 3000])
    assert.equal(await count('r503'), 20)
  })

  it('429 without Retry-After: exponential backoff', async () => {
    faults = [{status: 429}, {status: 429}, {status: 429}]
    const {s, waits} = store()
    await s.write(points('r429', 5))
    await s.close()
    assert.deepEqual(waits, [1000, 2000, 4000])
    assert.equal(await count('r429'), 5)
  })

  it('a dropped connection is retried', async () => {
    faults = ['drop', 'drop']
    const {s, waits} = store()
    await s.write(points('rdrop', 5))
    await s.close()
    assert.equal(writes, 3)
    assert.equal(waits.length, 2)
    assert.equal(await count('rdrop'), 5)
  })

  it('gives up after max_retries, naming the URL', async () => {
    faults = Array.from({length: 10}, () => ({status: 500, body: '{"error":"engine: disk full"}'}))
    const {s, waits} = store({max_retries: 2})
    const err = await s.write(points('rgiveup', 3)).catch((e: unknown) => e)
    await s.close()
    assert.ok(err instanceof InfluxError, String(err))
    assert.equal(err.retriable, true)
    assert.equal(err.message, `write to InfluxDB at ${proxyUrl} failed: 500 engine: disk full (gave up after 3 attempts)`)
    assert.equal(writes, 3)
    assert.deepEqual(waits, [1000, 2000])
  })

  it('gives up at the retry deadline when Retry-After is longer than what is left', async () => {
    faults = [{status: 503, headers: {'Retry-After': '120'}}]
    const {s, waits} = store({max_retry_time: '1m'})
    const err = (await s.write(points('rdeadline', 3)).then(
      () => assert.fail('expected a failure'),
      (e: unknown) => e,
    )) as Error
    await s.close()
    assert.match(err.message, /503 .*gave up after 1 attempt: the retry deadline store\.max_retry_time was reached/)
    assert.equal(writes, 1)
    assert.deepEqual(waits, [])
  })

  it('a field type conflict from a real influxd: the rejected line is listed, nothing retried, the rest written', async () => {
    const {s} = store()
    await s.write(points('conflict', 3))
    writes = 0
    const mixed: Point[] = [...points('conflict', 2).map((p) => ({...p, ts: p.ts + 100_000})), {measurement: 'conflict', tags: {host: 'h2'}, fields: {v: 7n}, ts: 1_764_000_500_000}]
    const err = await s.write(mixed).catch((e: unknown) => e)
    await s.close()
    assert.ok(err instanceof InfluxWriteRejected, String(err))
    assert.equal(writes, 1)
    assert.deepEqual(err.rejectedLines, ['conflict,host=h2 v=7i 1764000500000'])
    assert.match(err.message, /rejected 1 of 3 points \(400\): field type conflict: input field "v" on measurement "conflict" is type integer, already exists as type float/)
    assert.match(err.hint ?? '', /other points were written/)
    assert.equal(await count('conflict'), 5)
  })

  it('a server that always answers 400 is asked once', async () => {
    faults = [{status: 400, body: `{"error":"unable to parse 'bad400 v=1.5 1764000000000': invalid field format"}`}]
    const {s, waits} = store()
    const err = await s.write(points('bad400', 1)).catch((e: unknown) => e)
    await s.close()
    assert.ok(err instanceof InfluxWriteRejected)
    assert.equal(writes, 1)
    assert.deepEqual(waits, [])
    assert.deepEqual(err.rejectedLines, ['bad400 v=1.5 1764000000000'])
  })

  it('413: the batch is split in halves until it fits', async () => {
    const tooBig = (req: IncomingMessage, body: Buffer): Answer | 'forward' => {
      // a body of more than 4 lines is "too large" for this server
      const text = req.headers['content-encoding'] === 'gzip' ? gunzipSync(body).toString() : body.toString()
      const lines = text.trim().split('\n').length
      return lines > 4 ? {status: 413, body: '{"error":"Request Entity Too Large"}'} : 'forward'
    }
    faults = Array.from({length: 20}, () => tooBig)
    const {s} = store({batch_size: 16})
    await s.write(points('split', 16))
    await s.close()
    // 16 → 2×8 → 4×4: 1 + 2 + 4 requests
    assert.equal(writes, 7)
    assert.equal(await count('split'), 16)
  })

  it('points line protocol cannot carry are reported; the others are written', async () => {
    const {s} = store()
    const mixed: Point[] = [...points('unwritable', 4), {measurement: 'unwritable', tags: {host: 'h1'}, fields: {v: Number.NaN}, ts: 1_764_000_900_000}]
    const err = await s.write(mixed).catch((e: unknown) => e)
    await s.close()
    assert.ok(err instanceof InfluxWriteRejected, String(err))
    assert.match(err.message, new RegExp(`^1 of 5 points for InfluxDB at ${proxyUrl} cannot be written as line protocol$`))
    assert.match(err.details ?? '', /rejected: unwritable \{"host":"h1"\} \{"v":null\} 1764000900000 {2}\(cannot write point "unwritable" as line protocol: field "v" is NaN/)
    assert.equal(await count('unwritable'), 4)
  })

  it('writeLineProtocol sends spooled text as it is, in batches, with its precision', async () => {
    const {s} = store({batch_size: 2})
    const text = 'spooled,host=h1 v=1,s="two\nlines" 1764000000\n# a comment\n\nspooled,host=h1 v=2 1764000001\r\nspooled,host=h2 v=3 1764000002\n'
    await s.writeLineProtocol(text, 's')
    await s.close()
    assert.equal(writes, 2)
    const check = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'retry'}))
    const [r] = await check.influxql('SELECT "v", "s" FROM "spooled" GROUP BY "host"', {epoch: 'ms'})
    await check.close()
    assert.deepEqual(
      r.series?.map((x) => [x.tags?.host, x.values]),
      [
        ['h1', [[1_764_000_000_000, 1, 'two\nlines'], [1_764_000_001_000, 2, null]]],
        ['h2', [[1_764_000_002_000, 3, null]]],
      ],
    )
  })

  describe('line protocol in parts (spooled request bodies as they arrived), with its count of entries', () => {
    /** `n` entries of `measurement`, cut into parts at odd places (inside entries) */
    const parted = (measurement: string, n: number, cuts = 7) => {
      const text = Array.from({length: n}, (_, i) => `${measurement},host=h${i % 3} v=${i},s="a b" ${1_764_000_000_000 + i}\n`).join('')
      const bytes = Buffer.from(text)
      const step = Math.ceil(bytes.length / cuts) + 3
      const parts: Buffer[] = []
      for (let at = 0; at < bytes.length; at += step) parts.push(bytes.subarray(at, at + step))
      return {text, parts}
    }
    const stored = async (measurement: string) => {
      const check = new InfluxStore(influxStoreSchema.parse({type: 'influxdb', url: influxd.url, database: 'retry'}))
      const [r] = await check.influxql(`SELECT count("v") FROM "${measurement}"`)
      await check.close()
      return r!.series?.[0]?.values?.[0]?.[1]
    }

    it('parts that fit one request are that request, byte for byte, over one kept-alive connection', async () => {
      const {s} = store({batch_size: 20_000})
      const texts: string[] = []
      for (let k = 0; k < 3; k++) {
        // bodies of ~1.2 MB in 25 parts each, cut inside entries
        const {text, parts} = parted(`whole${k}`, 20_000, 25)
        await s.writeLineProtocol(parts, 'ms', {entries: 20_000})
        texts.push(text)
      }
      await s.close()
      assert.equal(writes, 3, 'one request per body')
      assert.deepEqual(
        seen.map((w) => w.body),
        texts,
        'each body arrived as it was spooled',
      )
      assert.equal(new Set(seen.map((w) => w.port)).size, 1, 'one kept-alive connection for the three')
      for (let k = 0; k < 3; k++) assert.equal(await stored(`whole${k}`), 20_000)
    })

    it('parts beyond one request (batch_size, batch_bytes) are joined and cut at entries', async () => {
      const {s} = store({batch_size: 5000, batch_bytes: '1MiB'})
      const {text, parts} = parted('cut', 20_000, 25)
      await s.writeLineProtocol(parts, 'ms', {entries: 20_000})
      const small = parted('cutbytes', 100)
      const {s: s2} = store({batch_bytes: '2KiB'})
      await s2.writeLineProtocol(small.parts, 'ms', {entries: 100})
      await Promise.all([s.close(), s2.close()])
      // requests in flight at once may arrive in either order: each store's in the order of their
      // first entry's time
      const firstTime = (b: string) => Number(b.slice(b.lastIndexOf(' ', b.indexOf('\n')) + 1, b.indexOf('\n')))
      const of = (m: string) =>
        seen
          .map((w) => w.body)
          .filter((b) => b.startsWith(`${m},`))
          .sort((a, b) => firstTime(a) - firstTime(b))
      const cut = of('cut')
      const bytes = of('cutbytes')
      assert.equal(cut.length + bytes.length, seen.length)
      assert.equal(cut.join(''), text)
      assert.deepEqual(
        cut.map((b) => b.split('\n').length - 1),
        [5000, 5000, 5000, 5000],
      )
      assert.equal(bytes.join(''), small.text)
      assert.ok(bytes.every((b) => b.length <= 2048) && bytes.length > 1)
      assert.equal(await stored('cut'), 20_000)
      assert.equal(await stored('cutbytes'), 100)
    })

    it('gzipped when configured: the parts joined and compressed', async () => {
      const {s} = store({gzip: true})
      const {text, parts} = parted('gzparts', 300)
      await s.writeLineProtocol(parts, 'ms', {entries: 300})
      await s.close()
      assert.deepEqual(
        seen.map((w) => w.body),
        [text],
      )
      assert.equal(await stored('gzparts'), 300)
    })

    it('a body without its last newline, or with a carriage return, takes the exact way', async () => {
      const {s} = store()
      const {text, parts} = parted('nonl', 10)
      await s.writeLineProtocol([...parts.slice(0, -1), parts.at(-1)!.subarray(0, -1)], 'ms', {entries: 10})
      await s.writeLineProtocol([Buffer.from('crlf,host=h v=1 1764000000000\r\n'), Buffer.from('crlf,host=h v=2 1764000000001\r\n')], 'ms', {entries: 2})
      await s.close()
      assert.deepEqual(
        seen.map((w) => w.body),
        [text, 'crlf,host=h v=1 1764000000000\ncrlf,host=h v=2 1764000000001\n'],
      )
      assert.equal(await stored('nonl'), 10)
      assert.equal(await stored('crlf'), 2)
    })

    it('503 then 2xx: the same parts sent again', async () => {
      const {s, waits} = store()
      faults = [{status: 503, headers: {'Retry-After': '2'}}]
      const {text, parts} = parted('retried', 500)
      await s.writeLineProtocol(parts, 'ms', {entries: 500})
      await s.close()
      assert.deepEqual(waits, [2000])
      assert.deepEqual(
        seen.map((w) => w.body),
        [text, text],
      )
      assert.equal(await stored('retried'), 500)
    })

    it('413: the body split in halves by its entries, each half written', async () => {
      const {s} = store()
      faults = [{status: 413, body: '{"error":"Request Entity Too Large"}'}]
      const {parts} = parted('halved', 101)
      await s.writeLineProtocol(parts, 'ms', {entries: 101})
      await s.close()
      assert.equal(writes, 3)
      assert.deepEqual(
        seen.slice(1).map((w) => w.body.split('\n').length - 1),
        [51, 50],
      )
      assert.equal(await stored('halved'), 101)
    })

    it('400 partial write: the refused lines named from the joined parts, the others stored', async () => {
      const {s} = store()
      await s.writeLineProtocol([Buffer.from('ptype,host=h v=1 1764000000000\n')], 'ms', {entries: 1})
      const err = await s
        .writeLineProtocol([Buffer.from('ptype,host=h v=2 17640'), Buffer.from('00000001\nptype,host=h v="text" 1764000000002\nptype,host=h v=3 1764000000003\n')], 'ms', {entries: 3})
        .catch((e: unknown) => e)
      await s.close()
      assert.ok(err instanceof InfluxWriteRejected, String(err))
      assert.equal(err.rejectedPoints, 1)
      assert.deepEqual(err.rejectedLines, ['ptype,host=h v="text" 1764000000002'])
      assert.equal(await stored('ptype'), 3)
    })
  })

  it('concurrent batches all arrive', async () => {
    const {s} = store({batch_size: 100, concurrency: 4})
    await s.write(points('many', 1000))
    await s.close()
    assert.equal(writes, 10)
    assert.equal(await count('many'), 1000)
  })
})
