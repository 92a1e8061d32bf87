import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {InputError} from '../../src/core/errors.js'
import {
  type LineError,
  MAX_STRING_FIELD_BYTES,
  type ParseOptions,
  type Precision,
  formatLineError,
  parseLineProtocol,
  parsePrecision,
  PointSerializer,
  serializePoint,
  serializePoints,
  checkAsciiLineProtocol,
  validateLineProtocol,
} from '../../src/core/model/line-protocol/index.js'
import {type Point, UInt, countMergedValues, escapeMeasurement, escapeTag, seriesKey} from '../../src/core/model/point.js'
import {PointBatches} from '../../src/core/store/influx/write.js'

const NOW = 1_700_000_000_000

/** Every input the tables below parse, for the differential test of validateLineProtocol at the end. */
const corpus: Array<{text: string; opts?: ParseOptions}> = []

function parse(text: string, opts: ParseOptions = {}) {
  return parseLineProtocol(text, {now: NOW, ...opts})
}

function pt(measurement: string, tags: Record<string, string>, fields: Point['fields'], ts: number): Point {
  return {measurement, tags, fields, ts}
}

/** An object with an own `__proto__` property, as the parser builds it. */
function withProto<T extends object>(base: T, value: unknown): T {
  Object.defineProperty(base, '__proto__', {value, writable: true, enumerable: true, configurable: true})
  return base
}

describe('parseLineProtocol: valid input', () => {
  const cases: Array<{name: string; input: string; opts?: ParseOptions; points: Point[]}> = [
    {
      name: 'Telegraf cpu line, ns timestamp',
      input: 'cpu,cpu=cpu-total,host=web-01 usage_user=12.5,usage_system=3.25,usage_idle=84.25 1700000000000000000',
      points: [pt('cpu', {cpu: 'cpu-total', host: 'web-01'}, {usage_user: 12.5, usage_system: 3.25, usage_idle: 84.25}, 1_700_000_000_000)],
    },
    {name: 'no timestamp: now', input: 'm v=1', points: [pt('m', {}, {v: 1}, NOW)]},
    {
      name: 'no timestamp, precision s: now truncated to the second (as InfluxDB)',
      input: 'm v=1',
      opts: {precision: 's', now: 1_234_567},
      points: [pt('m', {}, {v: 1}, 1_234_000)],
    },
    {
      name: 'every field type',
      input:
        'm f=1,g=-1.5E-3,h=1e3,i=-9223372036854775808i,j=9223372036854775807i,k=0i,' +
        'u=18446744073709551615u,z=0u,t1=t,t2=T,t3=true,t4=True,t5=TRUE,f1=f,f2=F,f3=false,f4=False,f5=FALSE,s="x" 0',
      points: [
        pt(
          'm',
          {},
          {
            f: 1,
            g: -0.0015,
            h: 1000,
            i: -9223372036854775808n,
            j: 9223372036854775807n,
            k: 0n,
            u: new UInt(18446744073709551615n),
            z: new UInt(0n),
            t1: true,
            t2: true,
            t3: true,
            t4: true,
            t5: true,
            f1: false,
            f2: false,
            f3: false,
            f4: false,
            f5: false,
            s: 'x',
          },
          0,
        ),
      ],
    },
    {
      name: 'float spellings',
      input: 'm a=1.,b=.5,c=-.5,d=01,e=1e+05,f=-0,g=0.1,h=123456789012345678901234567890,i=1.7976931348623157e308,j=5e-324 0',
      points: [pt('m', {}, {a: 1, b: 0.5, c: -0.5, d: 1, e: 100000, f: -0, g: 0.1, h: 1.2345678901234568e29, i: Number.MAX_VALUE, j: 5e-324}, 0)],
    },
    {
      name: 'integers with leading zeros and many digits',
      input: 'm a=0000000000000000000001i,b=-00000000000000000000009223372036854775808i,c=000000000000000000000018446744073709551615u 0',
      points: [pt('m', {}, {a: 1n, b: -9223372036854775808n, c: new UInt(18446744073709551615n)}, 0)],
    },
    {
      name: 'escaped space, comma and equals sign in every name',
      input: String.raw`my\ m\,x,t\ k\,\==v\ a\,b\=c f\ k\=\,=1 0`,
      points: [pt('my m,x', {'t k,=': 'v a,b=c'}, {'f k=,': 1}, 0)],
    },
    {
      name: 'a backslash before any other character is literal',
      input: String.raw`C:\dir,path=C:\Windows\System32 f\x=1 0`,
      points: [pt(String.raw`C:\dir`, {path: String.raw`C:\Windows\System32`}, {[String.raw`f\x`]: 1}, 0)],
    },
    {
      name: 'two backslashes are two backslashes outside string values (InfluxDB 1.x/2.x, Telegraf)',
      input: String.raw`m,unc=\\server\share v=1 0`,
      points: [pt('m', {unc: String.raw`\\server\share`}, {v: 1}, 0)],
    },
    {
      name: 'a literal backslash before an escaped delimiter',
      input: String.raw`a\\,b,t=x\\=y\\ z v=1 0`,
      points: [pt(String.raw`a\,b`, {t: String.raw`x\=y\ z`}, {v: 1}, 0)],
    },
    {
      name: 'measurement: \\= is unescaped, = alone is literal',
      input: String.raw`a\=b=c v=1 0`,
      points: [pt('a=b=c', {}, {v: 1}, 0)],
    },
    {
      name: 'string escapes: \\" and \\\\ only',
      input: String.raw`m s="a\"b\\c\d\n" 0`,
      points: [pt('m', {}, {s: String.raw`a"b\c\d\n`}, 0)],
    },
    {
      name: 'string with delimiters, quotes of the other kind, an empty string',
      input: `m s="a, b=c 'q' #",e="" 0`,
      points: [pt('m', {}, {s: "a, b=c 'q' #", e: ''}, 0)],
    },
    {
      name: 'string value spanning physical lines',
      input: 'm s="line1\nline2\r\n,x=1 2",v=1 1000000\nn v=2 2000000',
      points: [pt('m', {}, {s: 'line1\nline2\r\n,x=1 2', v: 1}, 1), pt('n', {}, {v: 2}, 2)],
    },
    {
      name: 'CRLF line endings',
      input: 'm v=1 1000000\r\nn b=true\r\no s="x"\r\n\r\n',
      points: [pt('m', {}, {v: 1}, 1), pt('n', {}, {b: true}, NOW), pt('o', {}, {s: 'x'}, NOW)],
    },
    {
      name: 'comments, blank lines, leading blanks, byte order mark',
      input: '\uFEFF# header\n\n   \n \t m v=1 0\n#m v=2 0\n  # indented comment\n',
      points: [pt('m', {}, {v: 1}, 0)],
    },
    {
      name: 'several spaces between sections and after the timestamp',
      input: 'm,t=1   v=1    5000000   \nn v=2   ',
      points: [pt('m', {t: '1'}, {v: 1}, 5), pt('n', {}, {v: 2}, NOW)],
    },
    {
      name: 'unicode everywhere',
      input: '温度,城市=東京 値=1,emoji="🚀 ✓" 0',
      points: [pt('温度', {城市: '東京'}, {値: 1, emoji: '🚀 ✓'}, 0)],
    },
    {name: 'duplicate field keys: the last one wins', input: 'm a=1,b=2,a=3 0', points: [pt('m', {}, {a: 3, b: 2}, 0)]},
    {name: 'unsorted tags are fine', input: 'm,b=1,a=2 v=1 0', points: [pt('m', {b: '1', a: '2'}, {v: 1}, 0)]},
    {name: 'a field may share a tag name', input: 'm,v=a v=1 0', points: [pt('m', {v: 'a'}, {v: 1}, 0)]},
    {
      name: 'keys that are Object.prototype names',
      input: 'm,constructor=c,toString=t,__proto__=p __proto__=1i,hasOwnProperty=2 0',
      points: [
        pt('m', withProto({constructor: 'c', toString: 't'}, 'p'), withProto({hasOwnProperty: 2} as Point['fields'], 1n), 0),
      ],
    },
    {
      name: 'tag values and field keys may start with # and quotes',
      input: `m,t=#x,q="y" #f=1,"g"=2 0`,
      points: [pt('m', {t: '#x', q: '"y"'}, {'#f': 1, '"g"': 2}, 0)],
    },
  ]

  for (const c of cases) {
    corpus.push({text: c.input, opts: c.opts})
    it(c.name, () => {
      const res = parse(c.input, c.opts)
      assert.deepEqual(res.errors, [])
      assert.deepEqual(res.points, c.points)
    })
  }

  it('-0 stays negative zero', () => {
    assert.ok(Object.is(parse('m v=-0 0').points[0].fields.v, -0))
  })

  it('builds fresh objects for every point (no shared mutable state)', () => {
    const text = 'm,t=a v=1 0\nm,t=a v=1 0'
    const a = parse(text).points
    assert.notEqual(a[0].tags, a[1].tags)
    assert.notEqual(a[0].fields, a[1].fields)
    a[0].tags.t = 'changed'
    assert.equal(a[1].tags.t, 'a')
    assert.equal(parse(text).points[0].tags.t, 'a')
  })

  it('empty input', () => {
    assert.deepEqual(parse(''), {points: [], errors: []})
    assert.deepEqual(parse('\n\n# only comments\n'), {points: [], errors: []})
  })
})

