import assert from 'node:assert/strict'
import {readFileSync} from 'node:fs'
import {describe, it} from 'node:test'

import type {Point} from '../../src/core/model/point.js'
import {
  formatGoFloat,
  parseGoFloat,
  parsePrometheusText,
  prometheusToPoints,
  type MetricFamily,
  type PrometheusSample,
} from '../../src/core/model/prometheus-text.js'

// compiled to dist/test/unit/, the fixtures stay in the source tree
const FIXTURES = new URL('../../../test/fixtures/prometheus/', import.meta.url)
const fixture = (name: string): string => readFileSync(new URL(name, FIXTURES), 'utf8')

/** Parses text that must be error-free. */
function families(text: string): MetricFamily[] {
  const r = parsePrometheusText(text)
  assert.deepEqual(r.errors, [], 'unexpected parse errors')
  return r.families
}

/** name/type/samples of each family, the samples without their line numbers. */
function summary(fams: MetricFamily[]): {name: string; type: string; help?: string; samples: Omit<PrometheusSample, 'line'>[]}[] {
  return fams.map((f) => ({
    name: f.name,
    type: f.type,
    ...(f.help === undefined ? {} : {help: f.help}),
    samples: f.samples.map(({line: _line, ...rest}) => rest),
  }))
}

function sampleCount(fams: MetricFamily[]): number {
  return fams.reduce((n, f) => n + f.samples.length, 0)
}

