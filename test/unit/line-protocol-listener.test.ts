/**
 * How the listener uses validateLineProtocol: a body that needs nothing added is spooled as it
 * came (the same bytes), a partial write keeps exactly the good entries' text in the request's
 * precision, and anything that needs a timestamp or tags takes the parse-and-re-encode way.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {Listener} from '../../src/core/collectors/listener.js'
import {silentLogger} from '../../src/core/log.js'
import {parseLineProtocol} from '../../src/core/model/line-protocol/index.js'
import type {Spool, SpoolRecordInput} from '../../src/core/pipeline/spool.js'

const NOW = 1_700_000_000_000
const spooled: SpoolRecordInput[] = []
const spool = {append: async (records: readonly SpoolRecordInput[]) => void spooled.push(...records)} as unknown as Spool
const listener = new Listener({listen: '127.0.0.1:0', maxBodyBytes: 1 << 20, spool, ctx: {host: 'collector', globalTags: {}, clock: new ManualClock(NOW), log: silentLogger}})
let base = ''

before(async () => {
  const a = await listener.start()
  base = `http://127.0.0.1:${a.port}`
})
after(() => listener.stop())

function post(path: string, body: string | Buffer): Promise<{status: number; body: string}> {
  return new Promise((resolve, reject) => {
    const req = request(base + path, {method: 'POST'}, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, body: text}))
    })
    req.on('error', reject)
    req.end(body)
  })
}

async function write(path: string, body: string | Buffer): Promise<{status: number; body: string; record?: SpoolRecordInput}> {
  spooled.length = 0
  const r = await post(path, body)
  assert.ok(spooled.length <= 1)
  return {...r, record: spooled[0]}
}

const text = (r?: SpoolRecordInput) => (r === undefined ? undefined : (typeof r.payload === 'string' ? Buffer.from(r.payload) : Buffer.concat(Array.isArray(r.payload) ? r.payload : [r.payload as Buffer])).toString('utf8'))

describe('listener: validated bodies are spooled as they came', () => {
  it('a good body with host tags and timestamps: the same bytes, in the request precision', async () => {
    const body = Buffer.from('cpu,host=a usage=1.5,count=3i 1700000000123456789\r\nmem,host=b,x=y used=2u 1700000000123456790')
    const r = await write('/write?precision=ns', body)
    assert.equal(r.status, 204)
    assert.deepEqual([r.record?.points, r.record?.precision], [2, 'ns'])
    assert.equal(text(r.record), body.toString() + '\n')
  })

  it('a partial write keeps exactly the good entries, at full precision', async () => {
    const body = 'a,host=h v=1 1700000000123456789\nbad,host=h v= 2\r\nb,host=h s="multi\nline" 1700000000123456790\r\n# note\nc,host=h v=1e999 3\nd,host=h v=4i 1700000000123456791'
    const r = await write('/write?precision=ns', body)
    assert.equal(r.status, 400)
    assert.match(JSON.parse(r.body).error, /^partial write: line 2:14: missing field value: 'bad,host=h v= 2'; 1 more bad line \(3 points written, 2 lines rejected\) dropped=2$/)
    assert.deepEqual([r.record?.points, r.record?.precision], [3, 'ns'])
    assert.equal(text(r.record), 'a,host=h v=1 1700000000123456789\nb,host=h s="multi\nline" 1700000000123456790\nd,host=h v=4i 1700000000123456791\n')
    assert.deepEqual(parseLineProtocol(text(r.record)!, {precision: 'ns'}).points, parseLineProtocol(body, {precision: 'ns'}).points)
  })

  it('a byte order mark is not spooled', async () => {
    const r = await write('/api/v2/write?precision=s', '\uFEFFm,host=a v=1 1700000000\n')
    assert.equal(r.status, 204)
    assert.equal(text(r.record), 'm,host=a v=1 1700000000\n')
  })

  it('lines without a timestamp or without the host tag are parsed, decorated and re-encoded (ms)', async () => {
    const untimed = await write('/write?precision=s', 'm,host=a v=1\nm,host=a v=2 1700000001\n')
    assert.equal(untimed.status, 204)
    assert.deepEqual([untimed.record?.points, untimed.record?.precision], [2, 'ms'])
    assert.equal(text(untimed.record), `m,host=a v=1 ${NOW}\nm,host=a v=2 1700000001000\n`)

    const partial = await write('/write?precision=ns', 'm v=1 1000000\nm v=\n')
    assert.equal(partial.status, 400)
    assert.deepEqual([partial.record?.points, partial.record?.precision], [1, 'ms'])
    assert.equal(text(partial.record), 'm,host=collector v=1 1\n')
  })

  it('minutes and hours (1.x only) are re-encoded in ms', async () => {
    const r = await write('/write?precision=h', 'm,host=a v=1 2\n')
    assert.equal(r.status, 204)
    assert.equal(text(r.record), 'm,host=a v=1 7200000\n')
  })

  it('nothing good: nothing spooled', async () => {
    const r = await write('/write', 'm,host=a v=\n')
    assert.equal(r.status, 400)
    assert.equal(r.record, undefined)
  })
})

describe('listener: empty bodies', () => {
  it('an empty body or only comments: 204, nothing spooled', async () => {
    for (const body of ['', '# nothing\n\n']) {
      const r = await write('/write', body)
      assert.equal(r.status, 204)
      assert.equal(r.record, undefined)
    }
  })

  it('a non-ASCII body takes the exact way and is still spooled as it came', async () => {
    const body = '温度,host=東京 値=1 1700000000000000000\n'
    const r = await write('/write', body)
    assert.equal(r.status, 204)
    assert.equal(text(r.record), body)
    assert.equal(r.record?.precision, 'ns')
  })
})

/** POSTs `parts` one write at a time (chunked), a pause between, so that the listener reads them apart. */
function postInParts(path: string, parts: string[]): Promise<{status: number; body: string; record?: SpoolRecordInput}> {
  spooled.length = 0
  return new Promise((resolve, reject) => {
    const req = request(base + path, {method: 'POST'}, (res) => {
      let text = ''
      res.on('data', (d) => (text += d))
      res.on('end', () => resolve({status: res.statusCode!, body: text, record: spooled[0]}))
    })
    req.on('error', reject)
    void (async () => {
      for (const part of parts) {
        req.write(part)
        await new Promise((r) => setTimeout(r, 5))
      }
      req.end()
    })()
  })
}

