import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {requestTarget} from '../../src/core/daemon/api.js'
import {tokenChecker, tokenMatches} from '../../src/core/daemon/auth.js'

describe('api: request targets', () => {
  // what the server read from new URL(target, base) before: the same path and parameters for every kind of target
  const targets = [
    '/api/v1/query?query=avg+by+(host)+(avg_over_time(cpu.usage_user%5B24h%5D))&time=1795564800',
    '/api/v1/query',
    '/api/v1/query?',
    '/api/v1/query?query=a%20b&query=c&x=1&&y',
    '/api/v1/query?q=%zz&r=%4',
    '/api/v1/query?q="<>`{}\'',
    '/api/v1/query?q=\u00fc\u00e9\u0001',
    '/api/v1/label/host/values?match[]=cpu.usage_user',
    '/api/v1/query?q=a#fragment&b=2',
    '/api/v1/../v1/query?query=x',
    '/api/v1/./query?query=x',
    '//evil.example/api/v1/query?query=x',
    '/api//v1/query?query=x',
    '/api/v1/%71uery?query=x',
    '/api/v1/qu ery?query=x',
    '/api\\v1\\query?query=x',
    '/alerts/0123abcd',
    'http://mon.example/api/v1/query?query=x',
    '*',
    '',
  ]
  for (const target of targets) {
    it(JSON.stringify(target), () => {
      const url = new URL(target, 'http://mon.invalid')
      const got = requestTarget(target)
      assert.equal(got.pathname, url.pathname)
      assert.deepEqual([...got.searchParams], [...url.searchParams])
    })
  }

  it('the parameters can be added to (a form body joins them)', () => {
    const t = requestTarget('/api/v1/query?time=1')
    t.searchParams.append('query', 'up')
    assert.deepEqual([...t.searchParams], [['time', '1'], ['query', 'up']])
  })
})

describe('api: token check', () => {
  it('the checker made once answers as tokenMatches', () => {
    const check = tokenChecker('s3cret')
    for (const given of ['s3cret', 's3cre', 's3crett', '', undefined, 'S3CRET']) assert.equal(check(given), given === 's3cret')
    for (const given of ['s3cret', 'x', undefined]) assert.equal(tokenMatches(given, 's3cret'), given === 's3cret')
  })

  it('without a token nothing matches', () => {
    for (const expected of [undefined, '']) for (const given of ['', 'x', undefined]) assert.equal(tokenChecker(expected)(given), false)
  })
})
