import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {
  compilePlan,
  framesFromSeries,
  matcherCondition,
  parseQueryAnswer,
  quoteIdent,
  quoteString,
  regexLiteral,
  showTagValues,
  type InfluxSeries,
} from '../../src/core/store/influx/influxql.js'
import type {QueryPlan} from '../../src/core/store/types.js'

const base: QueryPlan = {measurement: 'cpu', field: 'usage_user', matchers: [], start: 1_000, end: 61_000}
const RANGE = 'time >= 1000ms AND time < 61000ms'

describe('InfluxQL literals', () => {
  const cases: Array<[string, string, string]> = [
    ['plain identifier', quoteIdent('host'), '"host"'],
    ['identifier with a double quote', quoteIdent('a"b'), '"a\\"b"'],
    ['identifier with a backslash', quoteIdent('a\\b'), '"a\\\\b"'],
    ['identifier with a newline', quoteIdent('a\nb'), '"a\\nb"'],
    ['string with a single quote', quoteString("it's"), "'it\\'s'"],
    ['string with a backslash', quoteString('C:\\temp'), "'C:\\\\temp'"],
    ['empty string', quoteString(''), "''"],
    ['regex is anchored', regexLiteral('web.*'), '/^(?:web.*)$/'],
    ['regex: a bare slash is escaped', regexLiteral('/var/log'), '/^(?:\\/var\\/log)$/'],
    ['regex: an escaped slash stays one escape', regexLiteral('a\\/b'), '/^(?:a\\/b)$/'],
    ['regex: other escapes pass through', regexLiteral('\\d+\\.\\d+'), '/^(?:\\d+\\.\\d+)$/'],
    ['regex: escaped backslash before a slash', regexLiteral('a\\\\/b'), '/^(?:a\\\\\\/b)$/'],
    ['regex: alternation stays inside the group', regexLiteral('a|b'), '/^(?:a|b)$/'],
  ]
  for (const [name, got, want] of cases) it(name, () => assert.equal(got, want))

  const matchers: Array<[string, string]> = [
    ['=', `"host"::tag = 'a'`],
    ['!=', `"host"::tag != 'a'`],
    ['=~', `"host"::tag =~ /^(?:a)$/`],
    ['!~', `"host"::tag !~ /^(?:a)$/`],
  ]
  for (const [op, want] of matchers) {
    it(`matcher ${op}`, () => assert.equal(matcherCondition({name: 'host', op: op as '=', value: 'a'}), want))
  }
})

