/**
 * A flood of refused writes is a few log lines: the listener logs the first 5xx of a kind at once
 * and then at most once a minute (on the injected clock), with how many it did not log. A real
 * spool with `when_full: reject` and a tiny max_bytes refuses the pushes (503), on real sockets.
 */
import assert from 'node:assert/strict'
import {request} from 'node:http'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {Listener} from '../../src/core/collectors/listener.js'
import {loggerFrom, RepeatLimiter, type LogFields, type LogLevel} from '../../src/core/log.js'
import {Spool} from '../../src/core/pipeline/spool.js'
import {tempDir} from '../helpers/servers.js'

function post(port: number, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = request({host: '127.0.0.1', port, path: '/write', method: 'POST'}, (res) => {
      res.resume()
      res.on('end', () => resolve(res.statusCode!))
    })
    req.on('error', reject)
    req.end(body)
  })
}

describe('listener: 5xx replies are logged once, then at most once a minute with a count', () => {
  const tmp = tempDir('mon-listener-log-')
  after(() => tmp.cleanup())

  it('300+ pushes refused by a full spool: 1 log line, then 1 a minute later counting those not logged', async () => {
    const clock = new ManualClock(1_700_000_000_000)
    const logged: Array<{level: LogLevel; msg: string; fields: LogFields}> = []
    const log = loggerFrom((level, msg, fields) => logged.push({level, msg, fields}))
    const spool = Spool.open({dir: join(tmp.dir, 'spool'), maxBytes: 4096, segmentBytes: 4096, fsync: 'never', clock, whenFull: 'reject', reserveBytes: 0})
    const listener = new Listener({listen: '127.0.0.1:0', maxBodyBytes: 1 << 20, spool, ctx: {host: 'h', globalTags: {}, clock, log}})
    try {
      const {port} = await listener.start()
      const body = Array.from({length: 40}, (_, i) => `m,host=h v=${i} ${1_700_000_000_000 + i}`).join('\n')
      const statuses = new Map<number, number>()
      for (let i = 0; i < 300 + 10; i++) {
        const status = await post(port, body)
        statuses.set(status, (statuses.get(status) ?? 0) + 1)
      }
      const refused = statuses.get(503) ?? 0
      assert.ok(refused >= 300, `the spool refuses all but the first few pushes: ${JSON.stringify(Object.fromEntries(statuses))}`)
      const failures = () => logged.filter((l) => l.msg.startsWith('listener refused a write'))
      assert.equal(failures().length, 1, `one line for ${refused} refusals, not one each`)
      assert.equal(failures()[0]!.fields.status, 503)
      assert.equal(failures()[0]!.fields.notLoggedSince, undefined)

      clock.advance(59_999)
      assert.equal(await post(port, body), 503)
      assert.equal(failures().length, 1, 'still within the minute')
      clock.advance(1)
      assert.equal(await post(port, body), 503)
      assert.equal(failures().length, 2)
      assert.equal(failures()[1]!.fields.notLoggedSince, refused, 'the refusals not logged in between are counted')
      assert.equal(listener.stats().spoolFull, refused + 2, 'the stats count every refusal')
      console.log(`# listener failure log: ${refused + 2} pushes answered 503 (spool full), ${failures().length} log lines; the second says ${failures()[1]!.fields.notLoggedSince} were not logged`)
    } finally {
      await listener.stop()
      await spool.close()
    }
  })
})

describe('RepeatLimiter', () => {
  it('per key: the first at once, then once per interval with the count not logged; keys are bounded', () => {
    const clock = new ManualClock(0)
    const limiter = new RepeatLimiter(clock, 1000, 2)
    assert.equal(limiter.take('a'), 0)
    assert.equal(limiter.take('a'), undefined)
    assert.equal(limiter.take('b'), 0, 'another kind is logged on its own')
    assert.equal(limiter.take('a'), undefined)
    clock.advance(1000)
    assert.equal(limiter.take('a'), 2)
    assert.equal(limiter.take('c'), 0, 'a third key forgets the oldest (b)')
    assert.equal(limiter.take('b'), 0)
  })
})