describe('timestamps', () => {
  const cases: Array<[Precision, string, number | 'range']> = [
    ['ns', '1700000000123456789', 1_700_000_000_123],
    ['ns', '0', 0],
    ['ns', '999999', 0],
    ['ns', '-1', -1],
    ['ns', '-999999', -1],
    ['ns', '-1000000', -1],
    ['ns', '-1000001', -2],
    ['ns', '0000000000000000000000001000000', 1],
    ['ns', '9223372036854775806', 9_223_372_036_854],
    ['ns', '9223372036854775807', 'range'],
    ['ns', '9223372036855000000', 'range'],
    ['ns', '-9223372036854775806', -9_223_372_036_855],
    ['ns', '-9223372036854775807', 'range'],
    ['ns', '99999999999999999999', 'range'],
    ['us', '1700000000123456', 1_700_000_000_123],
    ['us', '-1', -1],
    ['us', '9223372036854775', 9_223_372_036_854],
    ['us', '9223372036854776', 'range'],
    ['ms', '1700000000123', 1_700_000_000_123],
    ['ms', '-1', -1],
    ['ms', '9223372036854', 9_223_372_036_854],
    ['ms', '9223372036855', 'range'],
    ['s', '1700000000', 1_700_000_000_000],
    ['s', '-1', -1000],
    ['s', '9223372036', 9_223_372_036_000],
    ['s', '9223372037', 'range'],
    ['m', '2', 120_000],
    ['m', '153722867', 9_223_372_020_000],
    ['m', '153722868', 'range'],
    ['h', '1', 3_600_000],
    ['h', '-2', -7_200_000],
    ['h', '2562047', 9_223_369_200_000],
    ['h', '2562048', 'range'],
  ]
  for (const [precision, ts, expected] of cases) {
    corpus.push({text: `m v=1 ${ts}`, opts: {precision}}, {text: `m v=${ts}i,u=${ts.replace('-', '')}u ${ts}`, opts: {precision}})
    it(`${ts} ${precision} → ${expected}`, () => {
      const res = parse(`m v=1 ${ts}`, {precision})
      if (expected === 'range') {
        assert.deepEqual(res.points, [])
        assert.deepEqual(
          res.errors.map((e) => [e.col, e.message]),
          [[7, 'time outside range -9223372036854775806 - 9223372036854775806']],
        )
      } else {
        assert.deepEqual(res.errors, [])
        assert.ok(Object.is(res.points[0].ts, expected), `got ${res.points[0].ts}`)
      }
    })
  }
})

describe('parsePrecision', () => {
  const good: Array<[string, Precision]> = [
    ['ns', 'ns'],
    ['n', 'ns'],
    ['us', 'us'],
    ['u', 'us'],
    ['µs', 'us'],
    ['μs', 'us'],
    ['µ', 'us'],
    ['ms', 'ms'],
    ['s', 's'],
    ['m', 'm'],
    ['h', 'h'],
  ]
  for (const [input, expected] of good) {
    it(`${input} → ${expected}`, () => assert.equal(parsePrecision(input), expected))
  }
  for (const bad of ['', 'NS', 'sec', 'mss', 'd', 'toString', '__proto__', ' ns']) {
    it(`rejects ${JSON.stringify(bad)}`, () => {
      assert.throws(() => parsePrecision(bad), (e: unknown) => e instanceof InputError && /invalid precision/.test(e.message))
    })
  }
})

