import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {formatExpr} from '../../src/core/query/ast.js'
import {matches} from '../../src/core/model/matcher.js'
import {MAX_EXPRESSION_DEPTH, parseQuery, QueryError} from '../../src/core/query/parser.js'

describe('query parser: valid expressions', () => {
  // mon's older spellings are read as the PromQL they mean, and printed back as PromQL
  const cases: Array<[string, string]> = [
    ['cpu.usage_user', 'cpu.usage_user'],
    ['cpu.usage_user{cpu="cpu-total"}', 'cpu.usage_user{cpu="cpu-total"}'],
    [`cpu.usage_user{cpu='cpu-total', host!="a"}`, 'cpu.usage_user{cpu="cpu-total", host!="a"}'],
    ['mean(cpu.usage_user{cpu="cpu-total"}) by host', 'avg by (host) (cpu.usage_user{cpu="cpu-total"})'],
    ['mean(cpu.usage_user{cpu="cpu-total"}) by host > 90', 'avg by (host) (cpu.usage_user{cpu="cpu-total"}) > 90'],
    ['max(disk.used_percent) by (host, path)', 'max by (host, path) (disk.used_percent)'],
    ['max(disk.used_percent) by host, path', 'max by (host, path) (disk.used_percent)'],
    ['max by (host, path) (disk.used_percent)', 'max by (host, path) (disk.used_percent)'],
    ['sum without (cpu) (cpu.usage_user)', 'sum without (cpu) (cpu.usage_user)'],
    ['percentile(http_response.response_time, 95) by server', 'quantile by (server) (0.95, http_response.response_time)'],
    ['median(http_response.response_time[5m])', 'quantile (0.5, http_response.response_time[5m])'],
    ['sum(rate(net.bytes_recv{interface=~"eth.*"})) by host', 'sum by (host) (rate(net.bytes_recv{interface=~"eth.*"}))'],
    ['sum by (host) (rate(net.bytes_recv[5m]))', 'sum by (host) (rate(net.bytes_recv[5m]))'],
    ['rate(net.bytes_recv)', 'rate(net.bytes_recv)'],
    ['derivative(mem.used[10m])', 'deriv(mem.used[10m])'],
    ['absent(system.uptime{host="web-01"}[5m])', 'absent_over_time(system.uptime{host="web-01"}[5m])'],
    ['mean(cpu.usage_idle[10m])', 'avg (cpu.usage_idle[10m])'],
    ['mem.used / 1024 / 1024', 'mem.used / 1024 / 1024'],
    ['100 - mean(cpu.usage_idle) by host', '100 - avg by (host) (cpu.usage_idle)'],
    ['-mem.free', '-mem.free'],
    ['(mem.used + mem.free) * 2', '(mem.used + mem.free) * 2'],
    ['2 ^ 3 ^ 2', '2 ^ 3 ^ 2'],
    ['(2 ^ 3) ^ 2', '(2 ^ 3) ^ 2'],
    ['"CPU.load".value', '"CPU.load".value'],
    ['x509_cert."expiry"{source!~"a|b"} < 86400', 'x509_cert.expiry{source!~"a|b"} < 86400'],
    ['round(mean(mem.used_percent))', 'round(avg (mem.used_percent))'],
    ['count(http_response.result_code{result!="success"}) by server >= 1', 'count by (server) (http_response.result_code{result!="success"}) >= 1'],
    ['mean(cpu.usage_user[1h30m])', 'avg (cpu.usage_user[90m])'],
    ['a.x / on(job) group_left(team) b.y', 'a.x / on(job) group_left(team) b.y'],
    ['a.x > bool ignoring(cpu) b.y', 'a.x > bool ignoring(cpu) b.y'],
    ['a.x and b.y or c.z unless d.w', 'a.x and b.y or c.z unless d.w'],
    ['shop.orders offset 1w', 'shop.orders offset 1w'],
    ['shop.orders[5m] @ 1700000000 offset -1h', 'shop.orders[5m] @ 1700000000.000 offset -1h'],
    ['x.y @ start()', 'x.y @ start()'],
    ['max_over_time(rate(x.y[1m])[10m:30s])', 'max_over_time((rate(x.y[1m]))[10m:30s])'],
    ['topk(3, x.y) by (host)', 'topk by (host) (3, x.y)'],
    ['count_values("v", x.y)', 'count_values ("v", x.y)'],
    ['predict_linear(disk.free[6h], 4h) < 0', 'predict_linear(disk.free[6h], 14400) < 0'],
    ['anomaly(sum(rate(shop.orders[5m])), 1w) < -4', 'anomaly(sum (rate(shop.orders[5m])), 604800) < -4'],
    ['time() - timestamp(last_over_time(system.uptime[1h])) > 300', 'time() - timestamp(last_over_time(system.uptime[1h])) > 300'],
    ['{__name__="cpu.usage_user", cpu="cpu0"}', 'cpu.usage_user{cpu="cpu0"}'],
    ['job:requests:rate5m', 'job:requests:rate5m'],
  ]
  for (const [input, canonical] of cases) {
    it(input, () => assert.equal(formatExpr(parseQuery(input).expr), canonical))
  }

  it('keeps matcher details', () => {
    const e = parseQuery('cpu.usage_user{cpu="cpu-total",host=~"web-.*"}').expr
    assert.equal(e.kind, 'vector')
    if (e.kind !== 'vector') return
    assert.deepEqual(e.matchers, [
      {name: 'cpu', op: '=', value: 'cpu-total'},
      {name: 'host', op: '=~', value: 'web-.*'},
    ])
    assert.equal(e.name, 'cpu.usage_user')
  })

  it('a quoted measurement holding a dot keeps its split', () => {
    const e = parseQuery('"CPU.load".value').expr
    assert.ok(e.kind === 'vector')
    assert.deepEqual(e.split, {measurement: 'CPU.load', field: 'value'})
  })
})

