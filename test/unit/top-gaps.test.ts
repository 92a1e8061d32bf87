/** `mon top` charts: a missing bucket is a gap, not a drop to zero; empty panels tell stale from never. */
import assert from 'node:assert/strict'
import {it} from 'node:test'
import {liftPenAtGaps, withGaps, type PenContext} from '../../src/tui/top/monitors/chart.js'
import {noDataHint, type ViewContext} from '../../src/tui/top/monitors/monitor.js'
import {makeTheme} from '../../src/tui/top/theme.js'

it('withGaps: missing values are NaN (never 0), the rest scaled', () => {
  const out = withGaps([10, null, 30, null], 10)
  assert.equal(out[0], 1)
  assert.ok(Number.isNaN(out[1]))
  assert.equal(out[2], 3)
  assert.ok(Number.isNaN(out[3]))
})

it('liftPenAtGaps: the stroke stops at a missing value and starts again after it', () => {
  const calls: string[] = []
  const ctx: PenContext = {moveTo: (x, y) => calls.push(`move ${x},${y}`), lineTo: (x, y) => calls.push(`line ${x},${y}`)}
  liftPenAtGaps(ctx)
  liftPenAtGaps(ctx) // once only
  // what contrib's drawLine does for the values [5, NaN, NaN, 7, 8]
  ctx.moveTo(0, 0)
  for (const [x, y] of [[0, 5], [1, Number.NaN], [2, Number.NaN], [3, 7], [4, 8]] as const) ctx.lineTo(x, y)
  assert.deepEqual(calls, ['move 0,0', 'line 0,5', 'move 3,7', 'line 4,8'])
  // a series that starts with a gap starts where its data starts
  calls.length = 0
  ctx.moveTo(0, 0)
  for (const [x, y] of [[0, Number.NaN], [1, 2], [2, 3]] as const) ctx.lineTo(x, y)
  assert.deepEqual(calls, ['move 0,0', 'move 1,2', 'line 2,3'])
})

it('noDataHint: stale data says how old it is; "yet" only when there never was any', () => {
  const now = Date.UTC(2026, 0, 15, 12, 0, 0)
  const view: ViewContext = {theme: makeTheme(false), host: 'web-01', windowMs: 15 * 60_000, filter: '', now, outage: false}
  assert.equal(noDataHint('cpu metrics', view), 'no cpu metrics for web-01 yet — run `mon collect`')
  assert.equal(noDataHint('cpu metrics', {...view, lastSeen: now - 2 * 3_600_000}), 'no cpu metrics for web-01 in the last 15m: newest 2h old — is `mon collect` running?')
  assert.equal(noDataHint('cpu metrics', {...view, outage: true, lastSeen: now - 1000}), 'no cpu metrics: waiting for the backend')
})
