import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {UInt, type Point} from '../../src/core/model/point.js'
import {
  analyzeRejection,
  InfluxWriteRejected,
  linesOf,
  makeBatch,
  PointBatches,
  planBatches,
  sendBatches,
  splitLineProtocol,
  textBatches,
  toBatches,
  type Batch,
} from '../../src/core/store/influx/write.js'
import {droppedByPartialWrite} from '../../src/core/store/types.js'

describe('planBatches: by count and by bytes', () => {
  const lines = (n: number, size: number) => Array.from({length: n}, (_, i) => String(i % 10).repeat(size))
  const cases: Array<{name: string; lines: string[]; maxLines: number; maxBytes: number; want: Array<[number, number]>}> = [
    {name: 'nothing', lines: [], maxLines: 10, maxBytes: 100, want: []},
    {name: 'fits in one', lines: lines(3, 9), maxLines: 10, maxBytes: 100, want: [[0, 3]]},
    {name: 'split by count', lines: lines(5, 1), maxLines: 2, maxBytes: 1000, want: [[0, 2], [2, 4], [4, 5]]},
    // each line is 10 bytes with its newline: 3 fit in 30 bytes, not 4
    {name: 'split by bytes', lines: lines(7, 9), maxLines: 100, maxBytes: 30, want: [[0, 3], [3, 6], [6, 7]]},
    {name: 'a line longer than the limit goes alone', lines: ['a', 'x'.repeat(50), 'b'], maxLines: 100, maxBytes: 10, want: [[0, 1], [1, 2], [2, 3]]},
    // "é" is 2 bytes: 4 of them + newline = 9 bytes per line (5 if counted in characters)
    {name: 'bytes are UTF-8 bytes', lines: ['éééé', 'éééé', 'éééé'], maxLines: 100, maxBytes: 18, want: [[0, 2], [2, 3]]},
  ]
  for (const c of cases) it(c.name, () => assert.deepEqual(planBatches(c.lines, {maxLines: c.maxLines, maxBytes: c.maxBytes}), c.want))
})

describe('toBatches: full line-protocol escaping', () => {
  it('escapes measurements, tags, fields and string values; types i, u, booleans', () => {
    const p: Point = {
      measurement: 'my meas,x',
      tags: {'tag key': 'a=b,c', host: 'h'},
      fields: {'f=1': 1.5, n: -3n, u: new UInt(7n), ok: false, s: 'say "hi"\\\nbye'},
      ts: 1_700_000_000_123,
    }
    const [b] = toBatches([p], 'ms', {maxLines: 10, maxBytes: 1000})
    assert.equal(b.body, 'my\\ meas\\,x,host=h,tag\\ key=a\\=b\\,c f\\=1=1.5,n=-3i,u=7u,ok=false,s="say \\"hi\\"\\\\\nbye" 1700000000123\n')
  })

  it('writes the timestamp in the configured precision', () => {
    const p: Point = {measurement: 'm', tags: {}, fields: {v: 1}, ts: 1_500}
    assert.equal(toBatches([p], 'ns', {maxLines: 10, maxBytes: 1000})[0].body, 'm v=1 1500000000\n')
    assert.equal(toBatches([p], 's', {maxLines: 10, maxBytes: 1000})[0].body, 'm v=1 1\n')
  })

  it('PointBatches sets aside what line protocol cannot carry and batches the rest', () => {
    const points: Point[] = Array.from({length: 5}, (_, i) => ({measurement: 'm', tags: {}, fields: {v: i === 2 ? Number.POSITIVE_INFINITY : i}, ts: i}))
    const batches = new PointBatches(points, 'ms', {maxLines: 2, maxBytes: 1000})
    assert.deepEqual(
      [...batches].map((b) => b.lines),
      [['m v=0 0', 'm v=1 1'], ['m v=3 3', 'm v=4 4']],
    )
    assert.equal(batches.unwritable.length, 1)
    assert.match(batches.unwritable[0].reason, /field "v" is Infinity/)
    assert.equal(batches.rejection()?.dropped, 1)
  })

  it('PointBatches ends a batch at the byte limit', () => {
    const points: Point[] = Array.from({length: 4}, (_, i) => ({measurement: 'm', tags: {}, fields: {v: i}, ts: i}))
    // each line "m v=0 0" is 7 bytes + newline
    assert.deepEqual(
      [...new PointBatches(points, 'ms', {maxLines: 100, maxBytes: 17})].map((b) => b.count),
      [2, 2],
    )
  })

  it('refuses a point line protocol cannot carry before anything is sent', () => {
    assert.throws(() => toBatches([{measurement: 'm', tags: {}, fields: {v: Number.NaN}, ts: 1}], 'ms', {maxLines: 10, maxBytes: 1000}), /NaN/)
  })
})

