import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import type {SelectStatement, ShowStatement} from '../../src/core/query/influxql/ast.js'
import {durationNs, Lexer} from '../../src/core/query/influxql/lexer.js'
import {InfluxQLParseError, parseInfluxQL, parseInfluxQLExpr} from '../../src/core/query/influxql/parser.js'

function select(q: string): SelectStatement {
  const [st] = parseInfluxQL(q)
  assert.equal(st.kind, 'select')
  return st as SelectStatement
}

function parseError(q: string): string {
  try {
    parseInfluxQL(q)
  } catch (error) {
    assert.ok(error instanceof InfluxQLParseError, String(error))
    return error.message
  }

  assert.fail(`${q} parsed`)
}

describe('InfluxQL lexer', () => {
  it('scans identifiers, quoted identifiers, strings, numbers, durations and operators', () => {
    const lx = new Lexer(`SELECT "a b"::field, 'it\\'s', 1.5, 10, 10s, 1700000000000ms, 1h30m, =~ <> != >= $p`)
    const toks: string[] = []
    for (let t = lx.scan(); t.tok !== 'EOF'; t = lx.scan()) toks.push(`${t.tok}:${t.lit}`)
    assert.deepEqual(toks, [
      'KEYWORD:SELECT', 'IDENT:a b', 'OP:::', 'KEYWORD:FIELD', 'OP:,', "STRING:it's", 'OP:,', 'NUMBER:1.5', 'OP:,', 'INTEGER:10', 'OP:,', 'DURATION:10s', 'OP:,',
      'DURATION:1700000000000ms', 'OP:,', 'DURATION:1h30m', 'OP:,', 'OP:=~', 'OP:!=', 'OP:!=', 'OP:>=', 'BOUNDPARAM:p',
    ])
  })

  it('durations in nanoseconds', () => {
    assert.equal(durationNs('1700000000000ms'), 1_700_000_000_000_000_000n)
    assert.equal(durationNs('1h30m'), 5_400_000_000_000n)
    assert.equal(durationNs('1w'), 604_800_000_000_000n)
    assert.equal(durationNs('5u'), 5000n)
  })

  it('skips comments', () => {
    const st = select('SELECT mean(x) -- the mean\nFROM /* measurement */ cpu')
    assert.deepEqual(st.sources, [{kind: 'measurement', name: 'cpu'}])
  })
})