describe('parsePrometheusText: syntax', () => {
  const cases: {name: string; text: string; want: ReturnType<typeof summary>}[] = [
    {name: 'bare sample', text: 'up 1\n', want: [{name: 'up', type: 'untyped', samples: [{name: 'up', labels: {}, value: 1}]}]},
    {
      name: 'labels',
      text: 'http_requests_total{method="post",code="200"} 1027\n',
      want: [{name: 'http_requests_total', type: 'untyped', samples: [{name: 'http_requests_total', labels: {method: 'post', code: '200'}, value: 1027}]}],
    },
    {name: 'empty label set', text: 'up{} 1\n', want: [{name: 'up', type: 'untyped', samples: [{name: 'up', labels: {}, value: 1}]}]},
    {name: 'trailing comma in labels', text: 'up{a="1",} 1\n', want: [{name: 'up', type: 'untyped', samples: [{name: 'up', labels: {a: '1'}, value: 1}]}]},
    {
      name: 'blanks and tabs between every token',
      text: ' \t up \t{ a = "1" ,\tb="2" , } \t 3 \t 1000 \t \n',
      want: [{name: 'up', type: 'untyped', samples: [{name: 'up', labels: {a: '1', b: '2'}, value: 3, timestampMs: 1000}]}],
    },
    {name: 'value right after "}"', text: 'up{a="1"}2\n', want: [{name: 'up', type: 'untyped', samples: [{name: 'up', labels: {a: '1'}, value: 2}]}]},
    {
      name: 'label value escapes',
      text: String.raw`msg{path="C:\\DIR\\FILE.TXT",quote="say \"hi\"",nl="a\nb",raw="tab	and \\n"} 1` + '\n',
      want: [{name: 'msg', type: 'untyped', samples: [{name: 'msg', labels: {path: 'C:\\DIR\\FILE.TXT', quote: 'say "hi"', nl: 'a\nb', raw: 'tab\tand \\n'}, value: 1}]}],
    },
    {
      name: 'unicode and braces inside label values',
      text: 'x{a="ünï ☕ {}=,#"} 1\n',
      want: [{name: 'x', type: 'untyped', samples: [{name: 'x', labels: {a: 'ünï ☕ {}=,#'}, value: 1}]}],
    },
    {name: 'metric name with colons', text: 'job:http_requests:rate5m 0.5\n', want: [{name: 'job:http_requests:rate5m', type: 'untyped', samples: [{name: 'job:http_requests:rate5m', labels: {}, value: 0.5}]}]},
    {
      name: 'timestamps: positive, negative, signed',
      text: 'a 1 1395066363000\nb 1 -1\nc 1 +5\n',
      want: [
        {name: 'a', type: 'untyped', samples: [{name: 'a', labels: {}, value: 1, timestampMs: 1395066363000}]},
        {name: 'b', type: 'untyped', samples: [{name: 'b', labels: {}, value: 1, timestampMs: -1}]},
        {name: 'c', type: 'untyped', samples: [{name: 'c', labels: {}, value: 1, timestampMs: 5}]},
      ],
    },
    {
      name: 'CRLF line endings, blank lines, no final newline, byte order mark',
      text: '\ufeff# TYPE a gauge\r\n\r\na{x="1"} 1\r\n   \r\n\ta 2\r\nb 3',
      want: [
        {name: 'a', type: 'gauge', samples: [{name: 'a', labels: {x: '1'}, value: 1}, {name: 'a', labels: {}, value: 2}]},
        {name: 'b', type: 'untyped', samples: [{name: 'b', labels: {}, value: 3}]},
      ],
    },
    {
      name: 'other comments are ignored',
      text: '# just a comment\n#\n# UNIT a seconds\n#HELP a no space after the hash\n# help a lower case keyword is a comment\na 1\n',
      want: [{name: 'a', type: 'untyped', help: 'no space after the hash', samples: [{name: 'a', labels: {}, value: 1}]}],
    },
    {
      name: 'HELP escapes; HELP and TYPE in either order',
      text: String.raw`# HELP a Backslash \\, newline \n, quote \", end.` + '\n# TYPE a counter\n# TYPE b gauge\n# HELP b   leading blanks are not part of it  \na 1\nb 2\n',
      want: [
        {name: 'a', type: 'counter', help: 'Backslash \\, newline \n, quote ", end.', samples: [{name: 'a', labels: {}, value: 1}]},
        {name: 'b', type: 'gauge', help: 'leading blanks are not part of it', samples: [{name: 'b', labels: {}, value: 2}]},
      ],
    },
    {name: 'empty HELP', text: '# HELP a\na 1\n', want: [{name: 'a', type: 'untyped', help: '', samples: [{name: 'a', labels: {}, value: 1}]}]},
    {
      // expfmt reads a HELP or TYPE keyword with no metric name after it as a plain comment
      name: 'bare # HELP and # TYPE lines (no metric name) are comments',
      text: '# HELP\n# TYPE\n#HELP\n# HELP \t \n# TYPE  \r\n# HELP a the real one\n# TYPE a gauge\na 1\n',
      want: [{name: 'a', type: 'gauge', help: 'the real one', samples: [{name: 'a', labels: {}, value: 1}]}],
    },
    {
      name: 'TYPE is case-insensitive; unknown and OpenMetrics-only types are untyped',
      text: '# TYPE a COUNTER\na 1\n# TYPE b unknown\nb 2\n# TYPE c info\nc_info{v="1"} 1\n',
      want: [
        {name: 'a', type: 'counter', samples: [{name: 'a', labels: {}, value: 1}]},
        {name: 'b', type: 'untyped', samples: [{name: 'b', labels: {}, value: 2}]},
        {name: 'c_info', type: 'untyped', samples: [{name: 'c_info', labels: {v: '1'}, value: 1}]},
      ],
    },
    {
      name: 'histogram series belong to the family named by TYPE',
      text: '# TYPE h histogram\nh_bucket{le="0.1"} 1\nh_bucket{le="+Inf"} 2\nh_sum 0.3\nh_count 2\n',
      want: [
        {
          name: 'h',
          type: 'histogram',
          samples: [
            {name: 'h_bucket', labels: {le: '0.1'}, value: 1},
            {name: 'h_bucket', labels: {le: '+Inf'}, value: 2},
            {name: 'h_sum', labels: {}, value: 0.3},
            {name: 'h_count', labels: {}, value: 2},
          ],
        },
      ],
    },
    {
      name: 'summary series belong to the family named by TYPE',
      text: '# TYPE s summary\ns{quantile="0.5"} 1\ns_sum 3\ns_count 2\n',
      want: [
        {
          name: 's',
          type: 'summary',
          samples: [
            {name: 's', labels: {quantile: '0.5'}, value: 1},
            {name: 's_sum', labels: {}, value: 3},
            {name: 's_count', labels: {}, value: 2},
          ],
        },
      ],
    },
    {
      name: '_sum/_count/_bucket without a histogram or summary TYPE are families of their own',
      text: '# TYPE g gauge\ng 1\ng_count 2\ng_bucket{le="1"} 3\nu_sum 4\n',
      want: [
        {name: 'g', type: 'gauge', samples: [{name: 'g', labels: {}, value: 1}]},
        {name: 'g_count', type: 'untyped', samples: [{name: 'g_count', labels: {}, value: 2}]},
        {name: 'g_bucket', type: 'untyped', samples: [{name: 'g_bucket', labels: {le: '1'}, value: 3}]},
        {name: 'u_sum', type: 'untyped', samples: [{name: 'u_sum', labels: {}, value: 4}]},
      ],
    },
    {
      name: 'families interleaved on the page are merged',
      text: 'a 1\nb 2\na{x="y"} 3\n',
      want: [
        {name: 'a', type: 'untyped', samples: [{name: 'a', labels: {}, value: 1}, {name: 'a', labels: {x: 'y'}, value: 3}]},
        {name: 'b', type: 'untyped', samples: [{name: 'b', labels: {}, value: 2}]},
      ],
    },
    {name: 'families with HELP/TYPE but no samples are left out', text: '# HELP a x\n# TYPE a gauge\n# TYPE b counter\n', want: []},
    {
      name: 'OpenMetrics: exemplars ignored, _total belongs to the counter, _created skipped, # EOF ends the page',
      text: '# TYPE c counter\nc_total{a="b"} 8 123 # {trace_id="abc"} 0.5\nc_created{a="b"} 1.7e9\nd 1 # {x="y"} 2\n# EOF\ne 3\n',
      want: [
        {name: 'c', type: 'counter', samples: [{name: 'c_total', labels: {a: 'b'}, value: 8, timestampMs: 123}]},
        {name: 'd', type: 'untyped', samples: [{name: 'd', labels: {}, value: 1}]},
      ],
    },
    {
      name: '"# EOF" followed by text is an ordinary comment',
      text: '# EOF is not the end\na 1\n',
      want: [{name: 'a', type: 'untyped', samples: [{name: 'a', labels: {}, value: 1}]}],
    },
    {
      name: 'quoted (UTF-8) metric and label names',
      text: '# TYPE "my.metric" gauge\n{"my.metric","label.with.dots"="v",plain="w"} 1\n{"my.metric"} 2\n',
      want: [
        {
          name: 'my.metric',
          type: 'gauge',
          samples: [
            {name: 'my.metric', labels: {'label.with.dots': 'v', plain: 'w'}, value: 1},
            {name: 'my.metric', labels: {}, value: 2},
          ],
        },
      ],
    },
    {
      name: 'a label named __proto__ is an ordinary label',
      text: 'x{__proto__="p"} 1\n',
      want: [{name: 'x', type: 'untyped', samples: [{name: 'x', labels: JSON.parse('{"__proto__":"p"}') as Record<string, string>, value: 1}]}],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      assert.deepEqual(summary(families(c.text)), c.want)
    })
  }

  it('a family of the exact name wins over a histogram suffix', () => {
    const f = families('# TYPE h_count gauge\nh_count 7\n# TYPE h histogram\nh_count 8\n')
    assert.deepEqual(summary(f), [{name: 'h_count', type: 'gauge', samples: [{name: 'h_count', labels: {}, value: 7}, {name: 'h_count', labels: {}, value: 8}]}])
  })

  it('HELP/TYPE of a histogram series name the histogram, as in expfmt', () => {
    const r = parsePrometheusText('# TYPE h histogram\n# TYPE h_count gauge\nh_count 7\n')
    assert.deepEqual(r.errors.map((e) => [e.line, e.message]), [[2, 'second TYPE line for metric "h"']])
    assert.deepEqual(summary(r.families), [{name: 'h', type: 'histogram', samples: [{name: 'h_count', labels: {}, value: 7}]}])
  })

  it('records 1-based line numbers of samples', () => {
    const f = families('# TYPE a gauge\n\na 1\r\n\na 2\n')
    assert.deepEqual(f[0]!.samples.map((s) => s.line), [3, 5])
  })
})