describe('parseLineProtocol: malformed lines', () => {
  const long = 'x'.repeat(70_000)
  const cases: Array<{input: string; errors: Array<[number, number, string]>; opts?: ParseOptions}> = [
    {input: 'cpu', errors: [[1, 4, 'missing fields']]},
    {input: 'cpu\r\n', errors: [[1, 4, 'missing fields']]},
    {input: 'cpu,host=a', errors: [[1, 11, 'missing fields']]},
    {input: 'cpu ', errors: [[1, 5, 'missing fields']]},
    {input: ',t=1 v=1', errors: [[1, 1, 'missing measurement']]},
    {input: '  ,t=1 v=1', errors: [[1, 3, 'missing measurement']]},
    {input: 'cpu,=a v=1', errors: [[1, 5, 'missing tag key']]},
    {input: 'cpu, v=1', errors: [[1, 5, 'missing tag key']]},
    {input: 'cpu,', errors: [[1, 5, 'missing tag key']]},
    {input: 'cpu,host v=1', errors: [[1, 9, 'missing tag value']]},
    {input: 'cpu,host= v=1', errors: [[1, 10, 'missing tag value']]},
    {input: 'cpu,host=,b=1 v=1', errors: [[1, 10, 'missing tag value']]},
    {input: 'cpu,host=a=b v=1', errors: [[1, 11, 'invalid tag format']]},
    {input: 'cpu,host=a,host=b v=1', errors: [[1, 12, 'duplicate tags']]},
    {input: 'cpu =1', errors: [[1, 5, 'missing field key']]},
    {input: 'cpu v=1,=2', errors: [[1, 9, 'missing field key']]},
    {input: 'cpu v', errors: [[1, 6, 'invalid field format']]},
    {input: 'cpu v =1', errors: [[1, 6, 'invalid field format']]},
    {input: 'cpu v=1,', errors: [[1, 9, 'invalid field format']]},
    {input: 'cpu v=1,,w=2', errors: [[1, 9, 'invalid field format']]},
    {input: 'cpu v=1,w', errors: [[1, 10, 'invalid field format']]},
    {input: 'cpu v="a"b', errors: [[1, 10, 'invalid field format']]},
    {input: 'cpu v=', errors: [[1, 7, 'missing field value']]},
    {input: 'cpu v=,w=1', errors: [[1, 7, 'missing field value']]},
    {input: 'cpu v= 1', errors: [[1, 7, 'missing field value']]},
    {input: 'cpu v=1.2.3', errors: [[1, 10, 'invalid number']]},
    {input: 'cpu v=12a', errors: [[1, 9, 'invalid number']]},
    {input: 'cpu v=-', errors: [[1, 8, 'invalid number']]},
    {input: 'cpu v=.', errors: [[1, 8, 'invalid number']]},
    {input: 'cpu v=-x', errors: [[1, 8, 'invalid number']]},
    {input: 'cpu v=1e', errors: [[1, 9, 'invalid number']]},
    {input: 'cpu v=1e+x', errors: [[1, 10, 'invalid number']]},
    {input: 'cpu v=1.5i', errors: [[1, 10, 'invalid number']]},
    {input: 'cpu v=1e3i', errors: [[1, 10, 'invalid number']]},
    {input: 'cpu v=1i2', errors: [[1, 9, 'invalid number']]},
    {input: 'cpu v=1iu', errors: [[1, 9, 'invalid number']]},
    {input: 'cpu v=-1u', errors: [[1, 7, 'invalid number']]},
    {input: 'cpu v=0x10', errors: [[1, 8, 'invalid number']]},
    {input: 'cpu v=1_000', errors: [[1, 8, 'invalid number']]},
    {input: 'cpu v=NaN', errors: [[1, 7, 'invalid number']]},
    {input: 'cpu v=nan', errors: [[1, 7, 'invalid number']]},
    {input: 'cpu v=inf', errors: [[1, 7, 'invalid number']]},
    {input: 'cpu v=Inf', errors: [[1, 7, 'invalid number']]},
    {input: 'cpu v=+1', errors: [[1, 7, 'invalid number']]},
    {input: 'cpu v=tru', errors: [[1, 7, 'invalid boolean']]},
    {input: 'cpu v=TRue', errors: [[1, 7, 'invalid boolean']]},
    {input: 'cpu v=yes', errors: [[1, 7, 'invalid boolean']]},
    {input: "cpu v='a'", errors: [[1, 7, 'invalid boolean']]},
    {input: 'cpu v="abc', errors: [[1, 7, 'unbalanced quotes']]},
    {input: String.raw`cpu v="abc\"`, errors: [[1, 7, 'unbalanced quotes']]},
    {input: 'cpu v=9223372036854775808i', errors: [[1, 7, 'unable to parse integer: value out of range']]},
    {input: 'cpu v=-9223372036854775809i', errors: [[1, 7, 'unable to parse integer: value out of range']]},
    {input: 'cpu v=18446744073709551616u', errors: [[1, 7, 'unable to parse unsigned: value out of range']]},
    {input: 'cpu v=1e400', errors: [[1, 7, 'invalid float: value out of range']]},
    {input: 'cpu v=-1e400', errors: [[1, 7, 'invalid float: value out of range']]},
    {input: 'cpu v=1 12a', errors: [[1, 11, 'bad timestamp']]},
    {input: 'cpu v=1 abc', errors: [[1, 9, 'bad timestamp']]},
    {input: 'cpu v=1 -', errors: [[1, 9, 'bad timestamp']]},
    {input: 'cpu v=1 --1', errors: [[1, 10, 'bad timestamp']]},
    {input: 'cpu v=1 1.5', errors: [[1, 10, 'bad timestamp']]},
    {input: 'cpu v=1 w=2', errors: [[1, 9, 'bad timestamp']]},
    {input: 'cpu v=1 1\t', errors: [[1, 10, 'bad timestamp']]},
    {input: 'cpu v=1\t1', errors: [[1, 8, 'invalid number']]},
    {input: 'cpu v=1 1 2', errors: [[1, 11, 'point is invalid: unexpected text after the timestamp']]},
    // columns count code points, not UTF-16 units or bytes
    {input: '温度,城市 v=1', errors: [[1, 6, 'missing tag value']]},
    {input: '🚀,t v=1', errors: [[1, 4, 'missing tag value']]},
    {input: 'm s="🚀",t=x', errors: [[1, 11, 'invalid boolean']]},
    // limits
    {input: `m,t=${long} v=1`, errors: [[1, 1, 'max key length exceeded: 70004 > 65535']]},
    {input: `m,t=${'x'.repeat(65_000)} ${'f'.repeat(600)}=1`, errors: [[1, 65_006, 'max key length exceeded: 65608 > 65535']]},
    {
      input: `m s="${'x'.repeat(MAX_STRING_FIELD_BYTES + 1)}"`,
      errors: [[1, 5, `string field value too long: ${MAX_STRING_FIELD_BYTES + 1} bytes > ${MAX_STRING_FIELD_BYTES}`]],
    },
    {
      input: `m s="${'é'.repeat(MAX_STRING_FIELD_BYTES / 2)}x"`,
      errors: [[1, 5, `string field value too long: ${MAX_STRING_FIELD_BYTES + 1} bytes > ${MAX_STRING_FIELD_BYTES}`]],
    },
  ]

  for (const c of cases) {
    corpus.push({text: c.input, opts: c.opts})
    const title = c.input.length > 60 ? c.input.slice(0, 60) + '…' : c.input
    it(JSON.stringify(title), () => {
      const res = parse(c.input, c.opts)
      assert.deepEqual(res.points, [])
      assert.deepEqual(
        res.errors.map((e) => [e.line, e.col, e.message]),
        c.errors,
      )
    })
  }

  it('a string of exactly 64KiB is fine', () => {
    const res = parse(`m s="${'x'.repeat(MAX_STRING_FIELD_BYTES)}"`)
    assert.deepEqual(res.errors, [])
    assert.equal((res.points[0].fields.s as string).length, MAX_STRING_FIELD_BYTES)
  })
})

describe('parseLineProtocol: recovery and line numbers', () => {
  const cases: Array<{name: string; input: string; opts?: ParseOptions; points: string[]; errors: LineError[]}> = [
    {
      name: 'good lines around bad ones are kept',
      input: 'a v=1 0\nb\nc v=x 0\nd v=2 0',
      points: ['a', 'd'],
      errors: [
        {line: 2, col: 2, message: 'missing fields', text: 'b'},
        {line: 3, col: 5, message: 'invalid boolean', text: 'c v=x 0'},
      ],
    },
    {
      name: 'lines after a multi-line string are numbered physically',
      input: 'ok v=1 1\nm s="x\ny\nz" bad\nlast\nok2 v=2 2',
      points: ['ok', 'ok2'],
      errors: [
        {line: 4, col: 4, message: 'bad timestamp', text: 'm s="x\ny\nz" bad'},
        {line: 5, col: 5, message: 'missing fields', text: 'last'},
      ],
    },
    {
      name: 'an error before a multi-line string skips the whole entry (InfluxDB splits on quotes)',
      input: 'cpu,t v=1,s="a\nb=1 c"\nnext v=1 0',
      points: ['next'],
      errors: [{line: 1, col: 6, message: 'missing tag value', text: 'cpu,t v=1,s="a\nb=1 c"'}],
    },
    {
      name: 'a trailing backslash does not swallow the next line',
      input: 'cpu,t=a\\\nok v=1 0',
      points: ['ok'],
      errors: [{line: 1, col: 9, message: 'missing fields', text: 'cpu,t=a\\'}],
    },
    {
      name: 'an unterminated quote runs to the end of the input, as in InfluxDB',
      input: 'a v="x\nb v=1 0\nc v=2 0',
      points: [],
      errors: [{line: 1, col: 5, message: 'unbalanced quotes', text: 'a v="x\nb v=1 0\nc v=2 0'}],
    },
    {
      name: 'CRLF: the \\r is not part of the reported text',
      input: 'bad\r\nok v=1 0\r\n',
      points: ['ok'],
      errors: [{line: 1, col: 4, message: 'missing fields', text: 'bad'}],
    },
    {
      name: 'lineOffset and file are applied',
      input: 'a v=1 0\n\nb',
      opts: {lineOffset: 100, file: 'metrics.lp'},
      points: ['a'],
      errors: [{line: 103, col: 2, message: 'missing fields', text: 'b', file: 'metrics.lp'}],
    },
  ]
  for (const c of cases) {
    corpus.push({text: c.input, opts: c.opts})
    it(c.name, () => {
      const res = parse(c.input, c.opts)
      assert.deepEqual(
        res.points.map((p) => p.measurement),
        c.points,
      )
      assert.deepEqual(res.errors, c.errors)
    })
  }

  it('formatLineError', () => {
    const [e] = parse('cpu,host=a').errors
    assert.equal(formatLineError('<stdin>', e), '<stdin>:1:11: missing fields')
  })
})