describe('InfluxQL parser', () => {
  it("parses Grafana's default query", () => {
    const st = select(`SELECT mean("value") FROM "cpu" WHERE ("host" =~ /^(a|b)$/) AND time >= 1700000000000ms and time <= 1700003600000ms GROUP BY time(10s), "host" fill(null)`)
    assert.deepEqual(st.fields, [{expr: {kind: 'call', name: 'mean', args: [{kind: 'ref', name: 'value', type: undefined}]}}])
    assert.deepEqual(st.sources, [{kind: 'measurement', name: 'cpu'}])
    assert.deepEqual(st.groupByTime, {every: 10_000, offset: 0})
    assert.deepEqual(st.groupByTags, ['host'])
    assert.deepEqual(st.fill, {kind: 'null'})
    assert.equal(st.condition?.kind, 'binary')
  })

  it('sources: db.rp.m, rp.m, db..m, regexes and subqueries', () => {
    assert.deepEqual(select('SELECT x FROM "db"."rp"."m"').sources, [{kind: 'measurement', database: 'db', retentionPolicy: 'rp', name: 'm'}])
    assert.deepEqual(select('SELECT x FROM "autogen"."m"').sources, [{kind: 'measurement', retentionPolicy: 'autogen', name: 'm'}])
    assert.deepEqual(select('SELECT x FROM db..m').sources, [{kind: 'measurement', database: 'db', retentionPolicy: undefined, name: 'm'}])
    assert.deepEqual(select('SELECT x FROM /^c.*/').sources, [{kind: 'measurement', regex: '^c.*'}])
    assert.deepEqual(select('SELECT x FROM "db"."rp"./a\\/b/').sources, [{kind: 'measurement', database: 'db', retentionPolicy: 'rp', regex: 'a/b'}])
    const sub = select('SELECT mean(y) FROM (SELECT x AS y FROM cpu) GROUP BY host').sources[0]
    assert.equal(sub.kind, 'subquery')
  })

  it('fill, ORDER BY, LIMIT/OFFSET/SLIMIT/SOFFSET and tz', () => {
    const st = select(`SELECT mean(x) FROM m GROUP BY time(1m, 15s) fill(linear) ORDER BY time DESC LIMIT 10 OFFSET 2 SLIMIT 3 SOFFSET 1 tz('Europe/Paris')`)
    assert.deepEqual(st.groupByTime, {every: 60_000, offset: 15_000})
    assert.deepEqual(st.fill, {kind: 'linear'})
    assert.equal(st.descending, true)
    assert.deepEqual([st.limit, st.offset, st.slimit, st.soffset, st.tz], [10, 2, 3, 1, 'Europe/Paris'])
    assert.deepEqual(select('SELECT mean(x) FROM m GROUP BY time(1m) fill(-1.5)').fill, {kind: 'number', value: -1.5})
    assert.deepEqual(select('SELECT mean(x) FROM m GROUP BY time(1m) fill(previous)').fill, {kind: 'previous'})
    assert.deepEqual(select('SELECT mean(x) FROM m GROUP BY time(1m) fill(none)').fill, {kind: 'none'})
    assert.equal(select('SELECT mean(x) FROM m GROUP BY *').groupByWildcard, true)
  })

  it('operator precedence as InfluxQL: * before +, comparisons before AND before OR', () => {
    const e = parseInfluxQLExpr('a + b * 2 > 3 AND c = \'x\' OR d =~ /y/')
    assert.equal(e.kind, 'binary')
    if (e.kind !== 'binary') return
    assert.equal(e.op, 'OR')
    assert.equal(e.lhs.kind === 'binary' && e.lhs.op, 'AND')
    const cmp = e.lhs.kind === 'binary' ? e.lhs.lhs : undefined
    assert.equal(cmp?.kind === 'binary' && cmp.op, '>')
    const sum = cmp?.kind === 'binary' ? cmp.lhs : undefined
    assert.equal(sum?.kind === 'binary' && sum.op, '+')
    assert.equal(sum?.kind === 'binary' && sum.rhs.kind === 'binary' && sum.rhs.op, '*')
    assert.deepEqual(parseInfluxQLExpr('10 - 3 - 2'), {
      kind: 'binary',
      op: '-',
      lhs: {kind: 'binary', op: '-', lhs: {kind: 'number', value: 10, integer: true}, rhs: {kind: 'number', value: 3, integer: true}},
      rhs: {kind: 'number', value: 2, integer: true},
    })
  })

  it('dotted names are one field name', () => {
    assert.deepEqual(parseInfluxQLExpr('a.b + "c"."d"'), {kind: 'binary', op: '+', lhs: {kind: 'ref', name: 'a.b', type: undefined}, rhs: {kind: 'ref', name: 'c.d', type: undefined}})
  })

  it('now() - 1h and negative numbers', () => {
    const e = parseInfluxQLExpr('time > now() - 1h')
    assert.deepEqual(e, {kind: 'binary', op: '>', lhs: {kind: 'ref', name: 'time', type: undefined}, rhs: {kind: 'binary', op: '-', lhs: {kind: 'call', name: 'now', args: []}, rhs: {kind: 'duration', ns: 3_600_000_000_000n, ms: 3_600_000}}})
    assert.deepEqual(parseInfluxQLExpr('-2.5'), {kind: 'number', value: -2.5, integer: false})
  })

  it('SHOW statements', () => {
    const show = (q: string) => parseInfluxQL(q)[0] as ShowStatement
    assert.deepEqual(show('SHOW DATABASES'), {kind: 'showDatabases'})
    assert.deepEqual(show('SHOW MEASUREMENTS WITH MEASUREMENT =~ /cp/ LIMIT 100'), {kind: 'showMeasurements', database: undefined, op: '=~', regex: 'cp', condition: undefined, limit: 100, offset: 0})
    assert.deepEqual(show('SHOW TAG VALUES FROM "cpu" WITH KEY = "host"'), {kind: 'showTagValues', database: undefined, sources: [{kind: 'measurement', name: 'cpu'}], keyOp: '=', keys: ['host'], condition: undefined, limit: 0, offset: 0})
    const inKeys = show('SHOW TAG VALUES WITH KEY IN ("host", "cpu") WHERE host = \'a\'')
    assert.equal(inKeys.kind === 'showTagValues' && inKeys.keyOp, 'IN')
    assert.deepEqual(inKeys.kind === 'showTagValues' && inKeys.keys, ['host', 'cpu'])
    assert.ok(inKeys.kind === 'showTagValues' && inKeys.condition)
    assert.deepEqual(show('SHOW RETENTION POLICIES ON "telegraf"'), {kind: 'showRetentionPolicies', database: 'telegraf'})
    assert.equal(show('SHOW FIELD KEYS FROM cpu').kind, 'showFieldKeys')
    assert.equal(show('SHOW TAG KEYS ON db FROM cpu LIMIT 1').kind, 'showTagKeys')
    assert.equal(show('SHOW SERIES FROM cpu WHERE host = \'a\'').kind, 'showSeries')
    assert.deepEqual(parseInfluxQL('SHOW USERS'), [{kind: 'unsupported', text: 'SHOW USERS'}])
  })

  it('several statements; writes and administration parse as unsupported', () => {
    const sts = parseInfluxQL('SHOW DATABASES; CREATE DATABASE x;; SELECT x FROM m;')
    assert.deepEqual(
      sts.map((s) => s.kind),
      ['showDatabases', 'unsupported', 'select'],
    )
    assert.deepEqual(sts[1], {kind: 'unsupported', text: 'CREATE DATABASE x'})
  })

  it('bound parameters', () => {
    const st = parseInfluxQL('SELECT x FROM m WHERE host = $h AND v > $n', {params: {h: 'a', n: 3}})[0] as SelectStatement
    assert.deepEqual(st.condition, {
      kind: 'binary',
      op: 'AND',
      lhs: {kind: 'binary', op: '=', lhs: {kind: 'ref', name: 'host', type: undefined}, rhs: {kind: 'string', value: 'a'}},
      rhs: {kind: 'binary', op: '>', lhs: {kind: 'ref', name: 'v', type: undefined}, rhs: {kind: 'number', value: 3, integer: true}},
    })
    assert.equal(parseError('SELECT x FROM m WHERE host = $h'), 'missing parameter: h')
  })

  it("errors in InfluxDB 1.x's words and positions", () => {
    assert.equal(parseError('SELECT'), 'found EOF, expected identifier, string, number, bool at line 1, char 8')
    assert.equal(parseError('SELECT foo'), 'found EOF, expected FROM at line 1, char 12')
    assert.equal(parseError('SELECT mean(x) FROM'), 'found EOF, expected identifier at line 1, char 21')
    assert.equal(parseError('FOO'), 'found FOO, expected SELECT, DELETE, SHOW, CREATE, DROP, EXPLAIN, GRANT, REVOKE, ALTER, SET, KILL at line 1, char 1')
    assert.equal(parseError('SELECT x FROM cpu; SELECT'), 'found EOF, expected identifier, string, number, bool at line 1, char 27')
    assert.equal(parseError('SHOW FOO'), 'found FOO, expected CONTINUOUS, DATABASES, DIAGNOSTICS, FIELD, GRANTS, MEASUREMENT, MEASUREMENTS, QUERIES, RETENTION, SERIES, SHARD, SHARDS, STATS, SUBSCRIPTIONS, TAG, USERS at line 1, char 6')
    assert.equal(parseError('SHOW TAG VALUES FROM cpu'), 'found EOF, expected WITH at line 1, char 26')
    assert.equal(parseError('SELECT mean(x) FROM cpu ORDER BY host'), 'only ORDER BY time supported at this time')
    assert.equal(parseError('SELECT mean(x) FROM cpu GROUP BY time(1m) fill(foo)'), 'expected number argument in fill()')
    assert.equal(parseError('SELECT mean(v) FROM tie WHERE host =~ /(/'), 'error parsing regexp: missing closing ): `(` at line 1, char 38')
    assert.equal(parseError('SELECT x FROM cpu\nWHERE'), 'found EOF, expected identifier, string, number, bool at line 2, char 7')
    assert.equal(parseError('SELECT x FROM cpu x'), 'found x, expected ; at line 1, char 19')
  })
})
