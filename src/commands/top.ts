import {Flags} from '@oclif/core'
import {existsSync} from 'node:fs'
import {BaseCommand} from '../cli/base.js'
import {missingDataError, openContext} from '../cli/context.js'
import {colorEnabled} from '../cli/render/color.js'
import {parseDuration, tryParseDuration} from '../core/config/duration.js'
import {InputError} from '../core/errors.js'
import {defaultActor, localIncidentsFromConfig, openMemoryIncidentDb, type LocalIncidents} from '../core/incidents/index.js'
import {stateDbPath, type StateDb} from '../core/state/db.js'
import {embeddedStorePath, openStore} from '../core/store/open.js'
import type {FullStore} from '../core/store/types.js'
import {runDashboard} from '../tui/top/dashboard.js'
import {chartEvery, defaultHost, detectPanels, listHosts} from '../tui/top/source.js'
import {PANEL_SETS, type PanelSet} from '../tui/top/queries.js'
import {StatusLog} from '../tui/top/status-log.js'
import {STORE_SECTIONS} from '../core/config/load.js'

export default class Top extends BaseCommand {
  static override summary = 'Live terminal dashboard: CPU, memory, load, disks, network, checks and alerts.'
  static override description = `Reads the store through the query language (as mon query does), so it shows any host whose metrics are in the store: Telegraf's names (mon collect, Telegraf into InfluxDB) or node_exporter's (a Prometheus or VictoriaMetrics store; --panels, detected by default). Keys: q quit, Tab focus, ↑↓ select, a acknowledge, s silence, h host, / filter, c per-core CPU, +/- refresh rate, ? help. See docs/top.md.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --host web-01 --since 1h',
    '<%= config.bin %> <%= command.id %> --refresh 5s --config /etc/mon/mon.yaml',
    '<%= config.bin %> <%= command.id %> --panels node_exporter --host 10.0.0.7:9100',
    'NO_COLOR=1 <%= config.bin %> <%= command.id %>',
  ]

  static override flags = {
    host: Flags.string({char: 'H', description: 'host to show (default: this host, or the first host with metrics); h switches'}),
    refresh: Flags.string({char: 'r', description: 'refresh interval (250ms to 1h); + and - change it', default: '1s'}),
    since: Flags.string({char: 's', description: 'time window of the charts (1m to 30d)', default: '15m'}),
    panels: Flags.string({description: "metric names the panels read: Telegraf's (mon collect), node_exporter's (a Prometheus store), or auto", options: ['auto', 'telegraf', 'node_exporter'], default: 'auto'}),
  }

  async run(): Promise<void> {
    const {flags} = await this.parse(Top)
    const refreshMs = parseDuration(flags.refresh)
    const windowMs = parseDuration(flags.since)
    if (refreshMs < 250 || refreshMs > 3_600_000) throw new InputError(`--refresh ${flags.refresh} is out of range`, {hint: 'use 250ms to 1h, e.g. --refresh 1s'})
    if (windowMs < 60_000 || windowMs > 30 * 86_400_000) throw new InputError(`--since ${flags.since} is out of range`, {hint: 'use 1m to 30d, e.g. --since 15m'})
    if (!process.stdout.isTTY || !process.stdin.isTTY) {
      throw new InputError('mon top needs a terminal (stdin and stdout must be a TTY)', {hint: "for scripts use mon query, e.g. mon query 'last(mem.used_percent) by host'"})
    }

    const ctx = await openContext(flags, {sections: [...STORE_SECTIONS, 'inputs', 'notify']})
    const log = new StatusLog()
    let incidents: LocalIncidents | undefined
    let memoryStore: FullStore | undefined
    let memoryDb: StateDb | undefined
    try {
      const {config, dataDir} = ctx.loaded
      // mon top only reads: where there is no store or state.db yet (a wrong data_dir, or before the
      // first mon collect) it shows empty panels over in-memory ones and creates nothing on disk
      const storePath = embeddedStorePath(config.store, dataDir)
      if (config.store.type === 'sqlite' && !existsSync(storePath)) {
        // warnings go to the status line: stderr would scribble over the screen
        log.warn(missingDataError(`store (${storePath})`, dataDir).message)
        memoryStore = await openStore({...config.store, path: ':memory:'}, {dataDir, clock: ctx.clock, retention: config.retention})
      }
      const store = memoryStore ?? (await ctx.store())
      if (!existsSync(stateDbPath(dataDir))) memoryDb = openMemoryIncidentDb()
      incidents = localIncidentsFromConfig({loaded: ctx.loaded, clock: ctx.clock, log, store, db: memoryDb})
      const every = chartEvery(windowMs, tryParseDuration(config.inputs.host.interval ?? ''))
      const panels = flags.panels === 'auto' ? await detectPanels(store) : PANEL_SETS[flags.panels as PanelSet['name']]
      const host = flags.host ?? (await defaultHost(() => listHosts(store, panels), config.host))
      await runDashboard({
        store,
        backend: store.kind,
        location: ctx.storeName,
        incidents,
        actor: defaultActor(),
        host,
        windowMs,
        refreshMs,
        every,
        panels: panels.name,
        color: colorEnabled(process.stdout),
        clock: ctx.clock,
        log,
      })
    } finally {
      for (const line of log.drain()) this.warnLine(line)
      await incidents?.close()
      memoryDb?.close()
      await memoryStore?.close()
      await ctx.close()
    }
  }
}
