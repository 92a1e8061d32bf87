/** The events model: eventPoint's shape, readEvents over the embedded store (title/text joined, filters, order), refusal on Prometheus-API stores. */
import assert from 'node:assert/strict'
import {join} from 'node:path'
import {after, describe, it} from 'node:test'
import {alertEventPoint} from '../../src/core/alerting/engine.js'
import type {Alert} from '../../src/core/alerting/types.js'
import {ManualClock} from '../../src/core/clock.js'
import {eventPoint, EventsUnsupportedError, eventsUnsupportedReason, readEvents} from '../../src/core/model/events.js'
import {SqliteStore} from '../../src/core/store/sqlite/store.js'
import {tempDir} from '../helpers/servers.js'

const T = Date.UTC(2026, 10, 25, 9, 0, 0)
const tmp = tempDir('mon-events-')
after(() => tmp.cleanup())

describe('events model', () => {
  it('eventPoint: measurement events, source tag, value 1, title and text only when given', () => {
    assert.deepEqual(eventPoint({title: 'deploy v1.2', source: 'cli', tags: {service: 'api'}, ts: T}), {
      measurement: 'events',
      tags: {source: 'cli', service: 'api'},
      fields: {value: 1, title: 'deploy v1.2'},
      ts: T,
    })
    assert.deepEqual(eventPoint({title: 't', text: 'more', source: 'tail', ts: T}).fields, {value: 1, title: 't', text: 'more'})
  })

  it('readEvents: joins text to title by series and time, filters by tags, sorts by time', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'a.db'), clock: new ManualClock(T + 3_600_000)})
    await store.write([
      eventPoint({title: 'rollback', source: 'cli', tags: {service: 'api'}, ts: T + 120_000}),
      eventPoint({title: 'deploy v1.2', text: 'by ci #88', source: 'cli', tags: {service: 'api'}, ts: T + 60_000}),
      eventPoint({title: 'disk error', text: 'sda: I/O error', source: 'tail', tags: {host: 'db-01'}, ts: T + 90_000}),
      eventPoint({title: 'too late', source: 'cli', ts: T + 600_000}),
      {measurement: 'cpu', tags: {host: 'db-01'}, fields: {usage: 3}, ts: T + 60_000},
    ])
    const all = await readEvents(store, {start: T, end: T + 300_000})
    assert.deepEqual(
      all.map((e) => [e.ts - T, e.source, e.title, e.text]),
      [
        [60_000, 'cli', 'deploy v1.2', 'by ci #88'],
        [90_000, 'tail', 'disk error', 'sda: I/O error'],
        [120_000, 'cli', 'rollback', undefined],
      ],
    )
    assert.deepEqual(all[0]!.tags, {source: 'cli', service: 'api'})
    const api = await readEvents(store, {start: T, end: T + 300_000, matchers: [{name: 'service', op: '=', value: 'api'}]})
    assert.deepEqual(api.map((e) => e.title), ['deploy v1.2', 'rollback'])
    const newest = await readEvents(store, {start: T, end: T + 300_000, limit: 1})
    assert.deepEqual(newest.map((e) => e.title), ['rollback'])
    assert.deepEqual(await readEvents(store, {start: T + 700_000, end: T + 800_000}), [])
    await store.close()
  })

  it('readEvents on an empty store is an empty list', async () => {
    const store = new SqliteStore({path: join(tmp.dir, 'empty.db')})
    assert.deepEqual(await readEvents(store, {start: 0, end: T}), [])
    await store.close()
  })

  it('Prometheus and VictoriaMetrics stores cannot list events, and say why', async () => {
    for (const kind of ['prometheus', 'victoriametrics']) {
      const reason = eventsUnsupportedReason({kind})
      assert.match(reason ?? '', /holds numbers only.*count_over_time\(events\[5m\]\)/)
      await assert.rejects(readEvents({kind, query: async () => []}, {start: 0, end: 1}), EventsUnsupportedError)
    }
    assert.equal(eventsUnsupportedReason({kind: 'sqlite'}), undefined)
    assert.equal(eventsUnsupportedReason({kind: 'influxdb'}), undefined)
  })

  it('an alert transition as an event: source alerts, alertname/severity/alertstate tags, title with the host', () => {
    const alert: Alert = {
      fingerprint: 'f',
      group: 'host',
      labels: {alertname: 'HighCpu', severity: 'warning', host: 'web-01'},
      annotations: {summary: 'CPU 97% on web-01'},
      state: 'firing',
      value: 97,
      activeAt: T,
      lastEvalAt: T,
    }
    assert.deepEqual(alertEventPoint({alert, from: 'pending', to: 'firing', at: T}), {
      measurement: 'events',
      tags: {source: 'alerts', alertname: 'HighCpu', alertstate: 'firing', severity: 'warning'},
      fields: {value: 1, title: 'HighCpu firing on web-01', text: 'CPU 97% on web-01'},
      ts: T,
    })
    const noHost = alertEventPoint({alert: {...alert, labels: {alertname: 'Burst'}, annotations: {}}, from: 'firing', to: 'resolved', at: T})
    assert.equal(noHost.fields.title, 'Burst resolved')
    assert.deepEqual(noHost.tags, {source: 'alerts', alertname: 'Burst', alertstate: 'resolved'})
  })
})
