import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatExpr} from '../../src/core/query/ast.js'
import {matches} from '../../src/core/model/matcher.js'
import {MAX_EXPRESSION_DEPTH, parseQuery, QueryError} from '../../src/core/query/parser.js'

describe('query parser: valid expressions', () => {
  const cases: Array<[string, string]> = [
    ['cpu.usage_user', 'cpu.usage_user'],
    ['cpu.usage_user{cpu="cpu-total"}', 'cpu.usage_user{cpu="cpu-total"}'],
    [`cpu.usage_user{cpu='cpu-total', host!="a"}`, 'cpu.usage_user{cpu="cpu-total", host!="a"}'],
    ['mean(cpu.usage_user{cpu="cpu-total"}) by host', 'mean(cpu.usage_user{cpu="cpu-total"}) by (host)'],
    ['mean(cpu.usage_user{cpu="cpu-total"}) by host > 90', 'mean(cpu.usage_user{cpu="cpu-total"}) by (host) > 90'],
    ['max(disk.used_percent) by (host, path)', 'max(disk.used_percent) by (host, path)'],
    ['max(disk.used_percent) by host, path', 'max(disk.used_percent) by (host, path)'],
    ['percentile(http_response.response_time, 95) by server', 'percentile(http_response.response_time, 95) by (server)'],
    ['sum(rate(net.bytes_recv{interface=~"eth.*"})) by host', 'sum(rate(net.bytes_recv{interface=~"eth.*"})) by (host)'],
    ['rate(net.bytes_recv)', 'rate(net.bytes_recv)'],
    ['absent(system.uptime{host="web-01"}[5m])', 'absent(system.uptime{host="web-01"}[5m])'],
    ['mean(cpu.usage_idle[10m])', 'mean(cpu.usage_idle[10m])'],
    ['mem.used / 1024 / 1024', '(mem.used / 1024) / 1024'],
    ['100 - mean(cpu.usage_idle) by host', '100 - mean(cpu.usage_idle) by (host)'],
    ['-mem.free', '-mem.free'],
    ['(mem.used + mem.free) * 2', '(mem.used + mem.free) * 2'],
    ['"CPU.load".value', '"CPU.load".value'],
    ['x509_cert."expiry"{source!~"a|b"} < 86400', 'x509_cert.expiry{source!~"a|b"} < 86400'],
    ['round(mean(mem.used_percent))', 'round(mean(mem.used_percent))'],
    ['count(http_response.result_code{result!="success"}) by server >= 1', 'count(http_response.result_code{result!="success"}) by (server) >= 1'],
    ['mean(cpu.usage_user[1h30m])', 'mean(cpu.usage_user[1h30m])'],
  ]
  for (const [input, canonical] of cases) {
    it(input, () => assert.equal(formatExpr(parseQuery(input)), canonical))
  }

  it('keeps matcher details', () => {
    const e = parseQuery('cpu.usage_user{cpu="cpu-total",host=~"web-.*"}')
    assert.equal(e.kind, 'selector')
    if (e.kind !== 'selector') return
    assert.deepEqual(e.matchers, [
      {name: 'cpu', op: '=', value: 'cpu-total'},
      {name: 'host', op: '=~', value: 'web-.*'},
    ])
    assert.equal(e.measurement, 'cpu')
    assert.equal(e.field, 'usage_user')
  })
})