describe('splitLineProtocol: entries as InfluxDB finds them', () => {
  const cases: Array<[string, string, string[]]> = [
    ['plain lines', 'a v=1 1\nb v=2 2\n', ['a v=1 1', 'b v=2 2']],
    ['no final newline, CRLF', 'a v=1 1\r\nb v=2 2', ['a v=1 1', 'b v=2 2']],
    ['blank lines and comments are left out', '\n# a comment\n  \na v=1 1\n', ['a v=1 1']],
    ['a newline inside a string field stays in the entry', 'a s="one\ntwo",v=1 1\nb v=2 2', ['a s="one\ntwo",v=1 1', 'b v=2 2']],
    ['an escaped quote does not end the string', 'a s="say \\"hi\n\\"" 1\nb v=2', ['a s="say \\"hi\n\\"" 1', 'b v=2']],
    ['a quote in a tag value is just a character', 'a,t="x v=1 1\nb v=2 2', ['a,t="x v=1 1', 'b v=2 2']],
    ['a quote after an escaped = in a field key is a character', 'a k\\="x=1 1\nb v=2 2', ['a k\\="x=1 1', 'b v=2 2']],
    ['escaped spaces in names', 'my\\ m,t=a\\ b v=1 1\nz v=1', ['my\\ m,t=a\\ b v=1 1', 'z v=1']],
  ]
  for (const [name, text, want] of cases) it(name, () => assert.deepEqual(splitLineProtocol(text), want))

  it('textBatches keeps the precision for the request', () => {
    const [b] = [...textBatches('a v=1 1', 's', {maxLines: 10, maxBytes: 100})]
    assert.deepEqual(b, {body: 'a v=1 1\n', count: 1, precision: 's'})
  })

  const text = '# head\na v=1 1\nb s="x\ny" 2\n\nc v=3 3\nd v=4 4\n'
  const textCases: Array<[string, {maxLines: number; maxBytes: number}, string[], number[]]> = [
    ['one batch: the text as it is', {maxLines: 10, maxBytes: 1000}, [text], [4]],
    ['by count: slices of the text, a quoted newline kept', {maxLines: 2, maxBytes: 1000}, ['# head\na v=1 1\nb s="x\ny" 2\n\n', 'c v=3 3\nd v=4 4\n'], [2, 2]],
    ['by bytes', {maxLines: 10, maxBytes: 16}, ['# head\na v=1 1\n', 'b s="x\ny" 2\n\n', 'c v=3 3\nd v=4 4\n'], [1, 1, 2]],
  ]
  for (const [name, limits, bodies, counts] of textCases) {
    for (const input of [text, Buffer.from(text)]) {
      it(`textBatches ${name} (${typeof input === 'string' ? 'text' : 'bytes'})`, () => {
        const batches = [...textBatches(input, 'ms', limits)]
        assert.deepEqual(
          batches.map((b) => b.body.toString()),
          bodies,
        )
        assert.equal(batches.every((b) => typeof b.body === typeof input), true)
        assert.deepEqual(batches.map((b) => b.count), counts)
        assert.deepEqual(batches.flatMap(linesOf), ['a v=1 1', 'b s="x\ny" 2', 'c v=3 3', 'd v=4 4'])
      })
    }
  }

  it('textBatches over bytes counts UTF-8 bytes and keeps multi-byte characters whole', () => {
    const bytes = Buffer.from('a s="é€" 1\nb s="日本" 2\n')
    const batches = [...textBatches(bytes, 'ms', {maxLines: 10, maxBytes: 15})]
    assert.deepEqual(
      batches.map((b) => b.body.toString()),
      ['a s="é€" 1\n', 'b s="日本" 2\n'],
    )
  })

  it('textBatches with CRLF or non-ASCII text takes the exact way', () => {
    const batches = [...textBatches('a v=1 1\r\nb s="é" 2\r\n', 'ms', {maxLines: 1, maxBytes: 100})]
    assert.deepEqual(batches.map((b) => b.body), ['a v=1 1\n', 'b s="é" 2\n'])
  })

  it('textBatches of parts whose entries are counted: one batch of those very parts when they fit, else joined and cut', () => {
    const parts = [Buffer.from('a v=1 1\nb v='), Buffer.alloc(0), Buffer.from('2 2\n'), Buffer.from('c v=3 3\n')]
    const [whole, ...more] = [...textBatches(parts, 'ms', {maxLines: 3, maxBytes: 100}, 3)]
    assert.deepEqual(more, [])
    assert.equal(whole!.body, parts, 'the same parts, not joined')
    assert.equal(whole!.count, 3)
    assert.deepEqual(linesOf(whole!), ['a v=1 1', 'b v=2 2', 'c v=3 3'])
    const one = Buffer.from('a v=1 1\n')
    assert.equal([...textBatches(one, 'ms', {maxLines: 3, maxBytes: 100}, 1)][0]!.body, one, 'a single buffer: itself')
    // over the limits, no last newline, a carriage return, no count: the bytes' way
    const way = (input: Buffer | Buffer[], limits: {maxLines: number; maxBytes: number}, entries?: number) =>
      [...textBatches(input, 'ms', limits, entries)].map((b) => [Buffer.isBuffer(b.body) ? 'bytes' : typeof b.body, b.body.toString(), b.count])
    assert.deepEqual(way(parts, {maxLines: 2, maxBytes: 100}, 3), [['bytes', 'a v=1 1\nb v=2 2\n', 2], ['bytes', 'c v=3 3\n', 1]])
    assert.deepEqual(way(parts, {maxLines: 3, maxBytes: 20}, 3), [['bytes', 'a v=1 1\nb v=2 2\n', 2], ['bytes', 'c v=3 3\n', 1]])
    assert.deepEqual(way(parts, {maxLines: 3, maxBytes: 100}), [['bytes', 'a v=1 1\nb v=2 2\nc v=3 3\n', 3]])
    assert.deepEqual(way([Buffer.from('a v=1 1\nb v'), Buffer.from('=2 2')], {maxLines: 3, maxBytes: 100}, 2), [['bytes', 'a v=1 1\nb v=2 2\n', 2]])
    assert.deepEqual(way([Buffer.from('a v=1 1\r\n'), Buffer.from('b v=2 2\n')], {maxLines: 3, maxBytes: 100}, 2), [['string', 'a v=1 1\nb v=2 2\n', 2]])
    assert.deepEqual(way([Buffer.alloc(0)], {maxLines: 3, maxBytes: 100}, 0), [])
  })

  it('textBatches of comments only is no batch', () => {
    assert.deepEqual([...textBatches('# nothing\n\n', 'ms', {maxLines: 10, maxBytes: 100})], [])
  })
})