describe('serializePoint', () => {
  const cases: Array<{name: string; point: Point; precision?: Precision; line: string}> = [
    {
      name: 'all field types, sorted tags, empty tag dropped',
      point: pt('cpu', {host: 'a', cpu: 'b', empty: ''}, {x: 1, y: 1.5, i: -3n, u: new UInt(4n), b: false, t: true, s: 'say "hi"\\ \n'}, 1_700_000_000_123),
      line: 'cpu,cpu=b,host=a x=1,y=1.5,i=-3i,u=4u,b=false,t=true,s="say \\"hi\\"\\\\ \n" 1700000000123',
    },
    {
      name: 'escaping in every position',
      point: pt('a b,c=d', {'k =,': 'v =,'}, {'f =,': 1}, 0),
      line: String.raw`a\ b\,c=d,k\ \=\,=v\ \=\, f\ \=\,=1 0`,
    },
    {
      name: 'backslashes are written as they are, except before a delimiter',
      point: pt(String.raw`C:\x\=y\,z`, {p: String.raw`\\srv\a\,b`}, {[String.raw`k\=`]: 1}, 0),
      line: String.raw`C:\x\\=y\\,z,p=\\srv\a\\,b k\\==1 0`,
    },
    {name: 'floats print shortest round-trip form', point: pt('m', {}, {a: 1e21, b: 1e-7, c: -0, d: 0.1 + 0.2, e: 2 ** 53 + 2}, 0), line: 'm a=1e+21,b=1e-7,c=-0,d=0.30000000000000004,e=9007199254740994 0'},
    {name: 'int64 and uint64 bounds', point: pt('m', {}, {a: -(2n ** 63n), b: 2n ** 63n - 1n, c: new UInt(2n ** 64n - 1n)}, 0), line: 'm a=-9223372036854775808i,b=9223372036854775807i,c=18446744073709551615u 0'},
    {name: 'ns', point: pt('m', {}, {v: 1}, -1500), precision: 'ns', line: 'm v=1 -1500000000'},
    {name: 'us', point: pt('m', {}, {v: 1}, -1500), precision: 'us', line: 'm v=1 -1500000'},
    {name: 'ms', point: pt('m', {}, {v: 1}, -1500), precision: 'ms', line: 'm v=1 -1500'},
    {name: 's floors', point: pt('m', {}, {v: 1}, -1500), precision: 's', line: 'm v=1 -2'},
    {name: 'm floors', point: pt('m', {}, {v: 1}, 90_061_000), precision: 'm', line: 'm v=1 1501'},
    {name: 'h floors', point: pt('m', {}, {v: 1}, 90_061_000), precision: 'h', line: 'm v=1 25'},
    {name: 'zero in ns', point: pt('m', {}, {v: 1}, 0), precision: 'ns', line: 'm v=1 0'},
    {name: 'largest timestamp in ns', point: pt('m', {}, {v: 1}, 9_223_372_036_854), precision: 'ns', line: 'm v=1 9223372036854000000'},
  ]
  for (const c of cases) {
    it(c.name, () => assert.equal(serializePoint(c.point, c.precision), c.line))
  }

  it('serializePoints: one line each, trailing newline', () => {
    assert.equal(serializePoints([]), '')
    assert.equal(serializePoints([pt('a', {}, {v: 1}, 1), pt('b', {}, {v: 2}, 2)], 'ms'), 'a v=1 1\nb v=2 2\n')
  })

  // A newline cannot be in a name as it is (it ends the line); it used to make the point
  // unwritable, and a Prometheus label value may hold one. Telegraf's serializer writes it `\n`;
  // InfluxDB and our parser read that back as a backslash and an "n", and writing that again gives
  // the same text.
  const newlines: Array<[string, Point, string]> = [
    ['newline in a tag value', pt('m', {a: 'y\nz'}, {v: 0.5}, 1), String.raw`m,a=y\nz v=0.5 1`],
    ['newline in a measurement', pt('a\nb', {}, {v: 1}, 1), String.raw`a\nb v=1 1`],
    ['newline in a tag key, with a space after it', pt('m', {'k\n x': 'v'}, {v: 1}, 1), String.raw`m,k\n\ x=v v=1 1`],
    ['newline in a field key', pt('m', {}, {'a\nb': 1}, 1), String.raw`m a\nb=1 1`],
    ['newlines at both ends of a tag value', pt('m', {a: '\ny\n'}, {v: 1}, 1), String.raw`m,a=\ny\n v=1 1`],
  ]
  for (const [name, point, line] of newlines) {
    it(`writes a ${name} as \\n (Telegraf's spelling), stable through our parser`, () => {
      assert.equal(serializePoint(point), line)
      assert.equal(serializePoints([point, point]), `${line}\n${line}\n`)
      const {points, errors} = parseLineProtocol(line, {precision: 'ms'})
      assert.deepEqual(errors, [])
      assert.equal(points.length, 1)
      assert.equal(serializePoint(points[0]), line, 'read back and written again: the same text')
    })
  }

  const unrepresentable: Array<[string, Point, RegExp]> = [
    ['no fields', pt('m', {t: 'a'}, {}, 0), /no fields/],
    ['empty measurement', pt('', {}, {v: 1}, 0), /measurement is empty/],
    ['comment-like measurement', pt('#m', {}, {v: 1}, 0), /starts with "#"/],
    ['measurement starting with a tab', pt('\tm', {}, {v: 1}, 0), /starts with a tab/],
    ['measurement ending with a backslash', pt('m\\', {}, {v: 1}, 0), /measurement ends with a backslash/],
    ['tag value ending with a backslash', pt('m', {path: 'C:\\'}, {v: 1}, 0), /value of tag "path" ends with a backslash/],
    ['tag key ending with a backslash', pt('m', {'k\\': 'v'}, {v: 1}, 0), /tag key ends with a backslash/],
    ['field key ending with a backslash', pt('m', {}, {'f\\': 1}, 0), /field key ends with a backslash/],
    ['empty tag key', pt('m', {'': 'v'}, {v: 1}, 0), /tag key is empty/],
    ['empty field key', pt('m', {}, {'': 1}, 0), /field key is empty/],
    ['NaN', pt('m', {}, {v: Number.NaN}, 0), /NaN/],
    ['Infinity', pt('m', {}, {v: -Infinity}, 0), /-Infinity/],
    ['integer overflow', pt('m', {}, {v: 2n ** 63n}, 0), /out of the 64-bit range/],
    ['unsigned overflow', pt('m', {}, {v: new UInt(2n ** 64n)}, 0), /out of the 64-bit range/],
    ['string over 64KiB', pt('m', {}, {v: 'x'.repeat(MAX_STRING_FIELD_BYTES + 1)}, 0), /longer than 65536 bytes/],
    ['fractional timestamp', pt('m', {}, {v: 1}, 1.5), /not an integer/],
    ['timestamp out of range', pt('m', {}, {v: 1}, 9_223_372_036_855), /time outside range/],
    ['undefined field value', pt('m', {}, {v: undefined as unknown as number}, 0), /unsupported value/],
  ]
  for (const [name, point, pattern] of unrepresentable) {
    it(`refuses: ${name}`, () => {
      assert.throws(() => serializePoint(point), (e: unknown) => e instanceof InputError && pattern.test(e.message))
    })
  }
})

