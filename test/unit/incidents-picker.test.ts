import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {INITIAL_PICKER, pickerStep, splitKeys, type PickerRow} from '../../src/tui/picker/AlertPicker.js'

const rows: PickerRow[] = ['a', 'b', 'c'].map((k) => ({key: k, id: `${k}${k}${k}${k}`, severity: 'critical', alertname: 'X', labels: '', state: 'firing', age: '1m'}))
const none = {upArrow: false, downArrow: false, pageUp: false, pageDown: false, return: false, escape: false, ctrl: false, meta: false, tab: false, backspace: false, delete: false}
const keys: Record<string, [string, typeof none]> = {
  down: ['', {...none, downArrow: true}],
  up: ['', {...none, upArrow: true}],
  space: [' ', none],
  enter: ['', {...none, return: true}],
  esc: ['', {...none, escape: true}],
  bs: ['', {...none, delete: true}],
  a: ['a', none],
  q: ['q', none],
  ctrlc: ['c', {...none, ctrl: true}],
}

/** A typed word that is not a key name is typed text. */
function run(sequence: string[], askComment = true) {
  let s = INITIAL_PICKER
  for (const k of sequence) {
    const [input, key] = keys[k] ?? [k, none]
    for (const part of splitKeys(input, key)) s = pickerStep(rows, s, part.input, part.key, {askComment, height: 10})
  }
  return s
}

describe('the picker, key by key', () => {
  const cases: Array<[name: string, keys: string[], expect: {phase: string; result?: {keys: string[]; comment?: string}; cursor?: number}, askComment?: boolean]> = [
    ['enter with nothing selected takes the row under the cursor', ['down', 'enter', 'enter'], {phase: 'done', result: {keys: ['b'], comment: undefined}}],
    ['space selects, enter confirms, the comment is typed', ['space', 'down', 'down', 'space', 'enter', 'on it', 'enter'], {phase: 'done', result: {keys: ['a', 'c'], comment: 'on it'}}],
    ['space twice deselects', ['space', 'space', 'down', 'enter', 'enter'], {phase: 'done', result: {keys: ['b'], comment: undefined}}],
    ['a selects all, a again none', ['a', 'enter', 'enter'], {phase: 'done', result: {keys: ['a', 'b', 'c'], comment: undefined}}],
    ['the cursor stops at the ends', ['up', 'down', 'down', 'down', 'down'], {phase: 'select', cursor: 2}],
    ['backspace edits the comment; q is text there', ['enter', 'oops', 'bs', 'bs', 'bs', 'bs', 'q', 'enter'], {phase: 'done', result: {keys: ['a'], comment: 'q'}}],
    ['esc in the comment goes back to the list', ['enter', 'esc', 'down', 'enter', 'enter'], {phase: 'done', result: {keys: ['b'], comment: undefined}}],
    ['esc cancels', ['space', 'esc'], {phase: 'done', result: undefined}],
    ['q cancels', ['q'], {phase: 'done', result: undefined}],
    ['ctrl-c cancels, also in the comment', ['enter', 'ab', 'ctrlc'], {phase: 'done', result: undefined}],
    ['without a comment prompt enter is final', ['down', 'space', 'enter'], {phase: 'done', result: {keys: ['b']}}, false],
    ['keys after the end change nothing', ['enter', 'enter', 'down', 'space'], {phase: 'done', result: {keys: ['a'], comment: undefined}}],
  ]
  for (const [name, seq, expect, askComment] of cases) {
    it(name, () => {
      const s = run(seq, askComment)
      assert.equal(s.phase, expect.phase)
      if (expect.phase === 'done') assert.deepEqual(s.result, expect.result)
      if (expect.cursor !== undefined) assert.equal(s.cursor, expect.cursor)
    })
  }

  it('one read with several keys (space and enter together) is split into its keys', () => {
    assert.deepEqual(
      splitKeys(' \r', none).map((k) => [k.input, k.key.return]),
      [
        [' ', false],
        ['', true],
      ],
    )
    assert.deepEqual(splitKeys('x', none), [{input: 'x', key: none}])
  })
})
