import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {nextState, type Condition, type SeriesState} from '../../src/core/alerting/state-machine.js'

const M = 60_000

describe('alert state machine', () => {
  // each row: timing, then (time in minutes, condition) steps with the state expected after each
  const cases: Array<{name: string; forM: number; keepM: number; steps: Array<[number, Condition, string]>}> = [
    {name: 'for 0 fires at once and resolves when the condition clears', forM: 0, keepM: 0, steps: [[0, 'inactive', 'none'], [1, 'active', 'firing'], [2, 'active', 'firing'], [3, 'inactive', 'resolved'], [4, 'inactive', 'resolved']]},
    {name: 'pending until for has passed, then firing', forM: 5, keepM: 0, steps: [[0, 'active', 'pending'], [4, 'active', 'pending'], [5, 'active', 'firing'], [6, 'inactive', 'resolved']]},
    {name: 'pending that clears goes back to inactive, never fires', forM: 5, keepM: 0, steps: [[0, 'active', 'pending'], [3, 'inactive', 'inactive'], [4, 'active', 'pending'], [8, 'active', 'pending'], [9, 'active', 'firing']]},
    {name: 'keep_firing_for holds a firing alert, then resolves', forM: 0, keepM: 2, steps: [[0, 'active', 'firing'], [1, 'inactive', 'firing'], [2, 'inactive', 'firing'], [3, 'inactive', 'resolved']]},
    {name: 'keep_firing_for restarts when the condition returns', forM: 0, keepM: 2, steps: [[0, 'active', 'firing'], [1, 'inactive', 'firing'], [2, 'active', 'firing'], [3, 'inactive', 'firing'], [4, 'inactive', 'firing'], [5, 'inactive', 'resolved']]},
    {name: 'keep leaves every state as it is', forM: 5, keepM: 0, steps: [[0, 'active', 'pending'], [10, 'keep', 'pending'], [11, 'active', 'firing'], [12, 'keep', 'firing'], [13, 'inactive', 'resolved'], [14, 'keep', 'resolved']]},
    {name: 'a resolved alert that comes back starts over at pending', forM: 2, keepM: 0, steps: [[0, 'active', 'pending'], [2, 'active', 'firing'], [3, 'inactive', 'resolved'], [4, 'active', 'pending'], [6, 'active', 'firing']]},
  ]
  for (const c of cases) {
    it(c.name, () => {
      let s: SeriesState | undefined
      for (const [minute, cond, want] of c.steps) {
        s = nextState(s, cond, minute * M, {forMs: c.forM * M, keepFiringForMs: c.keepM * M})
        assert.equal(s?.state ?? 'none', want, `at ${minute}m after ${cond}`)
      }
    })
  }

  it('keeps activeAt through pending → firing and sets firedAt / resolvedAt', () => {
    const t = {forMs: 5 * M, keepFiringForMs: 0}
    let s = nextState(undefined, 'active', 0, t)
    s = nextState(s, 'active', 5 * M, t)
    assert.deepEqual(s, {state: 'firing', activeAt: 0, firedAt: 5 * M})
    s = nextState(s, 'inactive', 7 * M, t)
    assert.deepEqual(s, {state: 'resolved', activeAt: 0, firedAt: 5 * M, resolvedAt: 7 * M, keptFiringSince: undefined})
    s = nextState(s, 'active', 9 * M, t)
    assert.deepEqual(s, {state: 'pending', activeAt: 9 * M})
  })

  it('returns the same object when nothing changes (the engine writes only what changed)', () => {
    const t = {forMs: 5 * M, keepFiringForMs: 0}
    const s = nextState(undefined, 'active', 0, t)
    assert.equal(nextState(s, 'active', M, t), s)
    assert.equal(nextState(s, 'keep', 2 * M, t), s)
  })
})