describe('parsePrometheusText: values (Go ParseFloat as expfmt uses it)', () => {
  const accepted: [string, number][] = [
    ['1', 1],
    ['-2.5e3', -2500],
    ['1E5', 100000],
    ['1e+5', 100000],
    ['1e-3', 0.001],
    ['.5', 0.5],
    ['5.', 5],
    ['+1.5', 1.5],
    ['007', 7],
    ['1.02726334e+08', 102726334],
    ['-0', -0],
    ['1e-400', 0], // underflow rounds to zero without an error in Go
    ['NaN', NaN],
    ['nan', NaN],
    ['NAN', NaN],
    ['+Inf', Infinity],
    ['-Inf', -Infinity],
    ['Inf', Infinity],
    ['inf', Infinity],
    ['+infinity', Infinity],
    ['-Infinity', -Infinity],
  ]
  for (const [text, want] of accepted) {
    it(`accepts ${text}`, () => {
      assert.ok(Object.is(parseGoFloat(text), want), `${text} → ${parseGoFloat(text)}`)
      assert.ok(Object.is(families(`m ${text}\n`)[0]!.samples[0]!.value, want))
    })
  }
  const rejected = ['', 'abc', '0x10', '0x1p3', '1_000', '1e', '1e+', '+nan', '-NaN', 'NaN1', 'infin', 'infinityx', '1.2.3', '.', '+', '--1', '1,5', '١']
  for (const text of rejected) {
    it(`rejects ${JSON.stringify(text)}`, () => assert.equal(parseGoFloat(text), undefined))
  }
  it('rejects out-of-range values (Go returns ErrRange)', () => {
    assert.equal(parseGoFloat('1e400'), undefined)
    assert.equal(parseGoFloat('-1.8e308'), undefined)
  })
})

