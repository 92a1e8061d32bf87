/**
 * A small monitored world for the incident tests, in a temp dir: a config whose receiver posts to
 * a loopback capture server (an Alertmanager-style webhook at /team and PagerDuty's Events API at
 * /pd/team), a rule file, the embedded store with fixture points, and — playing the daemon's
 * part, driven by a ManualClock — the real rule engine and the notify Dispatcher consulting the
 * incident store's AckState. `mon …` runs against the same data dir (MON_CONFIG in `env`).
 */
import {writeFileSync} from 'node:fs'
import {join} from 'node:path'
import {stringify} from 'yaml'
import {createRuleEngine, type RuleEngine} from '../../src/core/alerting/engine.js'
import {loadRuleFiles} from '../../src/core/alerting/rules.js'
import {ManualClock} from '../../src/core/clock.js'
import {loadConfig} from '../../src/core/config/load.js'
import {IncidentStore, openIncidentDb} from '../../src/core/incidents/index.js'
import {createDispatcher, type Dispatcher} from '../../src/core/notify/index.js'
import type {StateDb} from '../../src/core/state/db.js'
import {openStore} from '../../src/core/store/open.js'
import type {FullStore} from '../../src/core/store/types.js'
import {startCapture, type CaptureServer} from './capture.js'
import {tempDir} from './servers.js'

export const RULES = `groups:
  - name: hosts
    interval: 1m
    rules:
      - alert: HighCpu
        expr: last(cpu.usage_user) by (host) > 90
        labels:
          severity: critical
        annotations:
          summary: 'CPU on {{ $labels.host }} at {{ $value }}%'
      - alert: HighLoad
        expr: last(system.load1) by (host) > 4
        labels:
          severity: warning
        annotations:
          summary: 'load on {{ $labels.host }} is {{ $value }}'
`

export interface AlertScenario {
  dir: string
  configPath: string
  dataDir: string
  /** for runMon: MON_CONFIG and the secrets the config reads */
  env: NodeJS.ProcessEnv
  clock: ManualClock
  /** the first evaluation time (a whole minute, a little before the real now) */
  t0: number
  capture: CaptureServer
  engine: RuleEngine
  dispatcher: Dispatcher
  store: FullStore
  db: StateDb
  /** write `cpu usage_user` (and `system load1` when given) per host, 10 s before `at` */
  metrics(at: number, cpu: Record<string, number>, load?: Record<string, number>): Promise<void>
  /** one evaluation + one dispatcher tick at `at`: what the receivers got, sorted */
  step(at: number): Promise<string[]>
  /** the fingerprint of the active alert on `host` (of `alertname`, default HighCpu) */
  fingerprint(host: string, alertname?: string): string
  close(): Promise<void>
}

/** `externalUrl`: notify.external_url, the base of the notifications' links (generatorURL) */
export async function startAlertScenario(opts: {extraConfig?: Record<string, unknown>; externalUrl?: string} = {}): Promise<AlertScenario> {
  const tmp = tempDir('mon-alerts-')
  const capture = await startCapture({responder: (req) => (req.url.startsWith('/pd/') ? {status: 202, body: {status: 'success', dedup_key: 'x'}} : undefined)})
  const dataDir = join(tmp.dir, 'data')
  const rulesPath = join(tmp.dir, 'rules.yaml')
  const configPath = join(tmp.dir, 'mon.yaml')
  writeFileSync(rulesPath, RULES)
  writeFileSync(
    configPath,
    stringify({
      data_dir: dataDir,
      rules: {files: [rulesPath]},
      notify: {
        ...(opts.externalUrl ? {external_url: opts.externalUrl} : {}),
        receivers: [{name: 'team', webhook_configs: [{url: `${capture.url}/team`}], pagerduty_configs: [{routing_key: '${PD_KEY}', url: `${capture.url}/pd/team`}]}],
        route: {receiver: 'team', group_by: ['alertname', 'host'], group_wait: '0s', group_interval: '1m', repeat_interval: '1h'},
      },
      ...opts.extraConfig,
    }),
  )
  const env: NodeJS.ProcessEnv = {MON_CONFIG: configPath, PD_KEY: 'pd-routing-key-0001', XDG_CONFIG_HOME: join(tmp.dir, 'xdg')}
  const loaded = await loadConfig({path: configPath, env: {...process.env, ...env}})
  const t0 = Math.floor(Date.now() / 60_000) * 60_000 - 5 * 60_000
  const clock = new ManualClock(t0)
  const store = await openStore(loaded.config.store, {dataDir, clock, retention: loaded.config.retention})
  const db = openIncidentDb(dataDir)
  const dispatcher = createDispatcher({loaded, db, clock, ackState: new IncidentStore(db).ackState})
  const engine = createRuleEngine({groups: await loadRuleFiles([rulesPath]), store, stateDb: db, clock, sink: dispatcher, cache: false})

  const hostOf = (fp: string): string => {
    const a = engine.getAlert(fp)
    return a ? `${a.labels.alertname}/${a.labels.host}` : fp
  }

  return {
    dir: tmp.dir,
    configPath,
    dataDir,
    env,
    clock,
    t0,
    capture,
    engine,
    dispatcher,
    store,
    db,
    async metrics(at, cpu, load = {}) {
      await store.write([
        ...Object.entries(cpu).map(([host, v]) => ({measurement: 'cpu', tags: {host, cpu: 'cpu-total'}, fields: {usage_user: v}, ts: at - 10_000})),
        ...Object.entries(load).map(([host, v]) => ({measurement: 'system', tags: {host}, fields: {load1: v}, ts: at - 10_000})),
      ])
    },
    async step(at) {
      clock.set(at)
      await engine.evaluateAll(at)
      capture.reset()
      const result = await dispatcher.tick(at)
      if (result.retried + result.dead > 0) throw new Error(`a notification failed at step ${at - t0} ms: ${JSON.stringify(result)}`)
      return capture.requests
        .map((r) => {
          const body = capture.json<{receiver: string; alerts: Array<{status: string; fingerprint: string}>; event_action?: string; dedup_key?: string}>(r)
          if (r.url.startsWith('/pd/')) return `pd: ${body.event_action} ${hostOf(body.dedup_key!)}`
          return `webhook: ${body.alerts.map((a) => `${a.status === 'firing' ? '+' : '-'}${hostOf(a.fingerprint)}`).join(' ')}`
        })
        .sort()
    },
    fingerprint(host, alertname = 'HighCpu') {
      const a = engine.activeAlerts().find((x) => x.labels.host === host && x.labels.alertname === alertname) ?? engine.reader.list({states: ['resolved', 'firing', 'pending']}).find((x) => x.labels.host === host && x.labels.alertname === alertname)
      if (!a) throw new Error(`no ${alertname} alert on ${host}`)
      return a.fingerprint
    },
    async close() {
      dispatcher.close()
      await store.close()
      db.close()
      await capture.close()
      tmp.cleanup()
    },
  }
}