describe('analyzeRejection: which lines InfluxDB refused', () => {
  const points: Point[] = [
    {measurement: 'cpu', tags: {host: 'a'}, fields: {v: 1.5}, ts: 1},
    {measurement: 'cpu', tags: {host: 'b'}, fields: {v: 2n}, ts: 2},
    {measurement: 'mem', tags: {}, fields: {v: 3n}, ts: 3},
  ]
  const batch = toBatches(points, 'ms', {maxLines: 10, maxBytes: 10_000})[0]

  it('1.x field type conflict: the points carrying the conflicting type', () => {
    const r = analyzeRejection('partial write: field type conflict: input field "v" on measurement "cpu" is type integer, already exists as type float dropped=1', batch)
    assert.deepEqual(r.rejected.map((x) => x.line), ['cpu,host=b v=2i 2'])
    assert.equal(r.partial, true)
    assert.equal(r.dropped, 1)
  })

  it('1.x parse errors: the quoted lines with their reasons', () => {
    const r = analyzeRejection("partial write: unable to parse 'bad line': invalid field format\nunable to parse 'cpu u=3u 4': invalid number dropped=0", batch)
    assert.deepEqual(r.rejected, [
      {line: 'bad line', reason: 'invalid field format'},
      {line: 'cpu u=3u 4', reason: 'invalid number'},
    ])
  })

  it('2.x: the line number it reports', () => {
    const r = analyzeRejection('failed to parse line protocol: errors encountered on line(s): line 3: invalid number', batch, 3)
    assert.deepEqual(r.rejected.map((x) => x.line), ['mem v=3i 3'])
    assert.equal(r.partial, false)
  })

  it('a batch of text: the points are parsed to find the conflicting ones', () => {
    const text = makeBatch(['cpu,host=a v=1.5 1', 'cpu,host=b v=2i 2', 'not line protocol'], 'ms')
    const r = analyzeRejection('partial write: field type conflict: input field "v" on measurement "cpu" is type integer, already exists as type float dropped=1', text)
    assert.deepEqual(r.rejected.map((x) => x.line), ['cpu,host=b v=2i 2'])
  })

  it('anything else: every line of the batch, with the message', () => {
    const r = analyzeRejection('points beyond retention policy dropped=3', batch)
    assert.equal(r.rejected.length, 3)
    assert.equal(r.dropped, 3)
  })

  it('the error lists the lines and says the others were written', () => {
    const err = new InfluxWriteRejected('http://db:8086', [analyzeRejection('partial write: field type conflict: input field "v" on measurement "cpu" is type integer, already exists as type float dropped=1', batch)], 3)
    assert.equal(err.message, 'InfluxDB at http://db:8086 rejected 1 of 3 points (400): field type conflict: input field "v" on measurement "cpu" is type integer, already exists as type float')
    assert.equal(err.details, '  rejected: cpu,host=b v=2i 2')
    assert.match(err.hint ?? '', /other points were written/)
    assert.equal(err.exitCode, 2)
    assert.equal(err.retriable, false)
  })

  it('says how many points a partial write refused (mon write counts the rest as written)', () => {
    const partial = new InfluxWriteRejected('http://db:8086', [analyzeRejection('partial write: field type conflict: input field "v" on measurement "cpu" is type integer, already exists as type float dropped=1', batch)], 3)
    assert.equal(droppedByPartialWrite(partial), 1)
    const whole = new InfluxWriteRejected('http://db:8086', [analyzeRejection('points beyond retention policy dropped=3', batch)], 3)
    assert.equal(droppedByPartialWrite(whole), undefined, 'not a partial write: nothing is known to be stored')
  })

  it('rejectedPoints: what the pipeline counts as dropped, the others being written', () => {
    const table: Array<[string, string, number | undefined, number]> = [
      ['a type conflict: dropped=N', 'partial write: field type conflict: input field "v" on measurement "cpu" is type integer, already exists as type float dropped=1', undefined, 1],
      ['parse failures come on top of dropped=0', "partial write: unable to parse 'bad line': invalid field format\nunable to parse 'cpu u=3u 4': invalid number dropped=0", undefined, 2],
      ['beyond retention: dropped=N', 'partial write: points beyond retention policy dropped=2', undefined, 2],
      // not a partial write: 2.x rejects a batch with a malformed line as a whole (the line it names is only the first)
      ['2.x names one line: the whole batch', 'failed to parse line protocol: errors encountered on line(s): line 3: invalid number', 3, 3],
      ['a message naming nothing: the whole batch', 'something went wrong', undefined, 3],
    ]
    for (const [name, message, line, expected] of table) {
      const err = new InfluxWriteRejected('http://db:8086', [analyzeRejection(message, batch, line)], 3)
      assert.equal(err.rejectedPoints, expected, name)
    }
  })
})

