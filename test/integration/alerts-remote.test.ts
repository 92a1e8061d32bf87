/**
 * Acking from a laptop: `mon alerts … --remote URL` (token from MON_API_TOKEN) against the daemon's API
 * server running in its own process (test/helpers/incident-api.ts, the stand-in for `mon daemon`),
 * on the data dir where the engine and dispatcher (ManualClock) fired the alerts. With a valid
 * token the ack lands (audited with the remote address, PagerDuty acknowledged); without one, or
 * with a wrong one, it is 401, nothing changes, and the refusal is in the audit trail.
 */
import assert from 'node:assert/strict'
import {after, before, describe, it} from 'node:test'
import type {AlertDetail, AlertView, HistoryEntry, SilenceView} from '../../src/core/incidents/types.js'
import {startAlertScenario, type AlertScenario} from '../helpers/alert-scenario.js'
import {runMon} from '../helpers/cli.js'
import {startIncidentApi, type RunningApi} from '../helpers/incident-api.js'

const TOKEN = 'mon-api-t0ken-for-tests-5f3a'
const M = 60_000

describe('mon alerts --remote: the daemon API', () => {
  let s: AlertScenario
  let api: RunningApi
  const local = (...args: string[]) => runMon(args, {env: s.env})
  const remote = (token: string | undefined, ...args: string[]) => runMon([...args, '--remote', api.url], {env: {...s.env, MON_API_TOKEN: token ?? ''}})
  const json = <T>(r: {code: number; stdout: string; stderr: string}): T => {
    assert.equal(r.code, 0, r.stderr)
    return JSON.parse(r.stdout) as T
  }
  const noStack = (stderr: string) => assert.doesNotMatch(stderr, /^\s+at .+:\d+:\d+\)?$/m, 'no stack trace')
  let web1: string
  let web2: string

  before(async () => {
    s = await startAlertScenario({extraConfig: {api: {listen: '127.0.0.1:0'}}})
    await s.metrics(s.t0, {'web-1': 97, 'web-2': 95})
    await s.step(s.t0)
    api = await startIncidentApi(s.configPath, {...s.env, MON_API_TOKEN: TOKEN})
  })
  after(async () => {
    await api?.stop()
    await s.close()
  })

  it('with the token: list and ack remotely; the ack is local state, audited with the remote address', async () => {
    const alerts = json<AlertView[]>(await remote(TOKEN, 'alerts', 'list', '--json'))
    assert.deepEqual(alerts.map((a) => [a.labels.host, a.state]), [
      ['web-1', 'firing'],
      ['web-2', 'firing'],
    ])
    web1 = alerts[0]!.id
    web2 = alerts[1]!.id
    const r = await remote(TOKEN, 'alerts', 'ack', web1, '-m', 'from my laptop', '--by', 'alice@laptop')
    assert.equal(r.code, 0, r.stderr)
    assert.match(r.stdout, new RegExp(`^acknowledged ${web1} HighCpu \\(incident #\\d+\\) as alice@laptop: from my laptop$`, 'm'))

    const [acked] = json<AlertView[]>(await local('alerts', 'list', '--state', 'acked', '--json'))
    assert.equal(acked?.ackedBy, 'alice@laptop')
    const history = json<HistoryEntry[]>(await local('alerts', 'history', '--json'))
    const ack = history.find((h) => h.action === 'ack')
    assert.deepEqual([ack?.actor, ack?.source, ack?.comment], ['alice@laptop', '127.0.0.1', 'from my laptop'])

    // the daemon's dispatcher sends the acknowledgement; the repeat of web-1 is gone
    const next = Math.max(s.t0 + 10 * M, Date.now() + 1000) // after the ack (real clock)
    await s.metrics(next, {'web-1': 97, 'web-2': 95})
    assert.deepEqual(await s.step(next), ['pd: acknowledge HighCpu/web-1'])
    await s.metrics(s.t0 + 60 * M, {'web-1': 97, 'web-2': 95})
    assert.deepEqual(await s.step(s.t0 + 60 * M), ['pd: trigger HighCpu/web-2', 'webhook: +HighCpu/web-2'])
  })

  it('show through the API: the timeline says who acked from where', async () => {
    const d = json<AlertDetail>(await remote(TOKEN, 'alerts', 'show', web1, '--json'))
    const ack = d.timeline.find((e) => e.kind === 'ack')
    assert.equal(ack?.text, 'acknowledged by alice@laptop from 127.0.0.1: from my laptop')
    const text = await remote(TOKEN, 'alerts', 'show', web1)
    assert.match(text.stdout, /ack {10}acknowledged by alice@laptop from 127\.0\.0\.1: from my laptop$/m)
  })

  it('without a token or with a wrong one: 401, nothing changes, and the refusal is audited', async () => {
    const missing = await remote(undefined, 'alerts', 'ack', web2, '--by', 'mallory')
    assert.equal(missing.code, 1)
    assert.match(missing.stderr, new RegExp(`^error: the mon daemon at ${api.url.replace(/\./g, '\\.')} refused the request: missing token: send Authorization: Bearer <token>$`, 'm'))
    assert.match(missing.stderr, /^hint: set MON_API_TOKEN to the api.token of that daemon$/m)
    noStack(missing.stderr)

    const wrong = await remote('not-the-token', 'alerts', 'ack', web2, '--by', 'mallory')
    assert.equal(wrong.code, 1)
    assert.match(wrong.stderr, /refused the request: wrong token$/m)
    assert.match(wrong.stderr, /^hint: MON_API_TOKEN must be the api.token of that daemon$/m)

    const raw = await fetch(`${api.url}/api/v1/alerts/${web2}/ack`, {method: 'POST', headers: {Authorization: 'Bearer guess'}, body: '{"by":"mallory"}'})
    assert.equal(raw.status, 401)
    assert.equal(raw.headers.get('www-authenticate'), 'Bearer realm="mon"')
    assert.deepEqual(((await raw.json()) as {error: {code: string}}).error.code, 'unauthorized')

    assert.equal(json<AlertView[]>(await local('alerts', 'list', '--json', '--state', 'acked')).length, 1, 'web-2 is still unacknowledged')
    const refused = json<HistoryEntry[]>(await local('alerts', 'history', '--json')).filter((h) => h.action === 'auth_failed')
    assert.deepEqual(
      refused.map((h) => [h.actor, h.source, h.detail]).reverse(),
      [
        ['anonymous', '127.0.0.1', `GET /api/v1/alerts/${web2}: missing token`],
        ['anonymous', '127.0.0.1', `GET /api/v1/alerts/${web2}: wrong token`],
        ['anonymous', '127.0.0.1', `POST /api/v1/alerts/${web2}/ack: wrong token`],
      ],
    )
    const text = await local('alerts', 'history')
    assert.match(text.stdout, /auth_failed\s+-\s+anonymous\s+127\.0\.0\.1\s+GET \/api\/v1\/alerts\/\w+: missing token/)

    // routes the daemon adds without auth still answer
    assert.equal((await fetch(`${api.url}/healthz`)).status, 200)
  })

  it('remote errors come back as the same kinds and exit codes', async () => {
    const unknown = await remote(TOKEN, 'alerts', 'ack', 'ffff')
    assert.equal(unknown.code, 2)
    assert.match(unknown.stderr, /^error: no alert with id 'ffff'$/m)
    const taken = await remote(TOKEN, 'alerts', 'ack', web1, '--by', 'bob')
    assert.equal(taken.code, 1)
    assert.match(taken.stderr, /^error: HighCpu \{host=web-1, severity=critical\} is already acknowledged by alice@laptop .*\("from my laptop"\)$/m)
    noStack(taken.stderr)

    const bad = await fetch(`${api.url}/api/v1/alerts/${web2}/ack`, {method: 'POST', headers: {Authorization: `Bearer ${TOKEN}`}, body: '{not json'})
    assert.equal(bad.status, 400)
    const wrongMethod = await fetch(`${api.url}/api/v1/alerts`, {method: 'DELETE', headers: {Authorization: `Bearer ${TOKEN}`}})
    assert.equal(wrongMethod.status, 405)
    const nowhere = await fetch(`${api.url}/api/v1/nothing`, {headers: {Authorization: `Bearer ${TOKEN}`}})
    assert.equal(nowhere.status, 404)
  })

  it('silences through the API: add, list, expire', async () => {
    const added = json<SilenceView>(await remote(TOKEN, 'alerts', 'silence', 'add', 'alertname=HighCpu', 'host=web-2', '--duration', '1h', '-m', 'deploy', '--by', 'carol', '--json'))
    assert.deepEqual([added.state, added.matchers, added.silencing, added.createdBy], ['active', ['alertname="HighCpu"', 'host="web-2"'], 1, 'carol'])
    const listed = json<SilenceView[]>(await local('alerts', 'silence', 'list', '--json'))
    assert.deepEqual(listed.map((x) => x.id), [added.id])
    const [v] = json<AlertView[]>(await local('alerts', 'list', '--json', '--label', 'host=web-2'))
    assert.deepEqual(v?.silencedBy, [added.id])
    const expired = await remote(TOKEN, 'alerts', 'silence', 'expire', added.id.slice(0, 8))
    assert.equal(expired.code, 0, expired.stderr)
    assert.match(expired.stdout, /^expired silence /m)
    // the same history and filtered lists, locally and through the API
    const history = json<HistoryEntry[]>(await local('alerts', 'history', '--json'))
    assert.deepEqual(json<HistoryEntry[]>(await remote(TOKEN, 'alerts', 'history', '--json')), history)
    const filtered = json<AlertView[]>(await remote(TOKEN, 'alerts', 'list', '--json', '--state', 'all', '--label', 'host=web-2', '--severity', 'critical', '--since', '1d'))
    assert.deepEqual(filtered.map((a) => a.labels.host), ['web-2'])
    assert.deepEqual(
      history.filter((h) => h.action.startsWith('silence')).map((h) => [h.action, h.source]),
      [
        ['silence_expire', '127.0.0.1'],
        ['silence_add', '127.0.0.1'],
      ],
    )
  })

  it('the daemon unreachable: one clear line, exit 1, nothing changed; a bad URL is exit 2', async () => {
    const url = api.url
    await api.stop()
    const r = await runMon(['alerts', 'ack', web2, '--remote', url], {env: {...s.env, MON_API_TOKEN: TOKEN}})
    assert.equal(r.code, 1)
    assert.match(r.stderr, new RegExp(`^error: cannot reach the mon daemon at ${url.replace(/\./g, '\\.')}: connection refused$`, 'm'))
    assert.match(r.stderr, /nothing was changed/)
    noStack(r.stderr)
    const bad = await runMon(['alerts', 'list', '--remote', 'monitor:9464'], {env: s.env})
    assert.equal(bad.code, 2)
    assert.match(bad.stderr, /^error: invalid --remote URL 'monitor:9464': only http and https are supported$/m)
  })
})
