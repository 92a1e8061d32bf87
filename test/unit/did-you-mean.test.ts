import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {closest, didYouMean, editDistance} from '../../src/core/did-you-mean.js'
import {didYouMean as configDidYouMean} from '../../src/core/config/problems.js'
import {parseQuery, QueryError} from '../../src/core/query/parser.js'

describe('did-you-mean: one edit distance for every suggestion', () => {
  it('counts a swap of two neighbouring letters as one edit, ignoring case', () => {
    assert.equal(editDistance('basnet', 'absent'), 2)
    assert.equal(editDistance('Rtae', 'rate'), 1)
    assert.equal(editDistance('', 'abc'), 3)
  })

  it('the config loader re-exports the same helper', () => {
    assert.equal(configDidYouMean, didYouMean)
  })

  it('the query language guesses a function name with two swapped pairs (one distance, not its own)', () => {
    // Plain Levenshtein (the query parser's former private copy) puts 'basnet' 4 edits from 'absent': no guess.
    assert.equal(closest('basnet', ['absent', 'rate']), 'absent')
    assert.throws(
      () => parseQuery('basnet(system.uptime)'),
      (error: unknown) => error instanceof QueryError && /did you mean 'absent'/.test(String((error as QueryError).hint)),
    )
  })

  it('keeps each caller’s threshold: strict for config keys, looser for query names', () => {
    assert.equal(didYouMean('mxa_bytes', ['max_bytes']), 'max_bytes')
    assert.equal(didYouMean('zzzz', ['rate']), undefined)
    assert.equal(closest('zzzz', ['rate']), undefined)
    assert.equal(closest('meen', ['mean', 'min']), 'mean')
  })
})
