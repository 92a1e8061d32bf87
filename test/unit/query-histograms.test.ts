// histogram_quantile over scraped Prometheus histograms as mon stores them (issue 18): the same
// pages converted as Telegraf's metric_version 1 (a field per bucket) and 2 (`prometheus.<name>_bucket`
// with an `le` tag) give the same quantiles, and the Prometheus spelling works on both.
import assert from 'node:assert/strict'
import {after, describe, it} from 'node:test'
import {ManualClock} from '../../src/core/clock.js'
import {parsePrometheusText, prometheusToPoints} from '../../src/core/model/prometheus-text.js'
import {runInstant, runRange} from '../../src/core/query/executor.js'
import {parseQuery} from '../../src/core/query/parser.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'

const T0 = Date.UTC(2026, 10, 24, 10, 0, 0)

/** A page every 15 s for 10 minutes: two handlers whose requests land in the buckets at steady rates. */
function pages(): Array<{text: string; ts: number}> {
  const out: Array<{text: string; ts: number}> = []
  const perScrape = {api: [3, 5, 1, 1], web: [10, 2, 2, 0]}
  for (let i = 0; i <= 40; i++) {
    const lines = ['# TYPE http_request_duration_seconds histogram']
    for (const [handler, inc] of Object.entries(perScrape)) {
      let cumulative = 0
      for (const [k, le] of ['0.1', '0.5', '1', '+Inf'].entries()) {
        cumulative += inc[k] * i
        lines.push(`http_request_duration_seconds_bucket{handler="${handler}",le="${le}"} ${cumulative}`)
      }

      lines.push(`http_request_duration_seconds_sum{handler="${handler}"} ${cumulative * 0.2}`, `http_request_duration_seconds_count{handler="${handler}"} ${cumulative}`)
    }

    out.push({text: lines.join('\n') + '\n', ts: T0 + i * 15_000})
  }

  return out
}

function store(version: 1 | 2): SqliteStore {
  const s = new SqliteStore({path: ':memory:', clock: new ManualClock(T0 + 3_600_000), autoCompactEvery: 0})
  for (const p of pages()) {
    const {families, errors} = parsePrometheusText(p.text)
    assert.deepEqual(errors, [])
    s.writeSync(prometheusToPoints(families, {now: p.ts, metricVersion: version}))
  }

  return s
}

/** equal within float rounding (0.5 + 0.5·0.3 is 0.6500000000000001) */
function near(got: Record<string, number>, want: Record<string, number>): void {
  assert.deepEqual(Object.keys(got).sort(), Object.keys(want).sort())
  for (const [k, v] of Object.entries(want)) assert.ok(Math.abs(got[k] - v) < 1e-12, `${k}: ${got[k]}, expected ${v}`)
}

describe('histogram_quantile over scraped histograms', () => {
  const v1 = store(1)
  const v2 = store(2)
  after(async () => {
    await v1.close()
    await v2.close()
  })

  const at = T0 + 10 * 60_000
  const quantile = async (s: SqliteStore, text: string) => {
    const {value} = await runInstant(parseQuery(text), s, at)
    assert.equal(value.type, 'vector')
    return value.type === 'vector' ? Object.fromEntries(value.elements.map((e) => [e.labels.handler ?? '', e.v])) : {}
  }

  it('metric_version 1 (the default): h_bucket reads the bucket fields of measurement h, each bound as le', async () => {
    const got = await quantile(v1, 'histogram_quantile(0.9, sum by (handler, le) (rate(http_request_duration_seconds_bucket[5m])))')
    // api: 10 per scrape, 0.9 → the 9th of 10: bucket (0.5, 1] holds the 9th (3 + 5 = 8 below 0.5) → 0.5 + 0.5·(1/1) = 1
    // web: 14 per scrape, the 12.6th: bucket (0.1, 0.5] holds 11..12, (0.5, 1] 13..14 → 0.5 + 0.5·(0.6/2) = 0.65
    near(got, {api: 1, web: 0.65})
  })

  it('metric_version 2: prometheus.h_bucket{le=…} gives the same quantiles', async () => {
    const v2got = await quantile(v2, 'histogram_quantile(0.9, sum by (handler, le) (rate(prometheus.http_request_duration_seconds_bucket[5m])))')
    near(v2got, {api: 1, web: 0.65})
    assert.deepEqual(v2got, await quantile(v1, 'histogram_quantile(0.9, sum by (handler, le) (rate(http_request_duration_seconds_bucket[5m])))'))
  })

  it('the median, an le matcher, and _count/_sum over version 1', async () => {
    const median = await quantile(v1, 'histogram_quantile(0.5, sum by (handler, le) (rate(http_request_duration_seconds_bucket[5m])))')
    assert.deepEqual(median, await quantile(v2, 'histogram_quantile(0.5, sum by (handler, le) (rate(prometheus.http_request_duration_seconds_bucket[5m])))'))
    const {value} = await runInstant(parseQuery('count(http_request_duration_seconds_bucket{le=~"0.1|\\\\+Inf"})'), v1, at)
    assert.ok(value.type === 'vector' && value.elements[0].v === 4, 'two handlers × two bounds')
    // average latency: sum / count, both read from the v1 measurement's fields
    const avg = await quantile(v1, 'rate(http_request_duration_seconds_sum[5m]) / rate(http_request_duration_seconds_count[5m])')
    for (const v of Object.values(avg)) assert.ok(Math.abs(v - 0.2) < 1e-12, String(v))
  })

  it('a range query of the quantile is the instant one at every step', async () => {
    const q = parseQuery('histogram_quantile(0.9, sum by (handler, le) (rate(http_request_duration_seconds_bucket[5m])))')
    const range = await runRange(q, v1, T0 + 6 * 60_000, T0 + 10 * 60_000, 60_000)
    for (const s of range) for (const p of s.samples) assert.ok(Math.abs(p.v - (s.labels.handler === 'api' ? 1 : 0.65)) < 1e-12)
    assert.equal(range.reduce((n, s) => n + s.samples.length, 0), 10)
  })
})