describe('query parser: errors point at the offending column', () => {
  const cases: Array<{q: string; col: number; msg: RegExp; hint?: RegExp}> = [
    {q: 'meen(cpu.usage_user)', col: 1, msg: /unknown function 'meen'/, hint: /did you mean 'mean'/},
    // names every JavaScript object has are not functions of the language
    {q: 'constructor(cpu.usage_user)', col: 1, msg: /unknown function 'constructor'/},
    {q: 'x.y + toString(x.y)', col: 7, msg: /unknown function 'toString'/},
    {q: 'mean(cpu.usage_user{cpu="cpu-total") by host', col: 36, msg: /expected ',' or '}'/},
    {q: 'mean(cpu.usage_user', col: 20, msg: /expected '\)' to close mean\(/},
    {q: 'cpu.usage_user{cpu=cpu-total}', col: 20, msg: /expected a quoted value/},
    {q: 'cpu.usage_user{cpu=="x"}', col: 19, msg: /expected =, !=, =~ or !~/, hint: /single =/},
    {q: 'cpu.usage_user{cpu=~"("}', col: 21, msg: /invalid regular expression/},
    {q: 'percentile(x.y)', col: 1, msg: /takes 2 arguments/},
    {q: 'percentile(x.y, 150)', col: 17, msg: /from 0 to 100/},
    // a range where an instant vector is needed, and the other way round
    {q: 'rate(mean(x.y))', col: 6, msg: /rate\(\) expects a range vector as argument 1, got an instant vector/, hint: /rate\(x\[5m\]\)/},
    {q: 'abs(x.y[5m])', col: 5, msg: /abs\(\) expects an instant vector as argument 1, got a range vector/},
    {q: 'x.y[5m] > 1', col: 1, msg: /'>' needs a number or an instant vector on each side, got a range vector/},
    {q: 'topk(3, x.y[5m])', col: 9, msg: /topk\(\) takes an instant vector, got a range vector/},
    {q: 'histogram_quantile(x.y, 0.9)', col: 20, msg: /expects a number as argument 1/},
    {q: 'count_values(3, x.y)', col: 14, msg: /parameter must be a string/},
    {q: 'x.y and 1', col: 5, msg: /'and' needs an instant vector on each side/},
    {q: '1 > 2', col: 3, msg: /needs bool/},
    {q: 'rate(x.y[5m], 3)', col: 1, msg: /rate\(\) takes 1 argument, got 2/},
    {q: 'x.y by host', col: 5, msg: /unexpected 'by'/},
    {q: 'sum(x.y)[5m]', col: 9, msg: /a range \[d\] only follows a selector/, hint: /subquery/},
    {q: 'x.y[5m][1m]', col: 8, msg: /one range/},
    {q: 'x.y[5x]', col: 5, msg: /invalid duration|expected a duration/},
    {q: 'x.y[0s]', col: 5, msg: /must be positive/},
    {q: 'x.y{a="b"', col: 10, msg: /expected ',' or '}'|end of query/},
    {q: '{host="a"}', col: 1, msg: /needs a metric name/},
    {q: '', col: 1, msg: /empty query/},
    {q: 'mean(x.y) @ 3', col: 11, msg: /@ only follows a selector or a subquery/},
    {q: 'x.y offset', col: 11, msg: /expected a duration after offset/},
    {q: 'x."unterminated', col: 3, msg: /unterminated string/},
    {q: 'a.x * on(job) group_left b.y by host', col: 30, msg: /unexpected 'by'/},
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
    assert.equal(parseQuery(deep(MAX_EXPRESSION_DEPTH - 1)).expr.kind, 'vector')
    assert.equal(parseQuery(Array.from({length: MAX_EXPRESSION_DEPTH}, () => 'x.y').join(' + ')).expr.kind, 'binary')
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
