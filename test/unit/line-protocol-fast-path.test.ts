/**
 * The listener's byte check takes the common entry in one pass (AsciiChecker.common) and hands
 * everything else to the exact checker: whatever the body, checkAsciiLineProtocol must give the
 * verdict and counts validateLineProtocol gives. Entries built around the edges of that one pass
 * (integer digit counts, suffixes, exponents, escapes, quotes, booleans, line endings, duplicate and
 * required tags, the timestamp's range) and random mixes of them, each alone and inside a body of
 * ordinary entries.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {checkAsciiLineProtocol, checkAsciiLineProtocolParts, validateLineProtocol} from '../../src/core/model/line-protocol/index.js'
import {countMergedValues, type Point} from '../../src/core/model/point.js'

const ORDINARY = 'cpu,host=a,cpu=cpu0 usage_user=12.5,usage_system=3,count=7i 1700000000000000000'

const EDGES = [
  ORDINARY,
  'cpu,host=a v=123456789012345 1',
  'cpu,host=a v=1234567890123456 1',
  'cpu,host=a v=123456789012345i 1',
  'cpu,host=a v=1234567890123456i 1',
  'cpu,host=a v=9223372036854775807i 1',
  'cpu,host=a v=9223372036854775808i 1',
  'cpu,host=a v=1.5e3 1',
  'cpu,host=a v=15e3 1',
  'cpu,host=a v=1.5i 1',
  'cpu,host=a v=1.5u 1',
  'cpu,host=a v=15u 1',
  'cpu,host=a v=1. 1',
  'cpu,host=a v=.5 1',
  'cpu,host=a v=-5 1',
  'cpu,host=a v=- 1',
  'cpu,host=a v=5x 1',
  'cpu,host=a v=5,w=6 1',
  'cpu,host=a v=5,,w=6 1',
  'cpu,host=a v="s",w=t 1',
  'cpu,host=a v="a\\"b",w=F 1',
  'cpu,host=a v="unterminated 1',
  'cpu,host=a v=true,w=false,x=T 1',
  'cpu,host=a v=tru 1',
  'cpu,host=a v=5',
  'cpu,host=a v=5 ',
  'cpu,host=a v=5  1',
  'cpu,host=a  v=5 1',
  'cpu,host=a v=5 1\r',
  'cpu,host=a v=5 -1',
  'cpu,host=a v=5 00000000000000000001',
  'cpu,host=a v=5 9223372036854775806',
  'cpu,host=a v=5 9223372036854775807',
  'cpu,host=a v=5 99999999999999999999',
  'cpu,host=a v=5 1x',
  'cpu,host=a,host=b v=5 1',
  'cpu,host=a,cpu=x,cpu=y v=5 1',
  'cpu,a=1,b=2,c=3,d=4 v=5 1',
  'cpu v=5 1',
  'cpu,host=a\\ b v=5 1',
  'cpu\\,x,host=a v=5 1',
  'c=pu,host=a v=5 1',
  'cpu,host= v=5 1',
  'cpu,=a v=5 1',
  'cpu,host=a=b v=5 1',
  'cpu,host=a v\\ x=5 1',
  'cpu,host=a =5 1',
  'cpu,host=a v= 1',
  ',cpu v=5 1',
  'cpu,host=a',
  'cpu,host=a ',
  'cpu',
  '# a comment',
  '   cpu,host=a v=5 1',
  'cpu,host=a v=5 1 extra',
]

function agree(text: string, required: string[]): void {
  const checked = validateLineProtocol(text, {precision: 'ns', requiredTags: required})
  const quick = checkAsciiLineProtocol(Buffer.from(text), {precision: 'ns', requiredTags: required})
  const expected = checked.errors.length === 0 ? {points: checked.points, untimed: checked.untimed, missingTags: checked.missingTags} : undefined
  assert.deepEqual(quick, expected, JSON.stringify(text))
}

describe('checkAsciiLineProtocol: the one-pass common entry agrees with the exact checker', () => {
  it('every edge entry, alone, with and without a final newline, among ordinary entries', () => {
    for (const required of [[], ['host'], ['cpu', 'host']]) {
      for (const e of EDGES) {
        agree(e, required)
        agree(e + '\n', required)
        agree(`${ORDINARY}\n${e}\n${ORDINARY}\n`, required)
        agree(`${ORDINARY}\r\n${e}\r\n`, required)
      }
    }
  })

  it('random bodies of edge entries', () => {
    let state = 7
    const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    for (let n = 0; n < 2000; n++) {
      const lines = Array.from({length: 1 + Math.floor(random() * 6)}, () => (random() < 0.5 ? ORDINARY : EDGES[Math.floor(random() * EDGES.length)]!))
      agree(lines.join(random() < 0.8 ? '\n' : '\r\n') + (random() < 0.7 ? '\n' : ''), random() < 0.5 ? [] : ['host'])
    }
  })
})

/** Entries whose string values hold newlines: a part cut after one is cut inside a string. */
const MULTILINE = ['cpu,host=a s="two\nlines" 1', 'cpu,host=a s="a\\"\n" 1', 'cpu,host=a s="\n",t="x\ny" 1', 'cpu,host=a s="open\n']

