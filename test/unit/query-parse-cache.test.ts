import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatExpr} from '../../src/core/query/ast.js'
import {ParseCache} from '../../src/core/query/parse-cache.js'
import {parseQuery, QueryError} from '../../src/core/query/parser.js'

describe('parse cache', () => {
  it('answers a text with its own parse: the same object again for the same text, never another text’s', () => {
    const cache = new ParseCache()
    const texts = ['avg by (host) (avg_over_time(cpu.usage_user[24h]))', 'avg by (host) (avg_over_time(cpu.usage_user[1h]))', 'cpu.usage_user{host="a"}', 'cpu.usage_user{host="b"}', 'cpu.usage_user{host="a"} ']
    const first = texts.map((t) => cache.get(t))
    for (const [i, t] of texts.entries()) {
      const again = cache.get(t)
      assert.equal(again, first[i], 'the same text: the kept parse')
      assert.equal(again.text, t)
      assert.equal(formatExpr(again.expr), formatExpr(parseQuery(t).expr))
    }
    // texts that differ in one character (or only in white space) have parses of their own
    assert.notEqual(first[2], first[3])
    assert.notEqual(first[2], first[4])
    assert.equal(formatExpr(first[3]!.expr), 'cpu.usage_user{host="b"}')
    assert.equal(cache.size, texts.length)
  })

  it('is bounded: past maxEntries the least recently used text goes', () => {
    const parsed: string[] = []
    const cache = new ParseCache(3, 4096, (text) => {
      parsed.push(text)
      return parseQuery(text)
    })
    for (const t of ['a.x', 'b.x', 'c.x']) cache.get(t)
    cache.get('a.x') // used again: now the most recent
    cache.get('d.x') // evicts b.x, the least recently used
    assert.equal(cache.size, 3)
    parsed.length = 0
    for (const t of ['a.x', 'c.x', 'd.x']) cache.get(t)
    assert.deepEqual(parsed, [], 'kept texts are not parsed again')
    cache.get('b.x')
    assert.deepEqual(parsed, ['b.x'], 'the evicted text is parsed again')
    assert.equal(cache.size, 3)
    for (let i = 0; i < 100; i++) cache.get(`m${i}.x`)
    assert.equal(cache.size, 3)
  })

  it('keeps no text longer than maxTextLength, and no failed parse', () => {
    let parses = 0
    const cache = new ParseCache(10, 20, (text) => {
      parses++
      return parseQuery(text)
    })
    const long = 'cpu.usage_user{host="abcdefghijklmnop"}'
    assert.equal(cache.get(long).text, long)
    assert.equal(cache.get(long).text, long)
    assert.equal(parses, 2)
    assert.equal(cache.size, 0)
    for (let i = 0; i < 2; i++) assert.throws(() => cache.get('sum(cpu.x'), QueryError)
    assert.equal(cache.size, 0)
  })
})
