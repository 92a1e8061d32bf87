import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {nextDelay, parseRetryAfter, RetriesExhausted, withRetry as retryLoop, type RetryEvent, type RetryPolicy} from '../../src/core/retry.js'
import {classifyFailure, HttpStatusError, NetworkError} from '../../src/core/store/influx/http.js'

const NOW = Date.UTC(2026, 10, 25, 9, 0, 0)
// 4 retries after the first attempt, within a minute; 1 s doubling to 8 s plus up to 100 ms
const opts: RetryPolicy = {maxAttempts: 5, deadlineMs: 60_000, initialMs: 1000, maxMs: 8000, factor: 2, jitter: 100, retryAfter: 'replaces', maxRetryAfterMs: Infinity}

/** The shared retry loop with InfluxDB's idea of what is worth retrying, as the store runs it. */
const withRetry = <T>(attempt: (n: number) => Promise<T>, policy: RetryPolicy, env: Parameters<typeof retryLoop>[2], hooks: {onRetry?: (e: RetryEvent) => void} = {}) =>
  retryLoop(attempt, policy, env, {classify: classifyFailure, ...hooks})

function status(code: number, headers: Record<string, string> = {}): HttpStatusError {
  return new HttpStatusError('http://db:8086/write', code, headers, '{"error":"x"}')
}

describe('parseRetryAfter', () => {
  const cases: Array<[string | undefined, number | undefined]> = [
    [undefined, undefined],
    ['3', 3000],
    ['0', 0],
    ['1.5', 1500],
    [new Date(NOW + 7000).toUTCString(), 7000],
    [new Date(NOW - 7000).toUTCString(), 0],
    ['soon', undefined],
  ]
  for (const [value, want] of cases) it(`${value} → ${want}`, () => assert.equal(parseRetryAfter(value, NOW), want))
})

describe('classifyFailure', () => {
  const cases: Array<[string, unknown, {retry: boolean; retryAfter?: number}]> = [
    ['400 is not retried', status(400), {retry: false}],
    ['401 is not retried', status(401), {retry: false}],
    ['404 is not retried', status(404), {retry: false}],
    ['413 is not retried', status(413), {retry: false}],
    ['429 is retried', status(429), {retry: true}],
    ['429 with Retry-After', status(429, {'retry-after': '2'}), {retry: true, retryAfter: 2000}],
    ['500 is retried', status(500), {retry: true}],
    ['501 is not', status(501), {retry: false}],
    ['503 with Retry-After', status(503, {'retry-after': '30'}), {retry: true, retryAfter: 30_000}],
    ['a network failure is retried', new NetworkError('http://db:8086', 'ECONNREFUSED', 'connection refused'), {retry: true}],
    ['a bug is not', new TypeError('x is undefined'), {retry: false}],
  ]
  for (const [name, err, want] of cases) it(name, () => assert.deepEqual(classifyFailure(err, NOW), want))
})

describe('backoffDelay', () => {
  const cases: Array<[string, number, number, number | undefined, number]> = [
    ['first retry: the minimum', 1, 0, undefined, 1000],
    ['doubles', 2, 0, undefined, 2000],
    ['doubles again', 3, 0, undefined, 4000],
    ['capped', 6, 0, undefined, 8000],
    ['plus jitter', 1, 0.5, undefined, 1050],
    ['Retry-After wins', 1, 0, 5000, 5000],
    ['Retry-After plus jitter', 3, 0.99, 500, 599],
  ]
  for (const [name, retry, random, retryAfter, want] of cases) it(name, () => assert.equal(nextDelay(opts, retry, () => random, retryAfter), want))
})

describe('withRetry', () => {
  function env() {
    const clock = new ManualClock(NOW)
    const waits: number[] = []
    return {clock, waits, sleep: async (ms: number) => void (waits.push(ms), clock.advance(ms)), random: () => 0}
  }

  it('retries until success, waiting with backoff', async () => {
    const e = env()
    let calls = 0
    const result = await withRetry(
      async () => {
        if (++calls < 3) throw status(503)
        return 'ok'
      },
      opts,
      e,
    )
    assert.equal(result, 'ok')
    assert.deepEqual(e.waits, [1000, 2000])
  })

  it('honours Retry-After', async () => {
    const e = env()
    let calls = 0
    await withRetry(
      async () => {
        if (++calls === 1) throw status(429, {'retry-after': '7'})
      },
      opts,
      e,
    )
    assert.deepEqual(e.waits, [7000])
  })

  it('does not retry what cannot succeed', async () => {
    const e = env()
    let calls = 0
    await assert.rejects(
      withRetry(
        async () => {
          calls++
          throw status(400)
        },
        opts,
        e,
      ),
      (err: unknown) => err instanceof HttpStatusError && err.status === 400,
    )
    assert.equal(calls, 1)
    assert.deepEqual(e.waits, [])
  })

  it('stops after maxRetries', async () => {
    const e = env()
    let calls = 0
    const err = await withRetry(
      async () => {
        calls++
        throw new NetworkError('http://db:8086', 'ECONNREFUSED', 'connection refused')
      },
      opts,
      e,
    ).catch((error: unknown) => error)
    assert.ok(err instanceof RetriesExhausted)
    assert.equal(err.why, 'attempts')
    assert.equal(err.attempts, 5)
    assert.equal(calls, 5)
    assert.deepEqual(e.waits, [1000, 2000, 4000, 8000])
    assert.match(err.message, /connection refused \(gave up after 5 attempts in 15 s\)/)
  })

  it('stops at the deadline, even when attempts remain', async () => {
    const e = env()
    const err = await withRetry(
      async () => {
        throw status(503, {'retry-after': '40'})
      },
      {...opts, maxAttempts: 11, deadlineMs: 60_000},
      e,
    ).catch((error: unknown) => error)
    assert.ok(err instanceof RetriesExhausted)
    assert.equal(err.why, 'deadline')
    // waited 40 s once; another 40 s would end past the 60 s deadline
    assert.deepEqual(e.waits, [40_000])
  })

  it('counts the time the attempts themselves take against the deadline', async () => {
    const e = env()
    let calls = 0
    await assert.rejects(
      withRetry(
        async () => {
          calls++
          e.clock.advance(25_000) // a slow timeout
          throw new NetworkError('http://db:8086', 'ETIMEDOUT', 'no answer')
        },
        {...opts, maxAttempts: 11, deadlineMs: 60_000},
        e,
      ),
      RetriesExhausted,
    )
    assert.equal(calls, 3)
  })

  it('tells onRetry about every retry', async () => {
    const e = env()
    const seen: number[] = []
    let calls = 0
    await withRetry(
      async () => {
        if (++calls < 3) throw status(500)
      },
      opts,
      e,
      {onRetry: (r) => seen.push(r.attempt)},
    )
    assert.deepEqual(seen, [1, 2])
  })
})