describe('round trip: parse(serialize(p)) deep-equals p', () => {
  const every = ' ,="\'#\t\r\\x' // every character with a meaning somewhere, then a safe last one
  const cases: Array<[string, Point]> = [
    ['plain', pt('cpu', {host: 'web-01'}, {usage: 12.5}, 1_700_000_000_123)],
    ['every special character in every name', pt(`m${every}`, {[`k${every}`]: `v${every}`, [`${every}`]: `${every}`}, {[`f${every}`]: 1, [every]: 2}, 0)],
    ['names starting with delimiters', pt(' ,=m', {' k': ' v', ',k': ',v', '=k': '=v', '"k': '"v'}, {' f': 1, ',f': 2, '=f': 3}, 0)],
    ['backslash before each delimiter', pt('a\\,b\\ c\\=d', {'a\\,b\\ c\\=d': 'a\\,b\\ c\\=d'}, {'a\\,b\\ c\\=d': 1}, 0)],
    ['runs of backslashes', pt('a\\\\\\b', {t: '\\\\\\,x', u: '\\\\server\\share'}, {'\\\\f': '\\\\'}, 0)],
    [
      'strings: quotes, backslashes, newlines, CRLF, trailing backslash, injection attempt',
      pt('m', {}, {a: 'say "hi"', b: 'C:\\dir\\', c: 'line1\nline2\r\n', d: '\\', e: '\\"', f: '', g: '" v=1 0\nfake v=2 0', h: '\n', i: '\\\\n'}, 0),
    ],
    ['unicode', pt('温度 🚀', {'城市 ✓': 'Zürich, ∑', 'עברית': 'مرحبا'}, {'é\u0301': 'e\u0301 👩‍👩‍👧', '😀': 1}, 0)],
    ['tag and field values that look like other types', pt('m', {t: 'true', n: '1i', q: '"x"'}, {t: 'true', n: '1i', u: '1u'}, 0)],
    [
      'floats',
      pt(
        'm',
        {},
        {a: 0.1, b: 1 / 3, c: 1e21, d: 1e-7, e: 5e-324, f: Number.MAX_VALUE, g: -Number.MIN_VALUE, h: -0, i: 1, j: 2 ** 53 + 2, k: 123456789.123456789, l: -1.5e-300},
        0,
      ),
    ],
    ['integers', pt('m', {}, {a: 0n, b: -1n, c: -(2n ** 63n), d: 2n ** 63n - 1n, e: new UInt(0n), f: new UInt(2n ** 64n - 1n), g: 123n}, 0)],
    ['booleans', pt('m', {}, {a: true, b: false}, 0)],
    ['Object.prototype names', pt('m', withProto({constructor: 'c', toString: 't'}, 'p'), withProto({hasOwnProperty: 2} as Point['fields'], new UInt(1n)), 0)],
    ['integer-like keys', pt('m', {'1': 'a', '01': 'b'}, {'2': 1, '02': 2}, 0)],
    ['field sharing a tag name', pt('m', {v: 'tag'}, {v: 'field'}, 0)],
    ['tag value starting with #', pt('m', {t: '#x'}, {'#f': 1}, 0)],
    ['names starting with a tab (except the measurement)', pt('m', {'\tk': '\tv'}, {'\tf': 1, '\tg': 2}, 0)],
    ['negative timestamp', pt('m', {}, {v: 1}, -1)],
    ['largest timestamp', pt('m', {}, {v: 1}, 9_223_372_036_854)],
    ['smallest timestamp', pt('m', {}, {v: 1}, -9_223_372_036_854)],
    ['longest string', pt('m', {}, {s: '"'.repeat(MAX_STRING_FIELD_BYTES)}, 0)],
  ]
  for (const precision of ['ms', 'ns'] as const) {
    for (const [name, p] of cases) {
      corpus.push({text: serializePoint(p, precision), opts: {precision}})
      it(`${name} (${precision})`, () => {
        const text = serializePoint(p, precision)
        const res = parseLineProtocol(text, {precision})
        assert.deepEqual(res.errors, [])
        assert.deepStrictEqual(res.points, [p])
      })
    }
  }

  it('many points at once, separated by newlines', () => {
    const points = cases.map(([, p]) => p)
    const res = parseLineProtocol(serializePoints(points, 'ns'), {precision: 'ns'})
    assert.deepEqual(res.errors, [])
    assert.deepStrictEqual(res.points, points)
  })

  it('random names from an alphabet of special characters (seeded)', () => {
    let seed = 42
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const alphabet = [' ', ',', '=', '"', '\\', '#', '\t', '\r', 'a', 'é', '🚀', 'i', 'u', '1', '-', '.']
    const word = () => {
      let s = ''
      const length = 1 + Math.floor(random() * 8)
      for (let k = 0; k < length; k++) s += alphabet[Math.floor(random() * alphabet.length)]
      return s + 'z' // names cannot end with a backslash
    }
    const points: Point[] = []
    for (let k = 0; k < 500; k++) {
      const tags: Record<string, string> = {}
      const fields: Point['fields'] = {}
      for (let t = 0; t < 3; t++) tags[word()] = word()
      fields[word()] = word() + '\n\\'
      fields[word()] = random() * 1e6 - 5e5
      const m = word()
      points.push(pt(m.startsWith('#') || m.startsWith('\t') ? 'x' + m : m, tags, fields, Math.floor(random() * 2e12) - 1e12))
    }
    const text = serializePoints(points, 'ns')
    const res = parseLineProtocol(text, {precision: 'ns'})
    assert.deepEqual(res.errors, [])
    assert.deepStrictEqual(res.points, points)
  })

  it('empty tag values are dropped, as InfluxDB does', () => {
    const p = pt('m', {a: '', b: 'x'}, {v: 1}, 0)
    assert.deepEqual(parseLineProtocol(serializePoint(p)).points[0].tags, {b: 'x'})
  })
})

describe('escapeMeasurement, escapeTag, seriesKey', () => {
  const escapes: Array<[string, string, string]> = [
    ['cpu', 'cpu', 'cpu'],
    ['a b,c=d', String.raw`a\ b\,c=d`, String.raw`a\ b\,c\=d`],
    [String.raw`C:\x`, String.raw`C:\x`, String.raw`C:\x`],
    [String.raw`a\=b`, String.raw`a\\=b`, String.raw`a\\=b`],
    [String.raw`a\,b`, String.raw`a\\,b`, String.raw`a\\,b`],
  ]
  for (const [raw, measurement, tag] of escapes) {
    it(`escapes ${JSON.stringify(raw)}`, () => {
      assert.equal(escapeMeasurement(raw), measurement)
      assert.equal(escapeTag(raw), tag)
    })
  }

  it('seriesKey is the line-protocol key for ordinary names: sorted, empty values dropped', () => {
    assert.equal(seriesKey('cpu', {host: 'a', cpu: 'b', e: ''}), 'cpu,cpu=b,host=a')
    assert.equal(seriesKey('a b', {'k=': 'v,'}), String.raw`a\ b,k\==v\,`)
  })

  it('seriesKey stays injective where line protocol cannot spell the names', () => {
    const pairs: Array<[[string, Record<string, string>], [string, Record<string, string>]]> = [
      [['m\\', {k: 'v'}], ['m,k=v', {}]],
      [['m', {a: 'b\\', c: 'd'}], ['m', {a: 'b,c=d'}]],
      [['m', {a: 'x\ny'}], ['m', {a: 'x\\ny'}]],
      [['m', {a: 'b', c: 'd'}], ['m', {a: 'b,c=d'}]],
    ]
    for (const [[m1, t1], [m2, t2]] of pairs) assert.notEqual(seriesKey(m1, t1), seriesKey(m2, t2))
  })
})