describe('compilePlan', () => {
  const cases: Array<{name: string; plan: Partial<QueryPlan>; rp?: string; want: string}> = [
    {name: 'raw points, every series', plan: {}, want: `SELECT "usage_user"::field FROM "cpu" WHERE ${RANGE} GROUP BY *`},
    {
      name: 'raw points with matchers',
      plan: {matchers: [{name: 'host', op: '=', value: 'web-1'}, {name: 'cpu', op: '!~', value: 'cpu[0-9]+'}]},
      want: `SELECT "usage_user"::field FROM "cpu" WHERE ${RANGE} AND "host"::tag = 'web-1' AND "cpu"::tag !~ /^(?:cpu[0-9]+)$/ GROUP BY *`,
    },
    {name: 'most recent N per series', plan: {limit: 1}, want: `SELECT "usage_user"::field FROM "cpu" WHERE ${RANGE} GROUP BY * ORDER BY time DESC LIMIT 1`},
    {name: 'retention policy qualifies the measurement', plan: {}, rp: 'one week', want: `SELECT "usage_user"::field FROM "one week"."cpu" WHERE ${RANGE} GROUP BY *`},
    {name: 'one aggregate over everything', plan: {aggregate: {fn: 'mean', by: []}}, want: `SELECT mean("usage_user"::field) FROM "cpu" WHERE ${RANGE}`},
    {name: 'aggregate by tags', plan: {aggregate: {fn: 'max', by: ['host', 'cpu']}}, want: `SELECT max("usage_user"::field) FROM "cpu" WHERE ${RANGE} GROUP BY "host", "cpu"`},
    {
      name: 'aggregate per bucket',
      plan: {every: 60_000, aggregate: {fn: 'sum', by: ['host']}},
      want: `SELECT sum("usage_user"::field) FROM "cpu" WHERE ${RANGE} GROUP BY time(60000ms), "host" fill(none)`,
    },
    {name: 'percentile keeps its parameter', plan: {aggregate: {fn: 'percentile', param: 99.9, by: []}}, want: `SELECT percentile("usage_user"::field, 99.9) FROM "cpu" WHERE ${RANGE}`},
    {name: 'rate over raw points', plan: {transform: 'rate'}, want: `SELECT non_negative_derivative("usage_user"::field, 1s) FROM "cpu" WHERE ${RANGE} GROUP BY *`},
    {
      name: 'derivative over the last value of each bucket',
      plan: {transform: 'derivative', every: 30_000},
      want: `SELECT derivative(last("usage_user"::field), 1s) FROM "cpu" WHERE ${RANGE} GROUP BY time(30000ms), * fill(none)`,
    },
    {
      name: 'aggregated rate: subquery per series, aggregate outside',
      plan: {transform: 'rate', aggregate: {fn: 'sum', by: ['host']}, matchers: [{name: 'interface', op: '!=', value: 'lo'}]},
      want: `SELECT sum("__mon_value") FROM (SELECT non_negative_derivative("usage_user"::field, 1s) AS "__mon_value" FROM "cpu" WHERE ${RANGE} AND "interface"::tag != 'lo' GROUP BY *) WHERE ${RANGE} GROUP BY "host"`,
    },
    {
      name: 'aggregated rate per bucket',
      plan: {transform: 'rate', every: 60_000, aggregate: {fn: 'max', by: []}},
      want: `SELECT max("__mon_value") FROM (SELECT non_negative_derivative(last("usage_user"::field), 1s) AS "__mon_value" FROM "cpu" WHERE ${RANGE} GROUP BY time(60000ms), * fill(none)) WHERE ${RANGE} GROUP BY time(60000ms) fill(none)`,
    },
    {
      name: 'names that need quoting',
      plan: {measurement: 'http "checks"', field: 'response time', aggregate: {fn: 'count', by: ["it's"]}},
      want: `SELECT count("response time"::field) FROM "http \\"checks\\"" WHERE ${RANGE} GROUP BY "it's"`,
    },
  ]
  for (const c of cases) {
    it(c.name, () => assert.equal(compilePlan({...base, ...c.plan}, {retentionPolicy: c.rp}), c.want))
  }

  it('refuses a time that is not integer milliseconds', () => {
    assert.throws(() => compilePlan({...base, start: 1.5}), /not an integer/)
  })

  it('SHOW TAG VALUES quotes the key', () => {
    assert.equal(showTagValues('cpu', 'host'), 'SHOW TAG VALUES FROM "cpu" WITH KEY = "host"')
  })
})

