import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {matchPrefix, shortIds, type PrefixMatch} from '../../src/core/incidents/ids.js'

describe('short ids (git-style unique prefixes)', () => {
  const cases: Array<{name: string; fingerprints: string[]; expect: Record<string, string>}> = [
    {name: 'a lone fingerprint gets 4 characters', fingerprints: ['3f9a2c1b00d4e5f6'], expect: {'3f9a2c1b00d4e5f6': '3f9a'}},
    {
      name: 'distinct from the first character: still 4',
      fingerprints: ['3f9a2c1b00d4e5f6', 'a1b2c3d4e5f60718'],
      expect: {'3f9a2c1b00d4e5f6': '3f9a', a1b2c3d4e5f60718: 'a1b2'},
    },
    {
      name: 'sharing 5 characters: 6 for both, others unaffected',
      fingerprints: ['3f9a2c1b00d4e5f6', '3f9a2d0000000000', 'a1b2c3d4e5f60718'],
      expect: {'3f9a2c1b00d4e5f6': '3f9a2c', '3f9a2d0000000000': '3f9a2d', a1b2c3d4e5f60718: 'a1b2'},
    },
    {
      name: 'each gets what it needs against its closest neighbour',
      fingerprints: ['abcd000000000001', 'abcd000000000002', 'abce000000000000'],
      expect: {abcd000000000001: 'abcd000000000001', abcd000000000002: 'abcd000000000002', abce000000000000: 'abce'},
    },
    {name: 'duplicates count once', fingerprints: ['3f9a2c1b00d4e5f6', '3f9a2c1b00d4e5f6'], expect: {'3f9a2c1b00d4e5f6': '3f9a'}},
    {name: 'none', fingerprints: [], expect: {}},
  ]
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(Object.fromEntries(shortIds(c.fingerprints)), c.expect)
    })
  }

  it('every short id resolves back to its own fingerprint', () => {
    const fps = Array.from({length: 300}, (_, i) => (i * 2654435761 >>> 0).toString(16).padStart(8, '0') + 'deadbeef')
    for (const [fp, id] of shortIds(fps)) assert.deepEqual(matchPrefix(id, fps), {kind: 'found', fingerprint: fp}, id)
  })
})

describe('matching a typed id', () => {
  const known = ['3f9a2c1b00d4e5f6', '3f9a2d0000000000', 'a1b2c3d4e5f60718']
  const cases: Array<[typed: string, expect: PrefixMatch]> = [
    ['3f9a2c', {kind: 'found', fingerprint: '3f9a2c1b00d4e5f6'}],
    ['3F9A2C', {kind: 'found', fingerprint: '3f9a2c1b00d4e5f6'}],
    [' a1b2 ', {kind: 'found', fingerprint: 'a1b2c3d4e5f60718'}],
    ['a1b2c3d4e5f60718', {kind: 'found', fingerprint: 'a1b2c3d4e5f60718'}],
    ['3f9a', {kind: 'ambiguous', candidates: ['3f9a2c1b00d4e5f6', '3f9a2d0000000000']}],
    ['3f9a2', {kind: 'ambiguous', candidates: ['3f9a2c1b00d4e5f6', '3f9a2d0000000000']}],
    ['ffff', {kind: 'none'}],
    ['a1b2c3d4e5f607189', {kind: 'none'}],
    ['3f9', {kind: 'invalid', reason: "alert id '3f9' is too short: give at least 4 characters"}],
    ['', {kind: 'invalid', reason: "'' is not an alert id (ids are hex digits, as in mon alerts list)"}],
    ['HighCpu', {kind: 'invalid', reason: "'HighCpu' is not an alert id (ids are hex digits, as in mon alerts list)"}],
    ['3f9a%', {kind: 'invalid', reason: "'3f9a%' is not an alert id (ids are hex digits, as in mon alerts list)"}],
  ]
  for (const [typed, expect] of cases) {
    it(`'${typed}' → ${expect.kind}`, () => {
      assert.deepEqual(matchPrefix(typed, known), expect)
    })
  }
})
