import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {emptyQueryNote, renderQueryResult, type QueryFormat} from '../cli/render/query.js'
import {emptyRawQueryNote, renderRawQueryResult} from '../cli/render/raw-query.js'
import {tryParseDuration} from '../core/config/duration.js'
import {InputError} from '../core/errors.js'
import {QueryDeadline} from '../core/query/deadline.js'
import {fieldsByMeasurement, prepareQuery, toQueryResult, type QueryResult} from '../core/query/run.js'
import {checkPassthroughStore, runPassthrough, type RawQueryResult} from '../core/store/influx/passthrough.js'
import {STORE_SECTIONS} from '../core/config/load.js'

export default class Query extends BaseCommand {
  static override summary = 'Query stored metrics with the mon expression language.'
  static override description = `Selectors are measurement.field{tag="value"}; aggregations (mean, min, max, sum, count, first, last, median, stddev, spread, percentile(x, 95)) take "by" tags; rate() and derivative() are per second. The grammar is in docs/query.md.`
  static override enableJsonFlag = true
  static override examples = [
    `<%= config.bin %> <%= command.id %> 'mean(cpu.usage_user{cpu="cpu-total"}) by host' --since 15m --every 1m`,
    `<%= config.bin %> <%= command.id %> 'max(disk.used_percent) by (host, path)' --since 1h`,
    `<%= config.bin %> <%= command.id %> 'sum(rate(net.bytes_recv{interface!="lo"})) by host' --every 30s --format chart`,
    `<%= config.bin %> <%= command.id %> 'mem.used_percent > 90' --since 1d --format csv`,
    `<%= config.bin %> <%= command.id %> 'max(cpu.usage_user{host=~"web-.*"}) by host' --since 30d --timeout 1m`,
    `<%= config.bin %> <%= command.id %> 'percentile(http_response.response_time, 95) by server' --since 2026-11-24T00:00:00Z --until 2026-11-25T00:00:00Z`,
    `<%= config.bin %> <%= command.id %> --influxql 'SELECT mean(usage_idle) FROM cpu WHERE time > now() - 1h GROUP BY time(5m), host'`,
    `<%= config.bin %> <%= command.id %> --flux 'from(bucket: "mon") |> range(start: -1h) |> filter(fn: (r) => r._measurement == "mem")'`,
  ]

  static override args = {query: Args.string({description: 'expression, e.g. mean(cpu.usage_user) by host (or use --influxql / --flux)'})}
  static override flags = {
    since: Flags.string({char: 's', description: 'start: a duration back from now (15m, 2h, 7d) or RFC 3339', default: '1h'}),
    until: Flags.string({char: 'u', description: 'end: a duration back from now or RFC 3339 (default: now)'}),
    every: Flags.string({char: 'e', description: "bucket width for aggregations (1m, 5m, 1h) or 'auto'"}),
    format: Flags.string({char: 'f', description: 'output format', options: ['table', 'json', 'csv', 'chart'], default: 'table'}),
    timeout: Flags.string({description: 'give up after this long with "query timed out" (exit 1); default: config query.timeout (10s)'}),
    explain: Flags.boolean({description: 'print (on stderr) how each part of the query ran on the backend: tier, SQL or InfluxQL'}),
    influxql: Flags.string({description: 'run this InfluxQL as written on an InfluxDB store (1.x, 2.x, 3.x)', exclusive: ['flux']}),
    flux: Flags.string({description: 'run this Flux as written on an InfluxDB 2.x store', exclusive: ['influxql']}),
  }

  async run(): Promise<QueryResult | RawQueryResult> {
    const {args, flags} = await this.parse(Query)
    const passthrough = flags.influxql !== undefined || flags.flux !== undefined
    if (passthrough && args.query) throw new InputError('give either an expression or --influxql/--flux, not both')
    if (!passthrough && !args.query) throw new InputError('missing query', {hint: "e.g. mon query 'mean(cpu.usage_user) by host' (or --influxql '…' on InfluxDB)"})
    if (passthrough && flags.format === 'chart') throw new InputError('--format chart needs a mon expression', {hint: 'use --format table, csv or json with --influxql/--flux'})
    const ctx = await openContext(flags, {sections: STORE_SECTIONS, mustExist: true})
    try {
      const timeoutMs = tryParseDuration(flags.timeout ?? ctx.loaded.config.query.timeout)
      if (!(timeoutMs! > 0)) throw new InputError(`--timeout: invalid duration ${JSON.stringify(flags.timeout)}`, {hint: 'a positive duration such as 30s or 2m'})
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

      const every = flags.every ?? (flags.format === 'chart' ? 'auto' : undefined)
      const q = prepareQuery({query: args.query!, since: flags.since, until: flags.until, every, now: ctx.clock.now(), timeoutMs, clock: ctx.clock})
      const store = await ctx.store()
      const frames = await q.run(store, (plan) => this.debugLine(store.explain(plan).split('\n').slice(0, 2).join(' | ')))
      // after the run: a backend that learns its tiers from the server knows them by now
      if (flags.explain) for (const plan of q.plans()) this.warnLine(store.explain(plan) + '\n')
      const result = toQueryResult(q, frames, every)
      const nothing = this.jsonEnabled() ? undefined : emptyQueryNote(result, flags.format as QueryFormat)
      if (nothing) this.warnLine(nothing)
      else if (!this.jsonEnabled()) this.log(renderQueryResult(result, flags.format as QueryFormat, {fields: fieldsByMeasurement(q.plans())}))
      return result
    } finally {
      await ctx.close()
    }
  }
}