describe('validateLineProtocol: the same verdict as parseLineProtocol, without building points', () => {
  /** `now` for the parse, so that points without a timestamp can be told apart */
  const UNTIMED = -1e15
  const REQUIRED_SETS: string[][] = [[], ['host'], ['t'], ['a', 't'], ['k =,'], ['constructor', '__proto__'], ['t k,=']]
  let rotation = 0

  function assertAgree(text: string, opts: ParseOptions = {}): void {
    const required = REQUIRED_SETS[rotation++ % REQUIRED_SETS.length]
    const parsed = parseLineProtocol(text, {...opts, now: UNTIMED})
    const checked = validateLineProtocol(text, {precision: opts.precision, file: opts.file, lineOffset: opts.lineOffset, requiredTags: required, ranges: true})
    const where = `${JSON.stringify(text.length > 300 ? text.slice(0, 300) + '…' : text)} (${opts.precision ?? 'ns'})`
    assert.deepEqual(checked.errors, parsed.errors, where)
    assert.equal(checked.points, parsed.points.length, where)
    assert.equal(checked.untimed, parsed.points.filter((p) => p.ts <= UNTIMED).length, where)
    assert.equal(checked.missingTags, parsed.points.filter((p) => required.some((k) => !Object.hasOwn(p.tags, k))).length, `missing ${required}: ${where}`)
    // the valid entries, cut out of the text, read as the same points and nothing else
    const ranges = checked.validLineRanges!
    const kept: string[] = []
    for (let k = 0; k < ranges.length; k += 2) kept.push(text.slice(ranges[k], ranges[k + 1]))
    const again = parseLineProtocol(kept.join('\n'), {...opts, now: UNTIMED})
    assert.deepEqual(again.errors, [], `kept text of ${where}`)
    assert.deepStrictEqual(again.points, parsed.points, `kept text of ${where}`)
    // the byte path answers exactly when the text is ASCII and every entry good, and then agrees
    const quick = checkAsciiLineProtocol(Buffer.from(text), {precision: opts.precision, requiredTags: required})
    // eslint-disable-next-line no-control-regex
    const answers = /^[\u0000-\u007f]*$/.test(text) && parsed.errors.length === 0
    assert.deepEqual(quick, answers ? {points: checked.points, untimed: checked.untimed, missingTags: checked.missingTags} : undefined, `bytes of ${where}`)
  }

  const PRECISIONS: Precision[] = ['ns', 'us', 'ms', 's', 'm', 'h']

  it('every input of the tables above, in every precision', () => {
    assert.ok(corpus.length > 150, `corpus has ${corpus.length} inputs`)
    for (const {text, opts} of corpus) {
      assertAgree(text, opts)
      for (const precision of PRECISIONS) assertAgree(text, {...opts, precision})
    }
  })

  it('integers, floats and timestamps at the edges of their ranges', () => {
    const edges = ['9223372036854775807', '9223372036854775808', '9223372036854775806', '18446744073709551615', '18446744073709551616', '99999999999999999999', '100000000000000000000', '999999999999999', '1000000000000000', '0', '']
    const values: string[] = []
    for (const digits of edges) {
      for (const zeros of ['', '0', '000000000000000000000']) {
        for (const sign of ['', '-']) {
          for (const suffix of ['i', 'u', '', '.0', 'e0', '.5e-3']) values.push(sign + zeros + digits + suffix)
        }
      }
    }
    values.push('1' + '0'.repeat(307), '1' + '0'.repeat(308), '9'.repeat(308), '9'.repeat(309), '9'.repeat(308) + '.9', '0'.repeat(400) + '1', '1e308', '1.7976931348623157e308', '1.7976931348623159e308', '2e308', '1e-400', '-1e309')
    for (const v of values) assertAgree(`m v=${v} 1`)
    for (const precision of PRECISIONS) {
      for (const ts of ['9223372036854775806', '9223372036854775807', '9223372036854775', '9223372036854776', '9223372036854', '9223372036855', '9223372036', '9223372037', '153722867', '153722868', '2562047', '2562048', '99999999999999999999']) {
        for (const zeros of ['', '00']) for (const sign of ['', '-']) assertAgree(`m v=1 ${sign}${zeros}${ts}`, {precision})
      }
    }
  })

  it('series keys and field keys at the length limit', () => {
    for (const length of [65_533, 65_534, 65_535, 65_536]) {
      const tagValue = 'x'.repeat(length - 'm,t='.length)
      assertAgree(`m,t=${tagValue} v=1 0`)
      assertAgree(`m,t=${tagValue.slice(0, -2)}é v=1 0`)
      // series key + 4 + field key
      const fieldKey = 'f'.repeat(length - 4 - 'm,t=abc'.length)
      assertAgree(`m,t=abc ${fieldKey}=1 0`)
      assertAgree(`m,t=abc a=1,${fieldKey}=1 0`)
    }
  })

  it('duplicate and required tag keys, escaped or not, few or many', () => {
    const inputs = [
      'm,a=1,b=2,a=3 v=1 0',
      String.raw`m,a\ b=1,a\ b=2 v=1 0`,
      String.raw`m,a\ b=1,a\\ b=2 v=1 0`,
      String.raw`m,a\=b=1,a=b=2 v=1 0`,
      String.raw`m,t\ k\,\==1,host=x v=1 0`,
      'm,host=a,hos=b,hostt=c v=1 0',
      'm,__proto__=a,constructor=b v=1 0',
      'm,__proto__=a,__proto__=b v=1 0',
    ]
    const many = (n: number, dup?: number) => 'm,' + Array.from({length: n}, (_, k) => `k${k}=v`).join(',') + (dup === undefined ? '' : `,k${dup}=again`) + ' v=1 0'
    for (const n of [31, 32, 33, 64, 200]) inputs.push(many(n), many(n, 0), many(n, n - 1), many(n, 31), many(n, 32))
    inputs.push('m,' + Array.from({length: 100}, (_, k) => `k=${k}`).join(',') + ' v=1 0')
    for (const text of inputs) for (let r = 0; r < REQUIRED_SETS.length; r++) assertAgree(text)
  })

  it('random mutations of good and bad input (seeded)', () => {
    let seed = 7
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
    const alphabet = [' ', ',', '=', '\\', '"', '\n', '\r', '\t', '#', '-', '+', '.', 'e', 'E', 'i', 'u', 't', 'f', 'T', 'F', 'r', 'a', 'l', 's', '0', '1', '9', 'é', '🚀', '\uFEFF', 'N', 'host']
    const seeds = corpus.map((c) => c.text).filter((t) => t.length < 2000)
    seeds.push(
      'cpu,host=server01,region=us-west,cpu=cpu3 usage_user=12.3,usage_system=5.5,count=12345i 1700000000012345000',
      'disk,host=a,path=/var free=123u,used_percent=55.1,ok=true,mode="rw" 1700000000000000000\nmem,host=a used=1i 1700000000000000000\n',
      'a v=1\nb s="x\ny" 2\r\nc,t=1 v=-0.5e-3,w=f 3\n# c\n\n  d v=T',
    )
    for (let iteration = 0; iteration < 25_000; iteration++) {
      let text = pick(seeds)
      const edits = 1 + Math.floor(random() * 4)
      for (let e = 0; e < edits; e++) {
        const at = Math.floor(random() * (text.length + 1))
        switch (Math.floor(random() * 5)) {
          case 0:
            text = text.slice(0, at) + pick(alphabet) + text.slice(at + 1)
            break
          case 1:
            text = text.slice(0, at) + pick(alphabet) + text.slice(at)
            break
          case 2:
            text = text.slice(0, at) + text.slice(at + 1 + Math.floor(random() * 3))
            break
          case 3:
            text = text.slice(0, at) + text.slice(Math.floor(random() * text.length), Math.floor(random() * text.length)) + text.slice(at)
            break
          default:
            text = text + (random() < 0.5 ? '\n' : '') + pick(seeds)
        }
      }
      assertAgree(text, {precision: pick(PRECISIONS)})
    }
  })

  it('random lines from grammar pieces, mostly good (seeded)', () => {
    let seed = 11
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
    // good pieces first, then pieces that are bad or odd somewhere
    const names = ['cpu', 'host', 'a', 't', 'k', 'usage_user', '#x', '"q"', String.raw`C:\x`, 'k =,', String.raw`k\ \,\=`, 'x\\', 'é']
    const values = ['1', '-1.5', '.5', '1.', '1e3', '-1E-3', '12i', '-9223372036854775808i', '18446744073709551615u', '1u', 't', 'FALSE', 'True', '"s"', '"a\\"b"', '"x\ny"', '""']
    const badValues = ['9223372036854775808i', '-1u', 'tru', '1e400', '1x', '-', '+1', 'NaN', '"open']
    const stamps = ['', ' 0', ' -1', ' 1700000000000000000', ' 9223372036854775806', '  12  ']
    const badStamps = [' 9223372036854775807', ' 1 2', ' x', ' 1.5']
    const ends = ['\n', '\r\n', '\n\n', '\n# comment\n', '\n  ']
    const badEnds = ['\r', '']
    const maybe = <T>(good: readonly T[], bad: readonly T[], p = 0.02): T => (random() < p ? pick(bad) : pick(good))
    const name = () => maybe(names.slice(0, 10), names.slice(10))
    const escape = (x: string) => x.replace(/[ ,=]/g, (m) => (random() < 0.99 ? '\\' + m : m))
    let accepted = 0
    for (let iteration = 0; iteration < 5000; iteration++) {
      let text = ''
      const lines = 1 + Math.floor(random() * 4)
      for (let l = 0; l < lines; l++) {
        let line = escape(name())
        for (let t = Math.floor(random() * 4); t > 0; t--) line += ',' + escape(name()) + '=' + escape(name())
        line += random() < 0.99 ? ' ' : ''
        for (let f = 1 + Math.floor(random() * 3); f > 0; f--) line += escape(name()) + '=' + maybe(values, badValues) + (f > 1 ? ',' : '')
        text += line + maybe(stamps, badStamps) + maybe(ends, badEnds)
      }
      const precision = pick(PRECISIONS)
      assertAgree(text, {precision})
      if (checkAsciiLineProtocol(Buffer.from(text), {precision})) accepted++
    }
    assert.ok(accepted > 1000, `${accepted} of 5000 random inputs were good ASCII`)
  })

  it('creates no BigInt, which parsing an integer field does', () => {
    const text = 'm a=1i,b=-9223372036854775808i,c=18446744073709551615u,d=99999999999999999999i,e=12u 1700000000000000000\n'.repeat(50)
    const original = globalThis.BigInt
    let calls = 0
    globalThis.BigInt = Object.assign((v: string | number | bigint | boolean) => {
      calls++
      return original(v)
    }, original)
    try {
      const checked = validateLineProtocol(text)
      assert.equal(checked.points, 0)
      assert.equal(checked.errors.length, 50)
      assert.equal(calls, 0)
      parseLineProtocol(text)
      assert.ok(calls > 0, 'the hook sees the parser’s BigInts')
    } finally {
      globalThis.BigInt = original
    }
  })

  it('ranges: runs of good entries, ends before the line ending, blank lines and comments inside a run', () => {
    const text = 'a v=1 1\r\n# c\n\nb v=2 2\nbad\nc s="x\ny" 3\r\nd v=\ne v=5 5'
    const r = validateLineProtocol(text, {ranges: true})
    assert.equal(r.points, 4)
    assert.deepEqual(
      r.errors.map((e) => [e.line, e.message]),
      [
        [5, 'missing fields'],
        [8, 'missing field value'],
      ],
    )
    const runs: string[] = []
    for (let k = 0; k < r.validLineRanges!.length; k += 2) runs.push(text.slice(r.validLineRanges![k], r.validLineRanges![k + 1]))
    assert.deepEqual(runs, ['a v=1 1\r\n# c\n\nb v=2 2', 'c s="x\ny" 3', 'e v=5 5'])
    assert.equal(validateLineProtocol(text).validLineRanges, undefined)
    assert.deepEqual(validateLineProtocol('\uFEFF a v=1 1\n', {ranges: true}).validLineRanges, [2, 9])
  })

  it('untimed and missingTags count the good entries only', () => {
    const r = validateLineProtocol('a,host=x v=1\nb v=1 1\nc,host=y v=1 2\nd,host v=1\n', {requiredTags: ['host']})
    assert.deepEqual([r.points, r.untimed, r.missingTags, r.errors.length], [3, 1, 1, 1])
  })
})