describe('framesFromSeries: InfluxDB answers → embedded-store frames', () => {
  const series = (tags: Record<string, string> | undefined, values: unknown[][], column = 'v'): InfluxSeries => ({name: 'cpu', tags, columns: ['time', column], values})
  const cases: Array<{name: string; plan: Partial<QueryPlan>; input: InfluxSeries[]; want: Array<{tags: Record<string, string>; columns: string[]; rows: unknown[][]}>}> = [
    {
      name: 'raw: empty tags from GROUP BY * are dropped, frames sorted by tags, nulls skipped',
      plan: {},
      input: [series({host: 'b', cpu: ''}, [[5, 2], [6, null]]), series({host: 'a', cpu: 'c0'}, [[5, 1]])],
      want: [
        {tags: {cpu: 'c0', host: 'a'}, columns: ['time', 'usage_user'], rows: [[5, 1]]},
        {tags: {host: 'b'}, columns: ['time', 'usage_user'], rows: [[5, 2]]},
      ],
    },
    {
      name: 'raw with limit: newest-first rows are put back in time order',
      plan: {limit: 2},
      input: [series({host: 'a'}, [[9, 3], [8, 2]])],
      want: [{tags: {host: 'a'}, columns: ['time', 'usage_user'], rows: [[8, 2], [9, 3]]}],
    },
    {
      name: 'aggregate without every: the time is the range start (max returns the point time)',
      plan: {aggregate: {fn: 'max', by: ['host', 'zone']}},
      input: [series({host: 'a', zone: ''}, [[42_000, 7]], 'max')],
      want: [{tags: {host: 'a', zone: ''}, columns: ['time', 'max'], rows: [[1_000, 7]]}],
    },
    {
      name: 'aggregate: a missing group tag becomes empty, null results are dropped',
      plan: {every: 10_000, aggregate: {fn: 'stddev', by: ['host']}},
      input: [series(undefined, [[0, null], [10_000, 0.5]], 'stddev'), series({host: 'b'}, [[0, null]], 'stddev')],
      want: [{tags: {host: ''}, columns: ['time', 'stddev'], rows: [[10_000, 0.5]]}],
    },
    {
      name: 'aggregate without by: no tags',
      plan: {aggregate: {fn: 'count', by: []}},
      input: [{name: 'cpu', columns: ['time', 'count'], values: [[1_000, 12]]}],
      want: [{tags: {}, columns: ['time', 'count'], rows: [[1_000, 12]]}],
    },
    {
      name: 'first() of a string field is null, as in the embedded store',
      plan: {aggregate: {fn: 'first', by: []}},
      input: [series(undefined, [[1_000, 'text']], 'first')],
      want: [{tags: {}, columns: ['time', 'first'], rows: [[1_000, null]]}],
    },
    {
      name: 'transform: the column is named after the transform',
      plan: {transform: 'rate'},
      input: [series({host: 'a', cpu: ''}, [[2_000, 0.5]], 'non_negative_derivative')],
      want: [{tags: {host: 'a'}, columns: ['time', 'rate'], rows: [[2_000, 0.5]]}],
    },
    {
      name: 'derivative per bucket: the first bucket (computed by InfluxDB from before the range) is dropped',
      plan: {transform: 'derivative', every: 500},
      input: [series({host: 'a'}, [[1_000, 9], [1_500, 1], [2_000, 2]], 'derivative')],
      want: [{tags: {host: 'a'}, columns: ['time', 'derivative'], rows: [[1_500, 1], [2_000, 2]]}],
    },
    {name: 'no series: no frames', plan: {}, input: [], want: []},
  ]
  for (const c of cases) {
    it(c.name, () => {
      const frames = framesFromSeries({...base, ...c.plan}, c.input)
      assert.deepEqual(
        frames.map((f) => ({tags: f.tags, columns: f.columns, rows: f.rows})),
        c.want,
      )
      for (const f of frames) assert.equal(f.name, 'cpu')
    })
  }
})

describe('parseQueryAnswer', () => {
  it('reads one JSON answer', () => {
    const {results} = parseQueryAnswer('{"results":[{"statement_id":0,"series":[{"name":"m","columns":["time","v"],"values":[[1,2]]}]}]}')
    assert.deepEqual(results[0].series?.[0].values, [[1, 2]])
  })

  it('merges chunks: a partial series continues in the next chunk', () => {
    const text = [
      '{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"h":"a"},"columns":["time","v"],"values":[[1,1],[2,2]],"partial":true}],"partial":true}]}',
      '{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"h":"a"},"columns":["time","v"],"values":[[3,3]]}],"partial":true}]}',
      '{"results":[{"statement_id":0,"series":[{"name":"m","tags":{"h":"b"},"columns":["time","v"],"values":[[1,9]]}]}]}',
      '{"results":[{"statement_id":1,"error":"database not found: x"}]}',
      '',
    ].join('\n')
    const {results} = parseQueryAnswer(text)
    assert.equal(results.length, 2)
    assert.deepEqual(
      results[0].series?.map((s) => [s.tags?.h, s.values]),
      [
        ['a', [[1, 1], [2, 2], [3, 3]]],
        ['b', [[1, 9]]],
      ],
    )
    assert.equal(results[1].error, 'database not found: x')
  })

  it('reports a top-level error', () => {
    assert.equal(parseQueryAnswer('{"error":"error parsing query: found SELEC"}').error, 'error parsing query: found SELEC')
  })
})