describe('parsePrometheusText: errors are located and the parser carries on', () => {
  const cases: {text: string; col: number; message: string | RegExp; line?: number}[] = [
    {text: 'm{a="b} 1', col: 5, message: `unterminated label value (missing closing '"')`},
    {text: 'm{a="\\x"} 1', col: 6, message: 'invalid escape sequence "\\x" in label value (only \\\\, \\" and \\n are allowed)'},
    {text: 'm{a="b" c="d"} 1', col: 9, message: 'expected "," or "}" after the value of label "a", found "c"'},
    {text: 'm{a=b} 1', col: 5, message: `expected '"' to start the value of label "a", found "b"`},
    {text: 'm{a} 1', col: 4, message: 'expected "=" after label name "a", found "}"'},
    {text: 'm{b="1",a} 1', col: 10, message: 'expected "=" after label name "a", found "}"'},
    {text: 'm{1a="b"} 1', col: 3, message: 'expected a label name, found "1"'},
    {text: 'm{a="1",,b="2"} 1', col: 9, message: 'expected a label name, found ","'},
    {text: 'm{a="1",a="2"} 1', col: 9, message: 'duplicate label name "a"'},
    {text: 'm{__name__="x"} 1', col: 3, message: 'label name "__name__" is reserved'},
    {text: 'm{"" = "x"} 1', col: 3, message: 'empty label name'},
    {text: 'm{a="1"', col: 8, message: 'unterminated label set (missing "}")'},
    {text: 'm{a="1"} ', col: 9, message: 'missing value for metric "m"'},
    {text: 'm', col: 2, message: 'missing value for metric "m"'},
    {text: 'm abc', col: 3, message: 'invalid value "abc" (expected a float such as 1, -2.5e3, NaN or +Inf)'},
    {text: 'm 0x1F', col: 3, message: /^invalid value "0x1F"/},
    {text: 'm 1e400', col: 3, message: 'value "1e400" is out of the float64 range'},
    {text: 'm 1 abc', col: 5, message: 'invalid timestamp "abc" (expected integer milliseconds since the epoch)'},
    {text: 'm 1 1520879607.789', col: 5, message: /^invalid timestamp "1520879607.789"/},
    {text: 'm 1 99999999999999999999', col: 5, message: 'timestamp "99999999999999999999" is out of range'},
    {text: 'm 1 123 extra', col: 9, message: 'unexpected text after the timestamp: "extra"'},
    {text: '1m 1', col: 1, message: 'expected a metric name, found "1"'},
    {text: 'm-x 1', col: 2, message: 'invalid character "-" in metric name "m"'},
    {text: 'm.x 1', col: 2, message: 'invalid character "." in metric name "m"'},
    {text: '{a="b"} 1', col: 1, message: /^missing metric name/},
    {text: '"m" 1', col: 1, message: `expected a metric name, found "\\""`},
    {text: '# TYPE m blah', col: 10, message: 'unknown metric type "blah" (expected counter, gauge, histogram, summary or untyped)'},
    {text: '# TYPE m', col: 9, message: 'TYPE line for metric "m" without a type'},
    {text: '# TYPE m counter extra', col: 18, message: 'unexpected text after the type in TYPE line: "extra"'},
    {text: '# HELP 1m x', col: 8, message: 'expected a metric name after # HELP, found "1"'},
    {text: '# TYPE m{ counter', col: 9, message: 'invalid character "{" in metric name "m" of # TYPE line'},
    {text: '# TYPE m gauge\n# TYPE m counter', line: 2, col: 8, message: 'second TYPE line for metric "m"'},
    {text: 'm 1\n# TYPE m counter', line: 2, col: 8, message: 'TYPE line for metric "m" after its samples'},
    {text: '# HELP m a\n# HELP m b', line: 2, col: 8, message: 'second HELP line for metric "m"'},
    {text: '# HELP m bad \\x escape', col: 14, message: 'invalid escape sequence "\\x" in HELP text (only \\\\ and \\n are allowed)'},
    {text: '# HELP m trailing \\', col: 19, message: 'HELP text ends with a lone backslash'},
    {text: '# TYPE h histogram\nh_bucket{a="b"} 1', line: 2, col: 1, message: 'histogram sample "h_bucket" has no "le" label'},
    {text: '# TYPE h histogram\nh_bucket{le="x"} 1', line: 2, col: 14, message: 'invalid "le" label value "x" (expected a float)'},
    {text: '# TYPE h histogram\nh{le="1"} 1', line: 2, col: 1, message: 'sample "h" of histogram "h" must be named h_bucket, h_sum or h_count'},
    {text: '# TYPE s summary\ns 1', line: 2, col: 1, message: 'summary sample "s" has no "quantile" label'},
    {text: '# TYPE s summary\ns{quantile="p50"} 1', line: 2, col: 13, message: 'invalid "quantile" label value "p50" (expected a float)'},
  ]
  for (const c of cases) {
    it(`${JSON.stringify(c.text)} → ${c.message}`, () => {
      const r = parsePrometheusText(c.text + '\n', {file: 'page.txt'})
      assert.equal(r.errors.length, 1, JSON.stringify(r.errors))
      const e = r.errors[0]!
      assert.equal(e.file, 'page.txt')
      assert.equal(e.line, c.line ?? 1)
      assert.equal(e.col, c.col)
      if (typeof c.message === 'string') assert.equal(e.message, c.message)
      else assert.match(e.message, c.message)
    })
  }

  it('skips only the bad lines', () => {
    const text = ['# TYPE a gauge', 'a{x="1"} 1', 'a{x="2" 2', 'garbage here', 'a{x="3"} 3', '<html>', 'b 4'].join('\n')
    const r = parsePrometheusText(text)
    assert.deepEqual(r.errors.map((e) => e.line), [3, 4, 6])
    assert.deepEqual(r.families.map((f) => [f.name, f.samples.map((s) => s.value)]), [
      ['a', [1, 3]],
      ['b', [4]],
    ])
  })

  it('a bad HELP escape is reported but the help is kept as written', () => {
    const r = parsePrometheusText('# HELP m a \\t b\nm 1\n')
    assert.equal(r.errors.length, 1)
    assert.equal(r.families[0]!.help, 'a \\t b')
  })

  it('names the page "<input>" by default', () => {
    assert.equal(parsePrometheusText('m x\n').errors[0]!.file, '<input>')
  })
})

