import assert from 'node:assert/strict'
import {it} from 'node:test'
import type {AlertState} from '../../src/core/alerting/types.js'
import {countAlerts, displayState} from '../../src/core/incidents/counts.js'

it('displayState: hand-resolved wins over acked, acked only for pending/firing', () => {
  const cases: Array<[AlertState, {ackedBy?: string; resolvedBy?: string} | undefined, string]> = [
    ['firing', undefined, 'firing'],
    ['firing', {ackedBy: 'a'}, 'acked'],
    ['pending', {ackedBy: 'a'}, 'acked'],
    ['firing', {ackedBy: 'a', resolvedBy: 'b'}, 'resolved'],
    ['firing', {resolvedBy: 'b'}, 'resolved'],
    ['resolved', {ackedBy: 'a'}, 'resolved'],
    ['inactive', undefined, 'inactive'],
  ]
  for (const [state, incident, want] of cases) assert.equal(displayState(state, incident), want, `${state} ${JSON.stringify(incident)}`)
})

it('countAlerts: firing includes acked, excludes hand-resolved; pending apart', () => {
  const alert = (alertState: AlertState, incident?: {ackedBy?: string; resolvedBy?: string}) => ({alertState, state: displayState(alertState, incident)})
  assert.deepEqual(countAlerts([]), {firing: 0, acked: 0, pending: 0})
  assert.deepEqual(
    countAlerts([alert('firing'), alert('firing', {ackedBy: 'a'}), alert('firing', {resolvedBy: 'b'}), alert('pending'), alert('pending', {resolvedBy: 'b'}), alert('resolved'), alert('inactive')]),
    {firing: 2, acked: 1, pending: 1},
  )
})
