/**
 * The Prometheus-API stores' pure parts: how mon's names become metric names and back, the
 * selector and time parameters sent, the config shapes (single node, cluster, Prometheus), and the
 * read-only guard. The servers themselves: test/integration/prom-stores.test.ts.
 */
import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parseConfigText} from '../../src/core/config/parse.js'
import {LocatedError} from '../../src/core/errors.js'
import {apiTime, escapeRegex, metricName, parseSampleValue, seriesSelector, splitMetricName} from '../../src/core/store/prom/names.js'
import {checkPromQLStore} from '../../src/core/store/prom/passthrough.js'
import {PrometheusStore, VictoriaMetricsStore} from '../../src/core/store/prom/store.js'
import {describeStore, requireWritableStore} from '../../src/core/store/open.js'
import {isReadOnlyStore, ReadOnlyStoreError} from '../../src/core/store/types.js'
import {prometheusStoreSchema, victoriaMetricsStoreSchema} from '../../src/core/config/schema.js'

describe('Prometheus-API store names', () => {
  it('VictoriaMetrics: m.f is m_f and a dotless x (field value) is x_value; Prometheus: x is x, m.f is m_f', () => {
    assert.equal(metricName('victoriametrics', 'cpu', 'usage_idle'), 'cpu_usage_idle')
    assert.equal(metricName('victoriametrics', 'cpu_busy', 'value'), 'cpu_busy_value')
    assert.equal(metricName('prometheus', 'up', 'value'), 'up')
    assert.equal(metricName('prometheus', 'node', 'load1'), 'node_load1')
  })

  it('metric names back to measurement and field: any split joins back to the same name', () => {
    assert.deepEqual(splitMetricName('victoriametrics', 'cpu_busy_value'), {measurement: 'cpu_busy', field: 'value'})
    assert.deepEqual(splitMetricName('victoriametrics', 'cpu_usage_idle'), {measurement: 'cpu', field: 'usage_idle'})
    assert.deepEqual(splitMetricName('victoriametrics', 'up'), {measurement: 'up', field: 'value'})
    assert.deepEqual(splitMetricName('victoriametrics', '_value'), {measurement: '_value', field: 'value'})
    assert.deepEqual(splitMetricName('prometheus', 'node_load1'), {measurement: 'node_load1', field: 'value'})
    for (const name of ['cpu_busy_value', 'cpu_usage_idle', 'disk_used', 'm.dot_f', 'http_requests_total_value']) {
      const {measurement, field} = splitMetricName('victoriametrics', name)
      assert.equal(metricName('victoriametrics', measurement, field), name)
    }
  })

  it('selectors name the metric as a matcher and quote values as PromQL strings', () => {
    assert.equal(
      seriesSelector('m.dot_f', [
        {name: 'host', op: '=', value: 'a"b'},
        {name: 'path', op: '!~', value: '/var/.*'},
      ]),
      '{__name__="m.dot_f",host="a\\"b",path!~"/var/.*"}',
    )
    assert.equal(escapeRegex('a.b(c)|d*'), 'a\\.b\\(c\\)\\|d\\*')
  })

  it('times are seconds with exact milliseconds; values as the API spells them', () => {
    assert.equal(apiTime(1_700_000_000_001), '1700000000.001')
    assert.equal(apiTime(1_700_000_000_000), '1700000000.000')
    assert.equal(apiTime(999), '0.999')
    assert.equal(parseSampleValue('+Inf'), Number.POSITIVE_INFINITY)
    assert.equal(parseSampleValue('-Inf'), Number.NEGATIVE_INFINITY)
    assert.ok(Number.isNaN(parseSampleValue('NaN')))
    assert.equal(parseSampleValue('1e3'), 1000)
    assert.equal(parseSampleValue(2.5), 2.5)
  })
})

describe('Prometheus-API store config', () => {
  const env = {HOME: '/home/test'}
  it('victoriametrics: single node, and a cluster with a tenant (numbers accepted)', () => {
    const single = parseConfigText('store:\n  type: victoriametrics\n  url: http://127.0.0.1:8428\n', 'mon.yaml', env).config.store
    assert.equal(single.type, 'victoriametrics')
    const cluster = parseConfigText('store:\n  type: victoriametrics\n  url: http://vminsert:8480\n  read_url: http://vmselect:8481\n  tenant: 12\n', 'mon.yaml', env).config.store
    assert.ok(cluster.type === 'victoriametrics' && cluster.tenant === '12')
    assert.equal(describeStore(cluster, '/d'), 'victoriametrics:http://vminsert:8480 (tenant 12)')
    const vm = new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: 'http://vminsert:8480', read_url: 'http://vmselect:8481', tenant: '12:3'}))
    assert.equal(vm.writeUrl, 'http://vminsert:8480/insert/12:3/influx/write')
    assert.match(vm.explain({measurement: 'cpu', field: 'usage', matchers: [], start: 1000, end: 2000}), /^victoriametrics: GET http:\/\/vmselect:8481\/select\/12:3\/prometheus\/api\/v1\/export\?/)
    void vm.close()
  })

  it('a bad tenant is refused with the place', () => {
    assert.throws(() => parseConfigText('store:\n  type: victoriametrics\n  url: http://x:8428\n  tenant: acme\n', 'mon.yaml', env), (e: unknown) => {
      assert.ok(e instanceof LocatedError)
      assert.match(e.message, /mon\.yaml:4:\d+: store\.tenant: expected an account id such as 0 or 12:3/)
      return true
    })
  })

  it('prometheus is read-only: the guard, the write, and the commands that write', async () => {
    const cfg = parseConfigText('store:\n  type: prometheus\n  url: http://127.0.0.1:9090\n', 'mon.yaml', env).config.store
    assert.equal(cfg.type, 'prometheus')
    assert.throws(() => requireWritableStore(cfg, 'write points (mon write)'), ReadOnlyStoreError)
    assert.doesNotThrow(() => requireWritableStore(parseConfigText('', 'mon.yaml', env).config.store, 'x'))
    const store = new PrometheusStore(prometheusStoreSchema.parse({type: 'prometheus', url: 'http://127.0.0.1:9090'}))
    assert.ok(isReadOnlyStore(store))
    assert.ok(!isReadOnlyStore(new VictoriaMetricsStore(victoriaMetricsStoreSchema.parse({type: 'victoriametrics', url: 'http://127.0.0.1:8428'}))))
    await assert.rejects(store.write([]), /which mon only reads: it cannot write points/)
    assert.match(store.explain({measurement: 'up', field: 'value', matchers: [], start: 1000, end: 61_000}), /query=\{__name__="up"\}\[60000ms\] time=60\.999$/)
    await store.close()
  })

  it('--promql needs a Prometheus-API store', () => {
    assert.doesNotThrow(() => checkPromQLStore('prometheus', 'p'))
    assert.doesNotThrow(() => checkPromQLStore('victoriametrics', 'v'))
    assert.throws(() => checkPromQLStore('influxdb', 'influxdb:http://x/db'), /--promql needs a Prometheus or VictoriaMetrics store; the configured store is influxdb:http:\/\/x\/db/)
  })
})