describe('query parser: errors point at the offending column', () => {
  const cases: Array<{q: string; col: number; msg: RegExp; hint?: RegExp}> = [
    {q: 'meen(cpu.usage_user)', col: 1, msg: /unknown function 'meen'/, hint: /did you mean 'mean'/},
    {q: 'mean(cpu.usage_user{cpu="cpu-total") by host', col: 36, msg: /expected ',' or '}'/},
    {q: 'mean(cpu)', col: 6, msg: /expected measurement\.field, found 'cpu'/},
    {q: 'mean(cpu.usage_user', col: 20, msg: /expected '\)' to close mean\(/},
    {q: 'cpu.usage_user{cpu=cpu-total}', col: 20, msg: /expected a quoted value/},
    {q: 'cpu.usage_user{cpu=="x"}', col: 19, msg: /expected =, !=, =~ or !~/, hint: /single =/},
    {q: 'cpu.usage_user{cpu=~"("}', col: 21, msg: /invalid regular expression/},
    {q: 'percentile(x.y)', col: 1, msg: /takes 2 arguments/},
    {q: 'percentile(x.y, 150)', col: 17, msg: /from 0 to 100/},
    {q: 'mean(mean(x.y))', col: 6, msg: /takes a selector/},
    {q: 'rate(mean(x.y))', col: 6, msg: /takes a selector/},
    {q: 'x.y by host', col: 5, msg: /'by' can only follow an aggregation/},
    {q: 'x.y > 1 > 2', col: 9, msg: /cannot be chained/},
    {q: 'x.y[5x]', col: 5, msg: /invalid duration|expected a duration/},
    {q: 'x.y{a="b"', col: 10, msg: /expected ',' or '}'|end of query/},
    {q: '', col: 1, msg: /empty query/},
    {q: 'mean(x.y) @', col: 11, msg: /unexpected character '@'/},
    {q: 'x."unterminated', col: 3, msg: /unterminated string/},
    {q: '5m', col: 1, msg: /duration is only allowed inside/},
  ]
  for (const c of cases) {
    it(`${JSON.stringify(c.q)} → col ${c.col}`, () => {
      assert.throws(
        () => parseQuery(c.q),
        (err: unknown) => {
          assert.ok(err instanceof QueryError, `expected QueryError, got ${String(err)}`)
          assert.match(err.message, new RegExp(`^query:1:${c.col}: `))
          assert.match(err.message, c.msg)
          if (c.hint) assert.match(err.hint ?? '', c.hint)
          // the caret sits under the column
          const caretLine = (err.details ?? '').split('\n')[1] ?? ''
          assert.equal(caretLine.indexOf('^'), 2 + c.col - 1)
          assert.equal(err.exitCode, 2)
          return true
        },
      )
    })
  }
})

describe('query parser: nesting is limited, with the column of the first level too deep', () => {
  const deep = (n: number) => '('.repeat(n) + 'x.y' + ')'.repeat(n)
  const cases: Array<{name: string; q: string; col: number}> = [
    {name: '2,000 parentheses', q: deep(2000), col: MAX_EXPRESSION_DEPTH + 1},
    {name: '5,000 unary minus signs', q: '-'.repeat(5000) + 'x.y', col: MAX_EXPRESSION_DEPTH + 1},
    {name: '300 nested calls', q: 'abs('.repeat(300) + 'x.y' + ')'.repeat(300), col: 4 * MAX_EXPRESSION_DEPTH + 1},
    // a flat chain is a left-deep tree: evaluation recurses once per operator
    {name: 'a chain of 5,000 additions', q: Array.from({length: 5000}, () => 'x.y').join('+'), col: 4 * (MAX_EXPRESSION_DEPTH + 1)},
  ]
  for (const c of cases) {
    it(`${c.name} → col ${c.col}`, () => {
      assert.throws(
        () => parseQuery(c.q),
        (err: unknown) => {
          assert.ok(err instanceof QueryError, `expected QueryError, got ${String(err)}`)
          assert.equal(err.exitCode, 2)
          assert.match(err.message, new RegExp(`^query:1:${c.col}: expression nested too deeply \\(more than ${MAX_EXPRESSION_DEPTH} levels\\)`))
          assert.equal(((err.details ?? '').split('\n')[1] ?? '').indexOf('^'), 2 + c.col - 1)
          return true
        },
      )
    })
  }

  it(`${MAX_EXPRESSION_DEPTH - 1} parentheses and a chain of ${MAX_EXPRESSION_DEPTH} operands still parse`, () => {
    assert.equal(parseQuery(deep(MAX_EXPRESSION_DEPTH - 1)).kind, 'selector')
    assert.equal(parseQuery(Array.from({length: MAX_EXPRESSION_DEPTH}, () => 'x.y').join(' + ')).kind, 'binary')
  })
})

describe('label regexes: RE2 semantics in linear time', () => {
  const host = (value: string) => ({host: value})
  it('(a|a)*b against 28 (and 10,000) a\'s answers false without backtracking', () => {
    // a backtracking engine takes seconds at 28 characters and doubles per character
    assert.equal(matches({name: 'host', op: '=~', value: '(a|a)*b'}, host('a'.repeat(28))), false)
    assert.equal(matches({name: 'host', op: '=~', value: '(a|a)*b'}, host('a'.repeat(10_000))), false)
    assert.equal(matches({name: 'host', op: '=~', value: '(a|a)*b'}, host('aaab')), true)
  })

  const cases: Array<[string, string, boolean]> = [
    ['web-.*', 'web-01', true],
    ['web', 'web-01', false], // anchored at both ends, as PromQL
    ['a|b', 'ab', false],
    ['(?i)WEB-01', 'web-01', true], // RE2 flags, as Prometheus accepts them
    ['\\d+', '123', true],
    ['é.', 'éé', true],
  ]
  for (const [re, value, want] of cases) it(`${re} =~ ${value} is ${want}`, () => assert.equal(matches({name: 'host', op: '=~', value: re}, host(value)), want))

  for (const re of ['(?=a)', 'a{1001}', 'a(']) {
    it(`${re} (not RE2) is an invalid regular expression at its column`, () => {
      assert.throws(() => parseQuery(`x.y{host=~"${re}"}`), (err: unknown) => err instanceof QueryError && /^query:1:11: invalid regular expression/.test(err.message))
    })
  }
})