describe('formatGoFloat (fmt.Sprint of a float64)', () => {
  const cases: [number, string][] = [
    [0, '0'],
    [-0, '-0'],
    [1, '1'],
    [0.005, '0.005'],
    [0.0001, '0.0001'],
    [0.00001, '1e-05'],
    [2.5, '2.5'],
    [100, '100'],
    [125000, '125000'],
    [999999, '999999'],
    [1e6, '1e+06'],
    [1234567, '1.234567e+06'],
    [8e6, '8e+06'],
    [1.5e300, '1.5e+300'],
    [-2.5e-7, '-2.5e-07'],
    [0.1 + 0.2, '0.30000000000000004'],
    [Infinity, '+Inf'],
    [-Infinity, '-Inf'],
    [NaN, 'NaN'],
  ]
  for (const [v, want] of cases) it(`${v} → ${want}`, () => assert.equal(formatGoFloat(v), want))
})

describe('prometheusToPoints', () => {
  const NOW = 1_700_000_000_000
  const lp = (points: Point[]): string[] =>
    points.map((p) => {
      const tags = Object.entries(p.tags)
        .map(([k, v]) => `,${k}=${v}`)
        .join('')
      const fields = Object.entries(p.fields)
        .map(([k, v]) => `${k}=${String(v)}`)
        .sort()
        .join(',')
      return `${p.measurement}${tags} ${fields} ${p.ts === NOW ? 'now' : p.ts}`
    })

  const histogram =
    '# TYPE h histogram\n' +
    'h_bucket{path="/",le="0.5"} 3\nh_bucket{path="/",le="1.0"} 5\nh_bucket{path="/",le="+Inf"} 6\nh_sum{path="/"} 4.25\nh_count{path="/"} 6\n'
  const summaryText = '# TYPE s summary\ns{quantile="0.5"} 0.2\ns{quantile="0.99"} 0.9\ns_sum 12.5\ns_count 40\n'

  const cases: {name: string; text: string; v1: string[]; v2: string[]; dropped?: number}[] = [
    {name: 'counter', text: '# TYPE c counter\nc{code="200"} 10\n', v1: ['c,code=200 counter=10 now'], v2: ['prometheus,code=200 c=10 now']},
    {name: 'gauge', text: '# TYPE g gauge\ng 0.5\n', v1: ['g gauge=0.5 now'], v2: ['prometheus g=0.5 now']},
    {name: 'untyped', text: 'u 7\n', v1: ['u value=7 now'], v2: ['prometheus u=7 now']},
    {
      name: 'histogram',
      text: histogram,
      v1: ['h,path=/ +Inf=6,0.5=3,1=5,count=6,sum=4.25 now'],
      v2: ['prometheus,path=/ h_count=6,h_sum=4.25 now', 'prometheus,path=/,le=0.5 h_bucket=3 now', 'prometheus,path=/,le=1 h_bucket=5 now', 'prometheus,path=/,le=+Inf h_bucket=6 now'],
    },
    {
      name: 'histogram without +Inf bucket: Telegraf v2 adds it from the count',
      text: '# TYPE h histogram\nh_bucket{le="1"} 2\nh_sum 3\nh_count 4\n',
      v1: ['h 1=2,count=4,sum=3 now'],
      v2: ['prometheus h_count=4,h_sum=3 now', 'prometheus,le=1 h_bucket=2 now', 'prometheus,le=+Inf h_bucket=4 now'],
    },
    {
      name: 'histogram series grouped by labels in any order',
      text: '# TYPE h histogram\nh_bucket{a="1",b="2",le="+Inf"} 1\nh_bucket{b="2",a="1",le="1"} 1\nh_count{b="2",a="1"} 1\nh_bucket{a="9",le="+Inf"} 2\n',
      v1: ['h,a=1,b=2 +Inf=1,1=1,count=1 now', 'h,a=9 +Inf=2 now'],
      v2: ['prometheus,a=1,b=2 h_count=1 now', 'prometheus,a=1,b=2,le=+Inf h_bucket=1 now', 'prometheus,a=1,b=2,le=1 h_bucket=1 now', 'prometheus,a=9,le=+Inf h_bucket=2 now'],
    },
    {
      name: 'summary',
      text: summaryText,
      v1: ['s 0.5=0.2,0.99=0.9,count=40,sum=12.5 now'],
      v2: ['prometheus s_count=40,s_sum=12.5 now', 'prometheus,quantile=0.5 s=0.2 now', 'prometheus,quantile=0.99 s=0.9 now'],
    },
    {
      name: 'counts are truncated to integers (expfmt keeps them as uint64)',
      text: '# TYPE s summary\ns_count 2.7\n# TYPE h histogram\nh_bucket{le="1"} 1.9\n',
      v1: ['s count=2 now', 'h 1=1 now'],
      v2: ['prometheus s_count=2 now', 'prometheus,le=1 h_bucket=1 now'],
    },
    {
      name: 'sample timestamps are used when > 0, else now',
      text: 'a 1 1600000000000\nb 2 0\nc 3 -5\n',
      v1: ['a value=1 1600000000000', 'b value=2 now', 'c value=3 now'],
      v2: ['prometheus a=1 1600000000000', 'prometheus b=2 now', 'prometheus c=3 now'],
    },
    {
      name: 'a histogram series takes the last timestamp given on its lines',
      text: '# TYPE h histogram\nh_bucket{le="+Inf"} 1 1000\nh_count 1 2000\n',
      v1: ['h +Inf=1,count=1 2000'],
      v2: ['prometheus h_count=1 2000', 'prometheus,le=+Inf h_bucket=1 2000'],
    },
    {
      name: 'NaN and ±Inf values are dropped and counted',
      text: '# TYPE g gauge\ng{s="a"} NaN\ng{s="b"} +Inf\ng{s="c"} -Inf\ng{s="d"} 1\n',
      v1: ['g,s=d gauge=1 now'],
      v2: ['prometheus,s=d g=1 now'],
      dropped: 3,
    },
    {
      name: 'NaN quantiles and sums are dropped field by field',
      text: '# TYPE s summary\ns{quantile="0.5"} NaN\ns{quantile="0.9"} 2\ns_sum NaN\ns_count 0\n',
      v1: ['s 0.9=2,count=0 now'],
      v2: ['prometheus s_count=0 now', 'prometheus,quantile=0.9 s=2 now'],
      dropped: 2,
    },
    {
      name: 'a series with every value dropped yields no point',
      text: '# TYPE s summary\ns{quantile="0.5"} NaN\n',
      v1: [],
      v2: [],
      dropped: 1,
    },
    {
      name: 'missing _sum/_count are not invented',
      text: '# TYPE h histogram\nh_bucket{le="+Inf"} 5\n',
      v1: ['h +Inf=5 now'],
      v2: ['prometheus,le=+Inf h_bucket=5 now'],
    },
    {
      name: 'empty label values are not tags',
      text: 'm{a="",b="x"} 1\n',
      v1: ['m,b=x value=1 now'],
      v2: ['prometheus,b=x m=1 now'],
    },
    {
      name: 'OpenMetrics counter: the family name, not the _total series',
      text: '# TYPE c counter\nc_total 8\n',
      v1: ['c counter=8 now'],
      v2: ['prometheus c=8 now'],
    },
  ]
  for (const c of cases) {
    it(c.name, () => {
      const fams = families(c.text)
      const p1 = prometheusToPoints(fams, {now: NOW})
      assert.deepEqual(lp(p1), c.v1, 'metric_version 1')
      assert.equal(p1.dropped, c.dropped ?? 0)
      const p2 = prometheusToPoints(fams, {now: NOW, metricVersion: 2})
      assert.deepEqual(lp(p2), c.v2, 'metric_version 2')
      assert.equal(p2.dropped, c.dropped ?? 0)
    })
  }

  it('ignoreTimestamp uses now for every point', () => {
    const p = prometheusToPoints(families('a 1 1600000000000\n'), {now: NOW, ignoreTimestamp: true})
    assert.equal(p[0]!.ts, NOW)
  })

  it('fields are floats and every point has its own tags object', () => {
    const p = prometheusToPoints(families('# TYPE s summary\ns{q="x",quantile="0.5"} 1\ns_count{q="x"} 3\n'), {now: NOW, metricVersion: 2})
    for (const point of p) for (const v of Object.values(point.fields)) assert.equal(typeof v, 'number')
    assert.notEqual(p[0]!.tags, p[1]!.tags)
    p[0]!.tags.extra = 'y'
    assert.equal(p[1]!.tags.extra, undefined)
  })
})