describe('PointSerializer: what serializePoint always wrote, faster', () => {
  /** serializePoint as it was before PointSerializer (straightforward, no caching): the reference */
  function reference(p: Point, precision: Precision): string {
    const unserializable = (why: string) => new InputError(`cannot write point ${typeof p.measurement === 'string' ? JSON.stringify(p.measurement.slice(0, 100)) : String(p.measurement)} as line protocol: ${why}`)
    const checkName = (s: string, what: string) => {
      if (typeof s !== 'string') throw unserializable(`the ${what} is not a string`)
      if (s === '') throw unserializable(`the ${what} is empty`)
      if (s.charCodeAt(s.length - 1) === 92) throw unserializable(`the ${what} ends with a backslash, which line protocol cannot express`)
    }
    const m = p.measurement
    checkName(m, 'measurement')
    const first = m.charCodeAt(0)
    if (first === 35 || first === 9) throw unserializable(`the measurement starts with ${first === 35 ? '"#" (a comment)' : 'a tab'}`)
    let line = escapeMeasurement(m)
    const tagKeys = Object.keys(p.tags)
    if (tagKeys.length > 1) tagKeys.sort()
    for (const k of tagKeys) {
      const v = p.tags[k]
      if (v === '' || v === undefined) continue
      checkName(k, 'tag key')
      checkName(v, `value of tag ${JSON.stringify(k)}`)
      line += ',' + escapeTag(k) + '=' + escapeTag(v)
    }
    let sep = ' '
    for (const k of Object.keys(p.fields)) {
      checkName(k, 'field key')
      // values and timestamps: one at a time, alone in a point (their formatting did not change)
      const one = serializePointOrError({measurement: 'm', tags: {}, fields: {[k]: p.fields[k]!}, ts: 0}, precision)
      if (one instanceof Error) throw unserializable(one.message.replace(/^cannot write point "m" as line protocol: /, ''))
      line += sep + escapeTag(k) + '=' + one.slice(2 + escapeTag(k).length + 1, one.lastIndexOf(' '))
      sep = ','
    }
    if (sep === ' ') throw unserializable('it has no fields (point without fields is unsupported)')
    const ts = serializePointOrError({measurement: 'm', tags: {}, fields: {v: 1}, ts: p.ts}, precision)
    if (ts instanceof Error) throw unserializable(ts.message.replace(/^cannot write point "m" as line protocol: /, ''))
    return line + ' ' + ts.slice(ts.lastIndexOf(' ') + 1)
  }

  function serializePointOrError(p: Point, precision: Precision): string | Error {
    try {
      return new PointSerializer(precision).line(p)
    } catch (err) {
      return err as Error
    }
  }

  function outcome(f: () => string): string {
    try {
      return f()
    } catch (err) {
      assert.ok(err instanceof InputError, String(err))
      return `ERROR ${err.message}`
    }
  }

  it('the same lines and the same refusals over random runs of points (seeded)', () => {
    let seed = 5
    const random = () => ((seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31)
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(random() * xs.length)]!
    const names = ['cpu', 'host', 'region', 'a b', 'k=v', 'x,y', 'C:\\x', 'é', '温度', '🚀', '#m', '\tt', 'ends\\', 'new\nline', '', 'constructor', '__proto__', '1', '01', 'b']
    const good = names.slice(0, 10)
    const values: Point['fields'][string][] = [0, -0, 1.5, 1e21, -1e-7, 2 ** 53 + 2, 12n, -(2n ** 63n), new UInt(2n ** 64n - 1n), true, false, 'say "hi"\\', 'ünï', '']
    const badValues: unknown[] = [Number.NaN, Infinity, 2n ** 63n, new UInt(2n ** 64n), 'x'.repeat(MAX_STRING_FIELD_BYTES + 1), undefined, null, {}]
    for (const precision of ['ms', 'ns', 's'] as const) {
      const serializer = new PointSerializer(precision)
      // runs of points sharing keys, as collectors send them, with the keys changing now and then
      let tagKeys: string[] = []
      let fieldKeys: string[] = []
      let measurement = 'cpu'
      for (let k = 0; k < 4000; k++) {
        if (k % 50 === 0 || random() < 0.05) tagKeys = Array.from({length: Math.floor(random() * 4)}, () => (random() < 0.9 ? pick(good) : pick(names)))
        if (k % 50 === 0 || random() < 0.05) fieldKeys = Array.from({length: Math.floor(random() * 3) + (random() < 0.97 ? 1 : 0)}, () => (random() < 0.9 ? pick(good) : pick(names)))
        if (random() < 0.05) measurement = random() < 0.8 ? pick(good) : pick(names)
        const tags: Record<string, string> = {}
        for (const key of tagKeys) {
          const v = random() < 0.9 ? pick(good) + String(k % 7) : random() < 0.5 ? pick(names) : (5 as unknown as string)
          if (key === '__proto__') Object.defineProperty(tags, key, {value: v, enumerable: true, writable: true, configurable: true})
          else tags[key] = v
        }
        const fields: Point['fields'] = {}
        for (const key of fieldKeys) {
          const v = (random() < 0.97 ? pick(values) : pick(badValues)) as Point['fields'][string]
          if (key === '__proto__') Object.defineProperty(fields, key, {value: v, enumerable: true, writable: true, configurable: true})
          else fields[key] = v
        }
        const ts = random() < 0.98 ? Math.floor(random() * 2e12) - 1e12 : pick([1.5, 9_223_372_036_855, Number.NaN])
        const p: Point = {measurement: random() < 0.99 ? measurement : (7 as unknown as string), tags, fields, ts}
        const expected = outcome(() => reference(p, precision))
        const got = outcome(() => serializer.line(p))
        assert.equal(got, expected, JSON.stringify({p, precision}, (_k, v: unknown) => (typeof v === 'bigint' ? `${v}n` : v)))
        if (!got.startsWith('ERROR')) {
          assert.equal(serializer.bytes, Buffer.byteLength(got))
          assert.equal(serializePoint(p, precision), got)
        }
      }
    }
  })

  it('a fresh serializer checks a missing measurement too', () => {
    assert.throws(() => new PointSerializer().line(pt(undefined as unknown as string, {}, {v: 1}, 0)), /measurement is not a string/)
  })

  it('PointBatches: bodies as bytes hold exactly the text of the string bodies, batch by batch', () => {
    const points: Point[] = []
    for (let k = 0; k < 1000; k++) points.push(pt(k % 7 === 0 ? '温度' : 'cpu', {host: `h${k % 13}`, ...(k % 11 === 0 ? {city: 'Zürich'} : {})}, {v: k / 3, s: k % 5 === 0 ? 'ü"' : 'x'}, k))
    points.splice(500, 0, pt('bad', {}, {v: Number.NaN}, 0))
    for (const limits of [{maxLines: 64, maxBytes: 1 << 20}, {maxLines: 5000, maxBytes: 700}]) {
      const asText = new PointBatches(points, 'ns', limits)
      const asBytes = new PointBatches(points, 'ns', limits, {bytes: true})
      const text = [...asText]
      const bytes = [...asBytes]
      assert.ok(text.length > 1)
      assert.deepEqual(
        bytes.map((b) => [Buffer.isBuffer(b.body), b.body.toString(), b.count, b.lines]),
        text.map((b) => [true, b.body, b.count, b.lines]),
      )
      assert.deepEqual(asBytes.rejection(), asText.rejection())
      for (const b of bytes) assert.ok(b.body.length <= limits.maxBytes || b.count === 1)
    }
  })

  it('serializePoints is the lines joined, each ending with a newline', () => {
    const points = [pt('a', {t: 'x'}, {v: 1}, 1), pt('a', {t: 'y'}, {v: 2}, 2), pt('b', {u: 'z', t: 'y'}, {w: 'é'}, 3)]
    assert.equal(serializePoints(points, 'ms'), 'a,t=x v=1 1\na,t=y v=2 2\nb,t=y,u=z w="é" 3\n')
  })
})

