/**
 * The link in every notification (`generatorURL` = `<external_url>/alerts/<fingerprint>`) opens a
 * read-only page served by the daemon's API server (in its own process, test/helpers/incident-api.ts):
 * the engine and dispatcher fire a real alert, the webhook payload's generatorURL is fetched as a
 * browser would (no token, the API on loopback) and as JSON; on a non-loopback address the page
 * needs the token, like every read of the API.
 */
import assert from 'node:assert/strict'
import {readFileSync, writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {after, before, describe, it} from 'node:test'
import {parse, stringify} from 'yaml'
import type {AlertDetail} from '../../src/core/incidents/types.js'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {startIncidentApi, type RunningApi} from '../helpers/incident-api.js'
import {freePort} from '../helpers/servers.js'

const TOKEN = 'mon-api-t0ken-alert-page-77c1'

describe('the alert page notifications link to', () => {
  let s: AlertScenario
  let api: RunningApi
  let generatorURL: string
  before(async () => {
    const port = await freePort()
    s = await startAlertScenario({extraConfig: {api: {listen: `127.0.0.1:${port}`}}, externalUrl: `http://127.0.0.1:${port}/`})
    await s.metrics(s.t0, {'web-1': 97})
    assert.deepEqual(await s.step(s.t0), ['pd: trigger HighCpu/web-1', 'webhook: +HighCpu/web-1'])
    const webhook = s.capture.json<{alerts: Array<{generatorURL: string; fingerprint: string}>}>(s.capture.at('/team')[0]!)
    generatorURL = webhook.alerts[0]!.generatorURL
    assert.equal(generatorURL, `http://127.0.0.1:${port}/alerts/${webhook.alerts[0]!.fingerprint}`)
    api = await startIncidentApi(s.configPath, {...s.env, MON_API_TOKEN: TOKEN})
  })
  after(async () => {
    await api?.stop()
    await s?.close()
  })

  it("the generatorURL of a real notification opens a page with the alert's name, labels, state and history (no token on loopback)", async () => {
    const res = await fetch(generatorURL, {headers: {Accept: 'text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8'}})
    assert.equal(res.status, 200)
    assert.equal(res.headers.get('content-type'), 'text/html; charset=utf-8')
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/)
    const html = await res.text()
    assert.match(html, /<title>HighCpu \(firing\) — mon<\/title>/)
    assert.match(html, /<h1>HighCpu <span class="state firing">firing<\/span><\/h1>/)
    assert.match(html, /<tr><th>host<\/th><td>web-1<\/td><\/tr>/)
    assert.match(html, /<tr><th>severity<\/th><td>critical<\/td><\/tr>/)
    assert.match(html, /<tr><th>summary<\/th><td>CPU on web-1 at 97%<\/td><\/tr>/)
    assert.match(html, /<tr><th>since<\/th><td>\d{4}-\d\d-\d\dT[\d:.]+Z<\/td><\/tr>/)
    assert.match(html, /fired: /, 'the timeline')
    assert.match(html, /notification: .*→ team/, 'the notifications sent')
  })

  it('answers JSON (the API\'s AlertDetail) to Accept: application/json, and 404 for an unknown alert', async () => {
    const res = await fetch(generatorURL, {headers: {Accept: 'application/json'}})
    assert.equal(res.status, 200)
    const detail = (await res.json()) as AlertDetail
    assert.equal(detail.alertname, 'HighCpu')
    assert.equal(detail.state, 'firing')
    assert.equal(generatorURL.endsWith(`/alerts/${detail.fingerprint}`), true)
    assert.ok(detail.timeline.some((e) => e.kind === 'fired'))

    const missing = await fetch(generatorURL.replace(/\/alerts\/.*/, '/alerts/ffffffffffffffff'))
    assert.equal(missing.status, 404)
    assert.match(await missing.text(), /No alert ffffffffffffffff/)
    // read-only: no other method
    assert.equal((await fetch(generatorURL, {method: 'POST'})).status, 405)
  })

  it('external_url itself (what Slack, Teams, email and PagerDuty link to) lists the active alerts, linked to their pages', async () => {
    const root = new URL('/', generatorURL).toString()
    const res = await fetch(root)
    assert.equal(res.status, 200)
    const html = await res.text()
    assert.match(html, /<h1>1 active alert<\/h1>/)
    const link = /<a href="(alerts\/[0-9a-f]+)">HighCpu<\/a>/.exec(html)
    assert.ok(link, html)
    assert.equal(new URL(link[1]!, root).toString(), generatorURL)
    assert.match(html, /<td>host=web-1, severity=critical<\/td>/)
  })

  it('on a non-loopback address the page needs the token, like every read of the API', async () => {
    const exposedConfig = join(s.dir, 'exposed.yaml')
    const config = parse(readFileSync(s.configPath, 'utf8')) as Record<string, unknown>
    writeFileSync(exposedConfig, stringify({...config, api: {listen: '0.0.0.0:0', token: '${MON_API_TOKEN}'}}))
    const exposed = await startIncidentApi(exposedConfig, {...s.env, MON_API_TOKEN: TOKEN})
    try {
      const path = new URL(generatorURL).pathname
      const port = new URL(exposed.url).port
      const url = `http://127.0.0.1:${port}${path}`
      const refused = await fetch(url)
      assert.equal(refused.status, 401)
      assert.equal(((await refused.json()) as {error: {code: string}}).error.code, 'unauthorized')
      const allowed = await fetch(url, {headers: {Authorization: `Bearer ${TOKEN}`}})
      assert.equal(allowed.status, 200)
      assert.match(await allowed.text(), /<h1>HighCpu /)
    } finally {
      await exposed.stop()
    }
  })
})
