import assert from 'node:assert/strict'
import {it} from 'node:test'
import * as lineProtocol from '../../src/core/model/line-protocol/index.js'
import {NAME_SPECIAL, precisionTable} from '../../src/core/model/line-protocol/common.js'

it('line-protocol/index.ts exports the public API of the former single file (and the store fast path), nothing internal', () => {
  assert.deepEqual(Object.keys(lineProtocol).sort(), [
    'MAX_KEY_BYTES',
    'MAX_STRING_FIELD_BYTES',
    'PointSerializer',
    'checkAsciiLineProtocol',
    'checkAsciiLineProtocolParts',
    'formatLineError',
    'parseLineColumns',
    'parseLineProtocol',
    'parsePrecision',
    'serializePoint',
    'serializePoints',
    'validateLineProtocol',
  ])
})

it('the string and byte paths share one name character class and one precision table', () => {
  // The byte checker used to keep its own 256-entry copy of the table.
  assert.deepEqual([...NAME_SPECIAL.keys()].filter((c) => NAME_SPECIAL[c] === 1), [10, 32, 44, 61, 92])
  assert.equal(precisionTable('s').msPerUnit, 1000)
  assert.throws(() => precisionTable('x' as never), /invalid precision "x"/)
})