describe('sendBatches', () => {
  const batches: Batch[] = Array.from({length: 6}, (_, i) => makeBatch([`m v=${i} ${i}`], 'ms'))
  const id = (b: Batch) => Number(b.body.toString().trim().split(' ')[2])

  it('keeps at most `concurrency` batches in flight and sends them all', async () => {
    let inFlight = 0
    let most = 0
    const sent: number[] = []
    await sendBatches(batches, 2, async (b) => {
      inFlight++
      most = Math.max(most, inFlight)
      await new Promise((r) => setImmediate(r))
      sent.push(id(b))
      inFlight--
    })
    assert.equal(most, 2)
    assert.deepEqual(sent.sort(), [0, 1, 2, 3, 4, 5])
  })

  it('a rejected batch does not stop the others; the rejections are merged', async () => {
    const sent: number[] = []
    const err = await sendBatches(batches, 1, async (b) => {
      const ts = id(b)
      if (ts === 1 || ts === 4) throw new InfluxWriteRejected('http://x', [analyzeRejection('unable to parse \'x\': bad', b)], 1)
      sent.push(ts)
    }).catch((e: unknown) => e)
    assert.ok(err instanceof InfluxWriteRejected)
    assert.equal(err.rejections.length, 2)
    assert.deepEqual(sent, [0, 2, 3, 5])
  })

  it('one batch of several refused as a whole: the error counts it against all the points, the rest were stored', async () => {
    const err = await sendBatches(batches, 2, async (b) => {
      if (id(b) === 3) throw new InfluxWriteRejected('http://x', [analyzeRejection("unable to parse 'm v= 3': missing field value", b)], b.count)
    }).catch((e: unknown) => e)
    assert.ok(err instanceof InfluxWriteRejected)
    assert.equal(err.totalPoints, 6)
    assert.equal(droppedByPartialWrite(err), 1, '5 of the 6 points are stored')
    const alone = new InfluxWriteRejected('http://x', [analyzeRejection("unable to parse 'm v= 3': missing field value", batches[3])], 1)
    assert.equal(droppedByPartialWrite(alone), undefined, 'a write of one batch, refused: nothing stored')
  })

  it('any other failure stops new batches', async () => {
    const sent: number[] = []
    await assert.rejects(
      sendBatches(batches, 1, async (b) => {
        if (id(b) === 2) throw new Error('unreachable')
        sent.push(id(b))
      }),
      /unreachable/,
    )
    assert.deepEqual(sent, [0, 1])
  })
})
