import assert from 'node:assert/strict'
import {mkdirSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {it} from 'node:test'
import {expandGlob, lineRules, parseLine, parseTime, renderTitle, tailInputSchema} from '../../src/core/collectors/tail.js'
import {tempDir} from '../helpers/servers.js'

const NOW = Date.UTC(2023, 10, 15, 12, 0, 0)
const rulesFor = (cfg: Record<string, unknown>) => lineRules(tailInputSchema.parse({files: ['/x'], ...cfg}))

it('times: clf with its offset, unix, unix_ms, rfc3339; garbage is undefined', () => {
  assert.equal(parseTime('10/Oct/2000:13:55:36 -0700', 'clf', NOW), Date.UTC(2000, 9, 10, 20, 55, 36))
  assert.equal(parseTime('1700000000.5', 'unix', NOW), 1_700_000_000_500)
  assert.equal(parseTime('1700000000123', 'unix_ms', NOW), 1_700_000_000_123)
  assert.equal(parseTime('2023-11-14T22:13:20.5Z', 'rfc3339', NOW), 1_700_000_000_500)
  assert.equal(parseTime('yesterday', 'rfc3339', NOW), undefined)
  assert.equal(parseTime('10/Foo/2000:13:55:36 -0700', 'clf', NOW), undefined)
  const t = parseTime('Nov  5 10:11:12', 'syslog', NOW)!
  assert.equal(new Date(t).getFullYear(), 2023)
  // a date more than a day ahead is last year's
  assert.equal(new Date(parseTime('Dec 31 10:11:12', 'syslog', NOW)!).getFullYear(), 2022)
})

it('combined: tags, int field, time; "-" bytes leaves the field out (count=1i)', () => {
  const r = rulesFor({format: 'nginx'})
  const a = parseLine(r, '127.0.0.1 - frank [10/Oct/2000:13:55:36 -0700] "GET /a.gif HTTP/1.0" 200 2326 "http://x/" "Mozilla/4.08"', '/l', NOW)
  assert.equal(a.matched, true)
  assert.deepEqual(a.point, {measurement: 'tail', tags: {file: '/l', method: 'GET', status: '200'}, fields: {bytes: 2326n}, ts: Date.UTC(2000, 9, 10, 20, 55, 36)})
  const b = parseLine(r, '::1 - - [10/Oct/2000:13:55:36 +0000] "HEAD / HTTP/1.1" 304 - "-" "curl"', '/l', NOW)
  assert.deepEqual(b.point?.fields, {count: 1n})
  assert.equal(parseLine(r, 'nope', '/l', NOW).matched, false)
})

it('syslog RFC 3164 with and without a priority and pid', () => {
  const r = rulesFor({format: 'syslog', fields: {pid: 'int'}})
  const p = parseLine(r, '<34>Oct 11 22:14:15 mymachine su[230]: \'su root\' failed for lonvick on /dev/pts/8', '/s', NOW).point!
  assert.deepEqual(p.tags, {file: '/s', hostname: 'mymachine', program: 'su'})
  assert.deepEqual(p.fields, {pid: 230n})
  assert.ok(parseLine(r, 'Oct  1 02:00:00 host cron: ran', '/s', NOW).point)
})

it('json lines: numbers are fields, listed strings tags, the time field is not a field', () => {
  const r = rulesFor({format: 'json', tags: ['level'], time: {field: 'ts', format: 'unix_ms'}})
  const p = parseLine(r, '{"ts": 1700000000000, "level": "warn", "msg": "slow", "took": {"ms": 12.5}}', '/j', NOW).point!
  assert.deepEqual(p, {measurement: 'tail', tags: {file: '/j', level: 'warn'}, fields: {took_ms: 12.5}, ts: 1_700_000_000_000})
  assert.equal(parseLine(r, '[1,2]', '/j', NOW).matched, false)
  assert.equal(parseLine(r, 'not json', '/j', NOW).matched, false)
})

it('a regex pattern, typed fields, events with titles from both regexes', () => {
  const r = rulesFor({
    pattern: '^(?P<level>\\w+) (?P<svc>\\w+) took (?P<ms>[\\d.]+)ms',
    tags: ['svc'],
    fields: {ms: 'float', level: 'string'},
    events: [{match: 'ERROR (?P<what>.*)$', title: '{{svc}}: {{what}}', tags: ['level']}],
  })
  const x = parseLine(r, 'ERROR api took 12.5ms timeout upstream', '/f', NOW)
  assert.deepEqual(x.point?.fields, {ms: 12.5, level: 'ERROR'})
  assert.equal(x.events.length, 1)
  assert.deepEqual(x.events[0], {measurement: 'events', tags: {source: 'tail', file: '/f', level: 'ERROR'}, fields: {value: 1, title: 'api: api took 12.5ms timeout upstream'}, ts: NOW})
  assert.equal(renderTitle('{{a}} and {{ b }} and {{c}}', {a: '1', b: '2'}), '1 and 2 and ')
})

it('config: a pattern that does not compile, pattern and format together, nothing to do', () => {
  assert.throws(() => tailInputSchema.parse({files: ['/x'], pattern: '(?P<a>x'}), /invalid regular expression/)
  assert.throws(() => tailInputSchema.parse({files: ['/x'], pattern: 'x', format: 'json'}), /not both/)
  assert.throws(() => tailInputSchema.parse({files: ['/x']}), /needs 'pattern', 'format' or 'events'/)
})

it('globs: * ? [] in any segment, sorted, files only; a plain path as is', () => {
  const t = tempDir('mon-glob-')
  try {
    mkdirSync(join(t.dir, 'a1'))
    mkdirSync(join(t.dir, 'b1'))
    for (const f of ['a1/x.log', 'a1/y.log', 'a1/z.txt', 'b1/x.log', 'a1/.h.log']) writeFileSync(join(t.dir, f), '')
    assert.deepEqual(expandGlob(join(t.dir, '?1/*.log')), ['a1/x.log', 'a1/y.log', 'b1/x.log'].map((f) => join(t.dir, f)))
    assert.deepEqual(expandGlob(join(t.dir, 'a1/[xz].*')), ['a1/x.log', 'a1/z.txt'].map((f) => join(t.dir, f)))
    assert.deepEqual(expandGlob(join(t.dir, 'none.log')), [join(t.dir, 'none.log')])
  } finally {
    t.cleanup()
  }
})