describe('listener: a body checked and spooled in the parts it arrived in', () => {
  const line = (i: number) => `cpu,host=h${i % 7} v=${i}.5,n=${i}i ${1_700_000_000_000_000_000 + i}`
  const lines = (from: number, to: number) => Array.from({length: to - from}, (_, k) => line(from + k) + '\n').join('')

  it('parts cut inside entries: the same bytes spooled, every point counted', async () => {
    const body = lines(0, 3000)
    const parts = [body.slice(0, 1000), body.slice(1000, 1001), body.slice(1001, 70_000), body.slice(70_000)]
    const r = await postInParts('/write', parts)
    assert.equal(r.status, 204)
    assert.equal(r.record?.points, 3000)
    assert.equal(text(r.record), body)
  })

  it('a cut right after a newline inside a string value: still one good entry, by the exact way', async () => {
    const body = `${lines(0, 10)}cpu,host=a s="two\nlines" 1700000000000000000\n${lines(10, 20)}`
    const at = body.indexOf('two\n') + 4
    const r = await postInParts('/write', [body.slice(0, at), body.slice(at)])
    assert.equal(r.status, 204)
    assert.equal(r.record?.points, 21)
    assert.equal(text(r.record), body)
  })

  it('a bad entry cut in two: 400 naming its line, the others spooled', async () => {
    const body = `${lines(0, 5)}cpu,host=a v= 1\n${lines(5, 9)}`
    const at = body.indexOf('v= 1') + 2
    const r = await postInParts('/write', [body.slice(0, at), body.slice(at)])
    assert.equal(r.status, 400)
    assert.match(JSON.parse(r.body).error, /^partial write: line 6:/)
    assert.equal(r.record?.points, 9)
    assert.equal(text(r.record), lines(0, 5) + lines(5, 9))
  })

  it('the last part without a final newline gets one', async () => {
    const body = lines(0, 4).slice(0, -1)
    const r = await postInParts('/write', [body.slice(0, 30), body.slice(30)])
    assert.equal(r.status, 204)
    assert.equal(text(r.record), body + '\n')
  })
})

describe('listener: max_buffered bounds the bodies held at once', () => {
  // a spool whose appends wait for a gate: the request in it keeps holding its body
  let open!: () => void
  let gate = Promise.resolve()
  const held: SpoolRecordInput[] = []
  const slowSpool = {
    append: async (records: readonly SpoolRecordInput[]) => {
      await gate
      held.push(...records)
    },
  } as unknown as Spool
  const bounded = new Listener({listen: '127.0.0.1:0', maxBodyBytes: 8192, maxBufferedBytes: 1000, spool: slowSpool, ctx: {host: 'collector', globalTags: {}, clock: new ManualClock(NOW), log: silentLogger}})
  let url = ''
  before(async () => {
    const a = await bounded.start()
    url = `http://127.0.0.1:${a.port}/write?precision=ms`
  })
  after(() => bounded.stop())

  const body = (lines: number, tag: string) => Array.from({length: lines}, (_, i) => `m,host=${tag} v=${i} ${NOW + i}`).join('\n') + '\n'
  const send = (text: string) => fetch(url, {method: 'POST', body: text}).then(async (r) => ({status: r.status, retryAfter: r.headers.get('retry-after'), body: await r.text()}))

  it('a write that would go beyond it while another holds bytes gets 503 with Retry-After; a lone large one is taken', async () => {
    gate = new Promise((r) => (open = r))
    const first = body(25, 'first') // about 700 bytes
    assert.ok(first.length > 500 && first.length < 1000)
    const pending = send(first)
    for (let i = 0; i < 100 && bounded.stats().bufferedBytes === 0; i++) await new Promise((r) => setTimeout(r, 10))
    assert.equal(bounded.stats().bufferedBytes, first.length, 'the first request holds its body while the spool is slow')

    const refused = await send(body(20, 'second'))
    assert.equal(refused.status, 503)
    assert.equal(refused.retryAfter, '1')
    assert.match(JSON.parse(refused.body).error, /max_buffered \(1000 bytes\).*retry shortly/)
    assert.equal(bounded.stats().overloaded, 1)

    open()
    assert.equal((await pending).status, 204)
    assert.equal(bounded.stats().bufferedBytes, 0, 'given back when the request ends')
    assert.equal((await send(body(20, 'second'))).status, 204, 'the retry is taken')
    const large = body(100, 'large') // beyond max_buffered, within max_body, and alone
    assert.ok(large.length > 1000 && large.length < 8192)
    assert.equal((await send(large)).status, 204)
    assert.deepEqual(held.map((r) => r.points), [25, 20, 100])
    assert.equal(bounded.stats().bufferedBytes, 0)
  })
})