describe('fixture pages end to end', () => {
  it('node-exporter.txt', () => {
    const r = parsePrometheusText(fixture('node-exporter.txt'), {file: 'node-exporter.txt'})
    assert.deepEqual(r.errors, [])
    assert.equal(r.families.length, 33)
    assert.equal(sampleCount(r.families), 77)
    const byName = new Map(r.families.map((f) => [f.name, f]))
    assert.equal(r.families.filter((f) => f.type === 'counter').length, 8)
    assert.equal(byName.get('go_gc_duration_seconds')!.type, 'summary')
    assert.equal(byName.get('go_gc_duration_seconds')!.samples.length, 7)
    assert.equal(byName.get('node_cpu_seconds_total')!.samples.length, 16)
    assert.equal(byName.get('node_load1')!.help, '1m load average.')
    assert.equal(byName.get('node_uname_info')!.samples[0]!.labels.version, '#14~22.04.1-Ubuntu SMP PREEMPT_DYNAMIC Mon Nov 20 18:15:30 UTC 2')

    const v1 = prometheusToPoints(r.families, {now: 1})
    assert.equal(v1.length, 71) // 70 plain samples + one summary point
    assert.equal(v1.dropped, 0)
    const gc = v1.find((p) => p.measurement === 'go_gc_duration_seconds')!
    assert.deepEqual(gc.fields, {'0': 2.7587e-5, '0.25': 4.1543e-5, '0.5': 5.4461e-5, '0.75': 7.8337e-5, '1': 0.001176742, count: 3412, sum: 0.214581307})
    const cpu = v1.find((p) => p.measurement === 'node_cpu_seconds_total' && p.tags.cpu === '1' && p.tags.mode === 'idle')!
    assert.deepEqual(cpu.fields, {counter: 149012.84})
    assert.deepEqual(v1.find((p) => p.measurement === 'node_filesystem_avail_bytes' && p.tags.mountpoint === '/')!.fields, {gauge: 186218360832})

    const v2 = prometheusToPoints(r.families, {now: 1, metricVersion: 2})
    assert.equal(v2.length, 76) // 70 plain samples + count/sum point + 5 quantile points
    assert.ok(v2.every((p) => p.measurement === 'prometheus'))
    assert.deepEqual(
      v2.filter((p) => 'go_gc_duration_seconds' in p.fields).map((p) => p.tags.quantile),
      ['0', '0.25', '0.5', '0.75', '1'],
    )
  })

  it('histograms-summaries.txt', () => {
    const r = parsePrometheusText(fixture('histograms-summaries.txt'))
    assert.deepEqual(r.errors, [])
    assert.deepEqual(
      r.families.map((f) => [f.name, f.type, f.samples.length]),
      [
        ['http_request_duration_seconds', 'histogram', 28],
        ['response_size_bytes', 'histogram', 5],
        ['rpc_duration_seconds', 'summary', 11],
        ['escapes_total', 'counter', 3],
        ['temperature_celsius', 'gauge', 4],
        ['queue_depth', 'untyped', 1],
        ['legacy_metric_without_type', 'untyped', 1],
      ],
    )
    const escapes = r.families[3]!
    assert.equal(escapes.help, 'Help with a backslash \\ and a newline \n inside.')
    assert.deepEqual(escapes.samples[0]!.labels, {path: 'C:\\Program Files\\mon', quote: 'say "hi"', text: 'line1\nline2'})
    assert.deepEqual(escapes.samples[1]!.labels, {path: '/srv/café', emoji: '☕ ünïcödé'})
    assert.equal(r.families[4]!.samples[0]!.timestampMs, 1700000001234)

    const v1 = prometheusToPoints(r.families, {now: 1})
    assert.equal(v1.length, 11)
    assert.equal(v1.dropped, 5) // two NaN quantiles, +Inf, -Inf and NaN temperatures
    const query = v1.find((p) => p.measurement === 'http_request_duration_seconds' && p.tags.handler === '/api/v1/query')!
    assert.deepEqual(query.tags, {handler: '/api/v1/query', method: 'GET'})
    assert.deepEqual(query.fields, {
      '0.005': 1204,
      '0.01': 1877,
      '0.025': 2410,
      '0.05': 2602,
      '0.1': 2688,
      '0.25': 2701,
      '0.5': 2705,
      '1': 2706,
      '2.5': 2706,
      '5': 2706,
      '10': 2707,
      '+Inf': 2707,
      count: 2707,
      sum: 31.849213,
    })
    const size = v1.find((p) => p.measurement === 'response_size_bytes')!
    assert.deepEqual(size, {measurement: 'response_size_bytes', tags: {}, fields: {'100': 12, '1000': 40, '1e+06': 41, count: 42, sum: 987654}, ts: 1700000000000})
    const rpc = v1.filter((p) => p.measurement === 'rpc_duration_seconds')
    assert.deepEqual(rpc[0]!.fields, {'0.01': 3.1e-6, '0.05': 1.2e-5, '0.5': 0.000695, '0.9': 0.002291, '0.99': 0.004705, count: 25034, sum: 17.561406})
    assert.deepEqual(rpc[1]!.fields, {count: 0, sum: 0})
    assert.deepEqual(
      v1.filter((p) => p.measurement === 'escapes_total').map((p) => p.tags),
      [{path: 'C:\\Program Files\\mon', quote: 'say "hi"', text: 'line1\nline2'}, {path: '/srv/café', emoji: '☕ ünïcödé'}, {empty: 'yes'}],
    )

    const v2 = prometheusToPoints(r.families, {now: 1, metricVersion: 2})
    assert.equal(v2.length, 44)
    assert.equal(v2.dropped, 5)
    const writeBuckets = v2.filter((p) => p.tags.handler === '/api/v1/write' && 'http_request_duration_seconds_bucket' in p.fields)
    assert.deepEqual(
      writeBuckets.map((p) => p.tags.le),
      ['0.005', '0.01', '0.025', '0.05', '0.1', '0.25', '0.5', '1', '2.5', '5', '10', '+Inf'],
    )
    assert.deepEqual(
      v2.filter((p) => 'response_size_bytes_bucket' in p.fields).map((p) => [p.tags.le, p.fields.response_size_bytes_bucket]),
      [
        ['100', 12],
        ['1000', 40],
        ['1e+06', 41],
        ['+Inf', 42],
      ],
    )
  })
})

describe('large pages', () => {
  // speed is measured in bench/, not asserted here
  it('parses a 10k-sample page completely', () => {
    const lines: string[] = []
    for (let f = 0; f < 100; f++) {
      lines.push(`# HELP family_${f}_seconds_total Some help text for family ${f}.`, `# TYPE family_${f}_seconds_total counter`)
      for (let s = 0; s < 100; s++) lines.push(`family_${f}_seconds_total{instance="host-${s}.example.com:9100",job="node",mode="user"} ${s * 1234.5678} 1700000000000`)
    }
    const result = parsePrometheusText(lines.join('\n') + '\n')
    assert.equal(sampleCount(result.families), 10_000)
    assert.equal(result.errors.length, 0)
    assert.equal(prometheusToPoints(result.families, {now: 0}).length, 10_000)
  })
})
