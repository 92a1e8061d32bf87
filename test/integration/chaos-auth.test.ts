/**
 * Token guessing against the two server sockets that check a token, over real HTTP on loopback:
 * 1,000 wrong tokens from one address get 10 × 401 and then 429 with Retry-After; the right token
 * from that address is refused too until the lockout ends (the injected clock moves past it, no
 * sleeping); another address is not affected; failures are audited (API) and logged and counted
 * (listener).
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {after, before, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {Listener} from '../../src/core/collectors/listener.js'
import {createApiServer, type ApiServer} from '../../src/core/daemon/api.js'
import {loggerFrom, type LogFields} from '../../src/core/log.js'
import {Spool} from '../../src/core/pipeline/spool.js'
import {tempDir} from '../helpers/servers.js'

const TOKEN = 'the-right-token'
const GUESSES = 1000
const NOW = Date.UTC(2026, 0, 5, 12, 0, 0)

interface Reply {
  status: number
  retryAfter?: string
}

/** One request on a fresh connection from `localAddress` (127.0.0.2 is another source on loopback). */
function send(url: string, opts: {method?: string; token?: string; body?: string; localAddress?: string}): Promise<Reply> {
  return new Promise((resolve, reject) => {
    const req = request(url, {method: opts.method ?? 'GET', agent: false, localAddress: opts.localAddress ?? '127.0.0.1', headers: opts.token ? {Authorization: `Bearer ${opts.token}`} : {}}, (res) => {
      res.resume()
      res.on('end', () => resolve({status: res.statusCode!, retryAfter: res.headers['retry-after']}))
    })
    req.on('error', reject)
    req.end(opts.body)
  })
}

function tally(replies: Reply[]): Record<number, number> {
  const out: Record<number, number> = {}
  for (const r of replies) out[r.status] = (out[r.status] ?? 0) + 1
  return out
}

async function guess(url: string, method: string, body?: string): Promise<Reply[]> {
  const replies: Reply[] = []
  for (let i = 0; i < GUESSES; i++) replies.push(await send(url, {method, token: `guess-${i}`, body}))
  return replies
}

describe('chaos: token guessing against the push listener', () => {
  const clock = new ManualClock(NOW)
  const warnings: Array<[string, LogFields]> = []
  let tmp: ReturnType<typeof tempDir>
  let spool: Spool
  let listener: Listener
  let url: string

  before(async () => {
    tmp = tempDir('mon-chaos-auth-')
    spool = Spool.open({dir: tmp.dir, maxBytes: 1 << 24, segmentBytes: 1 << 20, fsync: 'never', clock})
    const log = loggerFrom((level, msg, fields) => level === 'warn' && warnings.push([msg, fields]))
    listener = new Listener({listen: '127.0.0.1:0', token: TOKEN, maxBodyBytes: 1 << 20, spool, ctx: {host: 'h', globalTags: {}, clock, log}})
    const {port} = await listener.start()
    url = `http://127.0.0.1:${port}/api/v2/write?precision=s`
  })

  after(async () => {
    await listener?.stop()
    await spool?.close()
    tmp?.cleanup()
  })

  it(`answers ${GUESSES} wrong tokens with 10 × 401, then 429 — the right token included — until the lockout ends`, async (t) => {
    const line = 'm v=1 1767614400\n'
    const replies = await guess(url, 'POST', line)
    const counts = tally(replies)
    t.diagnostic(`listener: ${GUESSES} wrong tokens → ${JSON.stringify(counts)}`)
    assert.deepEqual(counts, {401: 10, 429: GUESSES - 10})
    assert.equal(replies.at(-1)!.retryAfter, '60')

    const rightDuringLockout = await send(url, {method: 'POST', token: TOKEN, body: line})
    assert.equal(rightDuringLockout.status, 429, 'the lockout is real: the right token waits as well')
    assert.equal((await send(url, {method: 'POST', token: TOKEN, body: line, localAddress: '127.0.0.2'})).status, 204, 'another source is not locked out')

    clock.advance(30_000)
    const halfway = await send(url, {method: 'POST', token: TOKEN, body: line})
    assert.deepEqual(halfway, {status: 429, retryAfter: '30'})
    clock.advance(30_000)
    assert.equal((await send(url, {method: 'POST', token: TOKEN, body: line})).status, 204, 'after the lockout the right token works again')

    const stats = listener.stats()
    t.diagnostic(`listener stats: unauthorized=${stats.unauthorized} throttled=${stats.throttled} writes=${stats.writes}`)
    assert.equal(stats.unauthorized, 10)
    assert.equal(stats.throttled, GUESSES - 10 + 2)
    assert.equal(stats.writes, 2)
    const refused = warnings.filter(([msg]) => msg.startsWith('listener refused a write'))
    const lockouts = warnings.filter(([msg]) => msg.startsWith('listener locked a source out'))
    assert.equal(refused.length, 10, 'every failure before the lockout is logged, none of the throttled ones')
    assert.deepEqual(lockouts.map(([, f]) => [f.source, f.failures]), [['127.0.0.1', 10]])
  })
})

describe('chaos: token guessing against the daemon API', () => {
  const clock = new ManualClock(NOW)
  const audit: Array<[string, string]> = []
  let api: ApiServer
  let base: string

  before(async () => {
    api = createApiServer({listen: '127.0.0.1:0', token: TOKEN, clock, auditAuthFailure: (source, detail) => void audit.push([source, detail])})
    api.route('GET', '/api/v1/whoami', () => ({json: {ok: true}}))
    base = (await api.listen()).url
  })

  after(async () => {
    await api?.close()
  })

  it(`answers ${GUESSES} wrong tokens with 10 × 401 (audited), then 429 — the right token included — until the lockout ends`, async (t) => {
    const url = `${base}/api/v1/whoami`
    const counts = tally(await guess(url, 'GET'))
    t.diagnostic(`api: ${GUESSES} wrong tokens → ${JSON.stringify(counts)}; audited ${audit.length}`)
    assert.deepEqual(counts, {401: 10, 429: GUESSES - 10})
    assert.equal(audit.length, 10, 'each failure before the lockout is audited; the throttled ones are not, row by row')
    assert.ok(audit.every(([source]) => source === '127.0.0.1'))
    assert.match(audit.at(-1)![1], /^GET \/api\/v1\/whoami: wrong token; 10 failures, locked out for 60s$/)

    assert.deepEqual(await send(url, {token: TOKEN}), {status: 429, retryAfter: '60'}, 'the right token from the locked-out source is refused')
    assert.equal((await send(url, {token: TOKEN, localAddress: '127.0.0.2'})).status, 200, 'another source is not locked out')
    clock.advance(60_000)
    assert.equal((await send(url, {token: TOKEN})).status, 200, 'after the lockout the right token works again')
    assert.equal((await send(url, {token: 'wrong-again'})).status, 401, 'a new window starts with 401s, not 429')
  })
})
