import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {emptyQueryNote, renderQueryResult, type QueryFormat} from '../cli/render/query.js'
import {emptyRawQueryNote, renderRawQueryResult} from '../cli/render/raw-query.js'
import {tryParseDuration} from '../core/config/duration.js'
import {errorMessage, InputError} from '../core/errors.js'
import {eventsUnsupportedReason, readEvents} from '../core/model/events.js'
import type {ChartMarker} from '../cli/render/chart.js'
import {QueryDeadline} from '../core/query/deadline.js'
import {prepareQuery, type QueryResult} from '../core/query/run.js'
import {checkPromQLStore, runPromQLPassthrough} from '../core/store/prom/passthrough.js'
import {parseTime} from '../core/query/time.js'
import {checkPassthroughStore, runPassthrough, type RawQueryResult} from '../core/store/influx/passthrough.js'
import {STORE_SECTIONS} from '../core/config/load.js'
import type {QueryPlan} from '../core/store/types.js'

export default class Query extends BaseCommand {
  static override summary = 'Query stored metrics with the mon expression language.'
  static override description = `The language is PromQL over mon's names: a selector is measurement.field{tag="value"}, x[5m] is a window, and the functions and operators are Prometheus' (rate, increase, avg_over_time, predict_linear, histogram_quantile, sum by (…), on(…)/group_left, offset, @ …) plus mon's anomaly(), first/last/spread and the older spellings (mean(x) by host, percentile(x, 95)).

With no range flags the query is an INSTANT query at now (or --at): exactly what an alert rule with this expression sees when it evaluates. With --since/--until/--step it is a RANGE query: that instant query evaluated at every step (counted back from --until, or now), so a graph shows what the rule saw at each evaluation. x[5m] shows the raw points of the window. A chart (--format chart) marks the events of its range (mon events) on its time axis. The grammar and a PromQL → mon table are in docs/query.md.`
  static override enableJsonFlag = true
  static override examples = [
    `<%= config.bin %> <%= command.id %> 'avg by (host) (cpu.usage_user{cpu="cpu-total"})'`,
    `<%= config.bin %> <%= command.id %> 'sum by (host) (rate(net.bytes_recv{interface!="lo"}[5m]))' --since 1h --step 1m`,
    `<%= config.bin %> <%= command.id %> 'max(disk.used_percent[5m]) by (host, path) > 90' --at 2026-11-25T09:00:00Z`,
    `<%= config.bin %> <%= command.id %> 'predict_linear(disk.free{path="/"}[6h], 4h) < 0'`,
    `<%= config.bin %> <%= command.id %> 'time() - timestamp(last_over_time(system.uptime[1h])) > 300'`,
    `<%= config.bin %> <%= command.id %> 'sum(rate(shop.orders[5m])) / sum(rate(shop.orders[5m] offset 1w))' --since 1d --format chart`,
    `<%= config.bin %> <%= command.id %> 'cpu.usage_user{host="web-01"}[10m]' --format csv`,
    `<%= config.bin %> <%= command.id %> 'mean(cpu.usage_user[5m]) by host' --explain`,
    `<%= config.bin %> <%= command.id %> --influxql 'SELECT mean(usage_idle) FROM cpu WHERE time > now() - 1h GROUP BY time(5m), host'`,
    `<%= config.bin %> <%= command.id %> --promql 'sum by (job) (rate(http_requests_total[5m]))'`,
    `<%= config.bin %> <%= command.id %> --flux 'from(bucket: "mon") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "mem")'`,
  ]

  static override args = {query: Args.string({description: 'expression, e.g. mean(cpu.usage_user) by host (or use --influxql / --flux)'})}
  static override flags = {
    at: Flags.string({description: 'instant query time: a duration back from now (15m) or RFC 3339 (default: now)'}),
    since: Flags.string({char: 's', description: 'range query start: a duration back from now (15m, 2h, 7d) or RFC 3339 (with --until/--step; default 1h)'}),
    until: Flags.string({char: 'u', description: 'range query end: a duration back from now or RFC 3339 (default: now)'}),
    step: Flags.string({description: "range query step (1m, 5m, 1h) or 'auto' (about 60 steps)", exclusive: ['every']}),
    every: Flags.string({char: 'e', description: 'alias of --step', exclusive: ['step']}),
    lookback: Flags.string({description: 'how far back an instant selector looks for its latest point (default 5m, as Prometheus)'}),
    format: Flags.string({char: 'f', description: 'output format', options: ['table', 'json', 'csv', 'chart'], default: 'table'}),
    timeout: Flags.string({description: 'give up after this long with "query timed out" (exit 1); default: config query.timeout (10s)'}),
    explain: Flags.boolean({description: 'print (on stderr) how the query is evaluated and how each read ran on the backend: tier, SQL or InfluxQL'}),
    influxql: Flags.string({description: 'run this InfluxQL as written on an InfluxDB store (1.x, 2.x, 3.x)', exclusive: ['flux', 'promql']}),
    flux: Flags.string({description: 'run this Flux as written on an InfluxDB 2.x store', exclusive: ['influxql', 'promql']}),
    promql: Flags.string({description: "run this PromQL as written on a Prometheus or VictoriaMetrics store (the server's names: m_f, not m.f), an instant query at now or --at", exclusive: ['influxql', 'flux']}),
  }

