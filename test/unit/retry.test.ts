import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {senderRetryPolicy} from '../../src/core/notify/deliver/sender.js'
import {writerRetryPolicy} from '../../src/core/pipeline/writer.js'
import {nextDelay, outOfAttempts, parseRetryAfter, pastDeadline, type RetryPolicy} from '../../src/core/retry.js'
import {DEFAULT_RETRY} from '../../src/core/store/influx/http.js'

const NOW = Date.UTC(2026, 10, 25, 9, 0, 0)
const DAY = 24 * 3_600_000

// The three callers' policies, as they build them.
const outbox = senderRetryPolicy({backoffMs: 1000, maxBackoffMs: 8000, maxAttempts: 5})
const writer = writerRetryPolicy({initial: 1000, max: 8000})
const influx: RetryPolicy = {...DEFAULT_RETRY, initialMs: 1000, maxMs: 8000, jitter: 100}

describe('nextDelay', () => {
  const cases: Array<[string, RetryPolicy, number, number, number | undefined, number]> = [
    // name, policy, retry, random, Retry-After, delay
    ['equal jitter: half the backoff at random 0', outbox, 1, 0, undefined, 500],
    ['equal jitter: all of it at random 1', outbox, 1, 1, undefined, 1000],
    ['equal jitter: doubles', outbox, 3, 0.5, undefined, 3000],
    ['equal jitter: capped', outbox, 10, 1, undefined, 8000],
    ['equal jitter: rounded to whole ms', {...outbox, initialMs: 3}, 1, 0.5, undefined, 2],
    ['a power past Infinity is the cap', outbox, 5000, 1, undefined, 8000],
    ['no initial backoff stays none, however many retries', {...outbox, initialMs: 0}, 5000, 1, undefined, 0],
    ['a factor of 3', {...outbox, factor: 3}, 2, 1, undefined, 3000],
    ['added jitter: none at random 0', influx, 1, 0, undefined, 1000],
    ['added jitter: up to jitter ms, whole', influx, 2, 0.999, undefined, 2099],
    ['added jitter: capped before adding', influx, 9, 0.5, undefined, 8050],
    ['replaces: a Retry-After shorter than the backoff', outbox, 4, 1, 2000, 2000],
    ['replaces: a Retry-After longer than the cap', outbox, 1, 0, 60_000, 60_000],
    ['replaces: equal jitter adds nothing to it', outbox, 1, 0.7, 120_000, 120_000],
    ['replaces: a week is taken as a day', outbox, 1, 0, 7 * DAY, DAY],
    ['replaces: a negative one is now', outbox, 1, 0, -5, 0],
    ['replaces: plus the added jitter', influx, 3, 0.99, 500, 599],
    ['floor: a longer Retry-After wins', writer, 1, 1, 5000, 5000],
    ['floor: a shorter one does not shorten the backoff', writer, 3, 1, 200, 4000],
    ['floor: Retry-After 0 still waits the backoff', writer, 1, 0, 0, 500],
  ]
  for (const [name, policy, retry, random, retryAfter, want] of cases) it(name, () => assert.equal(nextDelay(policy, retry, () => random, retryAfter), want))

  it('equal jitter stays between half and all of the backoff', () => {
    for (let retry = 1; retry <= 40; retry++) {
      const backoff = Math.min(8000, 1000 * 2 ** (retry - 1))
      for (const r of [0, 0.25, 0.5, 0.75, 0.999]) {
        const d = nextDelay(outbox, retry, () => r)
        assert.ok(d >= backoff / 2 && d <= backoff, `retry ${retry}, random ${r}: ${d} not in [${backoff / 2}, ${backoff}]`)
      }
    }
  })
})

describe('outOfAttempts', () => {
  const cases: Array<[RetryPolicy, number, boolean]> = [
    [outbox, 4, false],
    [outbox, 5, true],
    [{...outbox, maxAttempts: 1}, 1, true],
    [writer, 1_000_000, false],
  ]
  for (const [policy, attempts, want] of cases) it(`${attempts} of ${policy.maxAttempts}`, () => assert.equal(outOfAttempts(policy, attempts), want))
})

describe('pastDeadline', () => {
  const cases: Array<[RetryPolicy, number, number, boolean]> = [
    // policy, elapsed, next delay, past
    [influx, 20_000, 40_000, false],
    [influx, 20_001, 40_000, true],
    [influx, 0, 60_001, true],
    [outbox, 365 * DAY, DAY, false],
  ]
  for (const [policy, elapsed, delay, want] of cases) it(`${elapsed} + ${delay} against ${policy.deadlineMs}`, () => assert.equal(pastDeadline(policy, elapsed, delay), want))
})

describe('parseRetryAfter', () => {
  const cases: Array<[string | string[] | undefined, number | undefined]> = [
    [undefined, undefined],
    ['', undefined],
    ['3', 3000],
    [' 3 ', 3000],
    ['0', 0],
    ['1.5', 1500],
    [['2', '9'], 2000],
    [[], undefined],
    [new Date(NOW + 7000).toUTCString(), 7000],
    [new Date(NOW - 7000).toUTCString(), 0],
    ['soon', undefined],
  ]
  for (const [value, want] of cases) it(`${JSON.stringify(value)} → ${want}`, () => assert.equal(parseRetryAfter(value, NOW), want))
})