describe('countMergedValues: values a millisecond store keeps as one', () => {
  const p = (tags: Record<string, string>, fields: Point['fields'], ts: number): Point => ({measurement: 'm', tags, fields, ts})
  const table: Array<[string, Point[], number]> = [
    ['distinct timestamps', [p({}, {v: 1}, 1), p({}, {v: 2}, 2)], 0],
    ['same ms, same series and field', [p({}, {v: 1}, 1), p({}, {v: 2}, 1), p({}, {v: 3}, 1)], 2],
    ['same ms, other series', [p({h: 'a'}, {v: 1}, 1), p({h: 'b'}, {v: 2}, 1)], 0],
    ['same ms, other field', [p({}, {v: 1}, 1), p({}, {w: 2}, 1)], 0],
    ['tag order and empty tags do not make another series', [p({a: '1', b: '2'}, {v: 1}, 1), p({b: '2', a: '1', c: ''}, {v: 2}, 1)], 1],
    ['per field of a point', [p({}, {v: 1, w: 1}, 1), p({}, {v: 2}, 1)], 1],
  ]
  for (const [name, points, merged] of table) it(name, () => assert.equal(countMergedValues(points), merged))

  it('1,000 points 1 µs apart parsed at precision us fall in 1 ms: 999 merged', () => {
    let text = ''
    for (let i = 0; i < 1000; i++) text += `m v=${i} ${1_764_000_000_000_000 + i}\n`
    const {points} = parseLineProtocol(text, {precision: 'us'})
    assert.equal(countMergedValues(points), 999)
  })
})