  async run(): Promise<QueryResult | RawQueryResult> {
    const {args, flags} = await this.parse(Query)
    const passthrough = flags.influxql !== undefined || flags.flux !== undefined || flags.promql !== undefined
    if (passthrough && args.query) throw new InputError('give either an expression or --influxql/--flux/--promql, not both')
    if (!passthrough && !args.query) throw new InputError('missing query', {hint: "e.g. mon query 'mean(cpu.usage_user) by host' (or --influxql '…' on InfluxDB)"})
    if (passthrough && flags.format === 'chart') throw new InputError('--format chart needs a mon expression', {hint: 'use --format table, csv or json with --influxql/--flux/--promql'})
    const ctx = await openContext(flags, {sections: STORE_SECTIONS, mustExist: true})
    try {
      const timeoutMs = tryParseDuration(flags.timeout ?? ctx.loaded.config.query.timeout)
      if (!(timeoutMs! > 0)) throw new InputError(`--timeout: invalid duration ${JSON.stringify(flags.timeout)}`, {hint: 'a positive duration such as 30s or 2m'})
      if (flags.promql !== undefined) {
        if (flags.since !== undefined || flags.until !== undefined || flags.step !== undefined || flags.every !== undefined) {
          throw new InputError('--promql runs an instant query (at now or --at)', {hint: 'drop --since/--until/--step, or use a range selector in the PromQL (x[1h])'})
        }

        this.debugLine(`promql: ${flags.promql}`)
        checkPromQLStore(ctx.loaded.config.store.type, ctx.storeName)
        const at = flags.at === undefined ? ctx.clock.now() : parseTime(flags.at, ctx.clock.now(), '--at')
        const store = await ctx.store()
        const raw = await new QueryDeadline(timeoutMs!, ctx.clock).bound(runPromQLPassthrough(store, ctx.storeName, flags.promql, at))
        const rawFormat = flags.format as 'table' | 'csv' | 'json'
        const nothing = this.jsonEnabled() ? undefined : emptyRawQueryNote(raw, rawFormat)
        if (nothing) this.warnLine(nothing)
        else if (!this.jsonEnabled()) this.log(renderRawQueryResult(raw, rawFormat))
        return raw
      }

      if (passthrough) {
        this.debugLine(`${flags.flux === undefined ? 'influxql' : 'flux'}: ${flags.flux ?? flags.influxql}`)
        // said from the config, before the store is opened (an embedded store's data dir may not exist)
        checkPassthroughStore(ctx.loaded.config.store.type, ctx.storeName, {influxql: flags.influxql, flux: flags.flux})
        const store = await ctx.store()
        const raw = await new QueryDeadline(timeoutMs!, ctx.clock).bound(runPassthrough(store, ctx.storeName, {influxql: flags.influxql, flux: flags.flux}))
        for (const m of raw.messages) this.warnLine(m)
        const rawFormat = flags.format as 'table' | 'csv' | 'json'
        const nothing = this.jsonEnabled() ? undefined : emptyRawQueryNote(raw, rawFormat)
        if (nothing) this.warnLine(nothing)
        else if (!this.jsonEnabled()) this.log(renderRawQueryResult(raw, rawFormat))
        return raw
      }

      const step = flags.step ?? flags.every ?? (flags.format === 'chart' && flags.at === undefined ? 'auto' : undefined)
      const lookbackMs = flags.lookback === undefined ? undefined : tryParseDuration(flags.lookback)
      if (flags.lookback !== undefined && !(lookbackMs! > 0)) throw new InputError(`--lookback: invalid duration ${JSON.stringify(flags.lookback)}`, {hint: 'a positive duration such as 5m'})
      const q = prepareQuery({query: args.query!, at: flags.at, since: flags.since, until: flags.until, step, stepFlag: flags.every === undefined ? '--step' : '--every', lookbackMs, now: ctx.clock.now(), timeoutMs, clock: ctx.clock})
      if (q.type === 'instant' && flags.format === 'chart') throw new InputError('--format chart needs a range query', {hint: 'add --since 1h (and --step), or drop --at'})
      const store = await ctx.store()
      const reads: QueryPlan[] = []
      const explain = (plan: QueryPlan): string | undefined => {
        try {
          return store.explain(plan)
        } catch {
          // a raw read the store refuses (retention): the rollup read that replaced it follows
          return undefined
        }
      }

      const result = await q.run(store, (plan) => {
        reads.push(plan)
        const text = explain(plan)
        if (text) this.debugLine(text.split('\n').slice(0, 2).join(' | '))
      })
      // after the run: a backend that learns its tiers from the server knows them by now
      if (flags.explain) {
        for (const line of q.explain()) this.warnLine(line)
        this.warnLine('reads: a window aggregation (avg|min|max|sum|count over x[d]; in a range query d equal to the step) is the store\'s own per-window aggregate, which gives the same answer; every other selector is one read of the points of every window it needs (rollup buckets where retention left only those); the rest runs in mon, the same on every backend:\n')
        for (const plan of reads) {
          const text = explain(plan)
          if (text) this.warnLine(text + '\n')
        }
      }

      const nothing = this.jsonEnabled() ? undefined : emptyQueryNote(result, flags.format as QueryFormat)
      if (nothing) this.warnLine(nothing)
      else if (!this.jsonEnabled()) {
        let markers: ChartMarker[] = []
        if (flags.format === 'chart' && !eventsUnsupportedReason(store)) {
          // events of the chart's range as markers; a chart without them beats no chart
          try {
            markers = await readEvents(store, {start: q.start, end: q.end + 1})
          } catch (error) {
            this.debugLine(`events not drawn: ${errorMessage(error)}`)
          }
        }

        this.log(renderQueryResult(result, flags.format as QueryFormat, {markers}))
      }

      return result
    } finally {
      await ctx.close()
    }
  }
}
