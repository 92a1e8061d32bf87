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
import {checkAsciiLineProtocol, validateLineProtocol} from '../../src/core/model/line-protocol/index.js'
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
