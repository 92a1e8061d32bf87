import assert from 'node:assert/strict'
import {connect} from 'node:net'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../src/core/config/parse.js'
import {silentLogger} from '../../src/core/log.js'
import {applyTemplate, compileTemplates, pickTemplate, StatsdAggregator, StatsdService, type StatsdOptions} from '../../src/core/collectors/statsd.js'
import {udpDropsIn} from '../../src/core/collectors/packet-socket.js'
import {errorReason} from '../../src/core/collectors/udp.js'

const OPTS: StatsdOptions = {percentiles: [90], percentileLimit: 1000, templates: [], separator: '_', deleteCounters: true, deleteGauges: true, deleteSets: true, deleteTimings: true, datadogTags: true}

function name(templates: string[], n: string) {
  const t = compileTemplates(templates)
  return applyTemplate(pickTemplate(t, n.split('.')), n, '_')
}

describe('statsd templates (Telegraf graphite subset)', () => {
  it('default: the whole dotted name, . → _', () => {
    assert.deepEqual(name([], 'a.b.c'), {measurement: 'a_b_c', tags: {}})
  })
  it('measurement.field*, tags by position, skipped parts, extra tags', () => {
    assert.deepEqual(name(['measurement.field*'], 'cpu.load.short'), {measurement: 'cpu', field: 'load_short', tags: {}})
    assert.deepEqual(name(['servers.* .host.measurement* dc=east'], 'servers.web1.cpu.load'), {measurement: 'cpu_load', tags: {host: 'web1', dc: 'east'}})
  })
  it('the most specific filter wins; the unfiltered template is the fallback', () => {
    const t = ['measurement*', 'servers.* .host.measurement*', 'servers.db* .role.measurement*']
    assert.deepEqual(name(t, 'servers.db1.qps').tags, {role: 'db1'})
    assert.deepEqual(name(t, 'servers.web1.qps').tags, {host: 'web1'})
    assert.deepEqual(name(t, 'other.thing'), {measurement: 'other_thing', tags: {}})
  })
  it('a bad template is a config error with file:line:col', () => {
    assert.throws(
      () => parseConfigText('inputs:\n  statsd:\n    templates:\n      - "a b c d"\n', 'mon.yaml', {}),
      (err: Error) => /mon\.yaml:4:\d+/.test(`${err.message} ${JSON.stringify(err)}`) || (console.log(err), false),
    )
  })
})

describe('statsd aggregator', () => {
  it('multi-value lines, delete_gauges=false keeps the gauge for the next flush, delta after a flush', () => {
    const a = new StatsdAggregator({...OPTS, deleteGauges: false})
    a.addText('x:1|c:2|c\ng:5|g\n')
    const p1 = a.flush(1)
    assert.deepEqual(p1.map((p) => [p.measurement, p.tags.metric_type, p.fields.value]).sort(), [['g', 'gauge', 5], ['x', 'counter', 3n]].sort())
    a.addText('g:+2|g')
    assert.deepEqual(a.flush(2).map((p) => p.fields.value), [7])
    assert.deepEqual(a.flush(3).map((p) => p.fields.value), [7], 'kept')
  })
  it('DogStatsD tag without a value, bucket tags, counter with float value and rate', () => {
    const a = new StatsdAggregator(OPTS)
    a.addText('req,env=prod:1.9|c|@0.5|#canary,zone:a')
    const [p] = a.flush(1)
    assert.deepEqual(p!.tags, {env: 'prod', metric_type: 'counter', canary: 'true', zone: 'a'})
    assert.equal(p!.fields.value, 2n, 'int(1.9) / 0.5 = 2, as Telegraf')
  })
})

describe('statsd over TCP', () => {
  it('newline-separated lines across chunks; a last line without newline on close', async () => {
    const s = new StatsdService({...OPTS, protocol: 'tcp', listen: '127.0.0.1:0', maxTcpConnections: 4}, silentLogger)
    const {port} = await s.start()
    try {
      await new Promise<void>((resolve, reject) => {
        const c = connect(port, '127.0.0.1', () => {
          c.write('t.a:1|c\nt.a:')
          c.write('2|c\nt.b:3|ms\nt.a:4|c')
          c.end()
        })
        c.on('error', reject)
        c.on('close', () => resolve())
      })
      for (let i = 0; s.stats().lines < 4; i++) await new Promise((r) => setTimeout(r, 2))
      const pts = s.flush(1)
      assert.equal(pts.find((p) => p.measurement === 't_a')!.fields.value, 7n)
      assert.equal(pts.find((p) => p.measurement === 't_b')!.fields.count, 1n)
      assert.equal(s.stats().parse_errors, 0)
    } finally {
      await s.stop()
    }
  })
})

describe('/proc/net/udp', () => {
  it('the drops column of the lines on the port', () => {
    const text = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  123: 0100007F:1FBD 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4242 2 0000000000000000 17
  124: 0100007F:1FBE 00000000:0000 07 00000000:00000000 00:00000000 00000000  1000        0 4243 2 0000000000000000 5
`
    assert.equal(udpDropsIn(text, (8125).toString(16).toUpperCase().padStart(4, '0')), 17)
  })
  it('parser messages become counter names', () => {
    assert.equal(errorReason("invalid field format: 'cpu usage='"), 'invalid_field_format')
  })
})