/** `bytes` cut at `cuts` (sorted, within it), as a body arrives in socket reads. */
function cutAt(bytes: Buffer, cuts: number[]): Buffer[] {
  const parts: Buffer[] = []
  let from = 0
  for (const at of cuts) {
    parts.push(bytes.subarray(from, at))
    from = at
  }
  parts.push(bytes.subarray(from))
  return parts
}

/**
 * The body checked in parts says what the whole body says; where a cut falls inside a quoted
 * string (only possible when the body has a `"`) it may instead say "undefined" (take the exact way).
 */
function agreeInParts(text: string, required: string[], cuts: number[]): void {
  const opts = {precision: 'ns' as const, requiredTags: required}
  const bytes = Buffer.from(text)
  const whole = checkAsciiLineProtocol(bytes, opts)
  const inParts = checkAsciiLineProtocolParts(cutAt(bytes, cuts), opts)
  if (inParts !== undefined || !text.includes('"')) assert.deepEqual(inParts, whole, `${JSON.stringify(text)} cut at ${cuts.join(',')}`)
}

describe('checkAsciiLineProtocolParts: a body checked in the parts it arrived in, never joined', () => {
  it('every edge entry among ordinary ones, cut at every byte, and around every newline', () => {
    for (const required of [[], ['host']]) {
      for (const e of [...EDGES, ...MULTILINE]) {
        for (const text of [`${ORDINARY}\n${e}\n${ORDINARY}\n`, `${ORDINARY}\r\n${e}`, e]) {
          for (let at = 0; at <= text.length; at++) agreeInParts(text, required, [at])
          const newlines = [...text.matchAll(/\n/g)].map((m) => m.index!)
          agreeInParts(text, required, newlines.map((i) => i + 1))
          agreeInParts(text, required, newlines)
          agreeInParts(text, required, [...new Set(newlines.flatMap((i) => [i, i + 1]))].sort((a, b) => a - b))
        }
      }
    }
  })

  it('the same counts as the whole body when every cut is at an entry end (no strings), with empty parts', () => {
    const text = `${ORDINARY}\nmem,cpu=1 v=2 3\n\n# c\n${ORDINARY}`
    assert.deepEqual(checkAsciiLineProtocolParts(cutAt(Buffer.from(text), [0, 0, 10, 10, 30, text.length]), {precision: 'ns', requiredTags: ['host']}), {points: 3, untimed: 0, missingTags: 1})
    assert.deepEqual(checkAsciiLineProtocolParts([], {precision: 'ns'}), {points: 0, untimed: 0, missingTags: 0})
    // a cut inside a string that holds a newline: unterminated before the cut, so not answered
    assert.equal(checkAsciiLineProtocolParts(cutAt(Buffer.from('cpu,host=a s="two\nlines" 1\n'), [18])), undefined)
    assert.deepEqual(checkAsciiLineProtocol(Buffer.from('cpu,host=a s="two\nlines" 1\n')), {points: 1, untimed: 0, missingTags: 0})
  })

  it('random bodies cut at random places', () => {
    let state = 11
    const random = () => (state = (state * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31
    const pool = [...EDGES, ...MULTILINE]
    for (let n = 0; n < 3000; n++) {
      const lines = Array.from({length: 1 + Math.floor(random() * 6)}, () => (random() < 0.5 ? ORDINARY : pool[Math.floor(random() * pool.length)]!))
      const text = lines.join(random() < 0.8 ? '\n' : '\r\n') + (random() < 0.7 ? '\n' : '')
      const cuts = Array.from({length: Math.floor(random() * 5)}, () => Math.floor(random() * (text.length + 1))).sort((a, b) => a - b)
      agreeInParts(text, random() < 0.5 ? [] : ['host'], cuts)
    }
  })
})

describe('countMergedValues', () => {
  const p = (host: string, ts: number, fields: Point['fields'] = {v: 1}): Point => ({measurement: 'm', tags: {host}, fields, ts})

  it('is 0 when every series only rises, without a key per value', () => {
    assert.equal(countMergedValues([p('a', 1), p('b', 1), p('a', 2), p('b', 3)]), 0)
  })

  it('counts the values a later point replaces once a series repeats a timestamp', () => {
    assert.equal(countMergedValues([p('a', 1, {v: 1, w: 2}), p('a', 2), p('a', 1, {v: 3})]), 1)
    assert.equal(countMergedValues([p('a', 2), p('a', 1)]), 0)
    assert.equal(countMergedValues([p('a', 1), p('a', 1), p('a', 1)]), 2)
  })
})
