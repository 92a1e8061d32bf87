import {Flags} from '@oclif/core'
import {requireWritableStore} from '../../../core/store/open.js'
import {BaseCommand} from '../../../cli/base.js'
import {openContext} from '../../../cli/context.js'
import {renderTable} from '../../../cli/render/table.js'
import {UserError} from '../../../core/errors.js'
import {formatDuration} from '../../../core/config/duration.js'
import {retentionPolicy} from '../../../core/store/retention.js'
import {isMaintainable, isRetentionApplier, type MaintenanceReport} from '../../../core/store/types.js'
import {STORE_SECTIONS} from '../../../core/config/load.js'

export interface RetentionApplyResult {
  store: string
  tiers: Array<{name: string; resolution: string; keep: string}>
  dryRun: boolean
  /** embedded store: what this pass rolled up and pruned */
  report?: MaintenanceReport
  /** InfluxDB: the statements (retention policies, continuous queries) run or to run */
  changes?: string[]
}

export default class StoreRetentionApply extends BaseCommand {
  static override summary = 'Apply the retention tiers (config `retention`, default raw 7d, 1m 30d, 1h 1y) to the store.'
  static override description =
    'Embedded store: rolls up every tier and prunes each tier past its retention (the daemon does this continuously). InfluxDB 1.x: creates or alters one retention policy and continuous query per rollup tier and backfills them, showing the statements first. InfluxDB 2.x: creates one bucket per tier with its retention; the daemon does the downsampling (see docs/influxdb.md).'

  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %> --dry-run', '<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml --json']
  static override flags = {'dry-run': Flags.boolean({description: 'show what would change, change nothing'})}

  async run(): Promise<RetentionApplyResult> {
    const {flags} = await this.parse(StoreRetentionApply)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS, mustExist: true})
    try {
      requireWritableStore(ctx.loaded.config.store, 'apply retention (the server keeps its own)')
      const policy = retentionPolicy(ctx.loaded.config.retention)
      const tiers = policy.map((t) => ({name: t.name, resolution: t.resolution ? formatDuration(t.resolution) : 'every point', keep: Number.isFinite(t.keep) ? formatDuration(t.keep) : 'forever'}))
      const store = await ctx.store()
      const result: RetentionApplyResult = {store: ctx.storeName, tiers, dryRun: flags['dry-run']}
      const human = !this.jsonEnabled()
      if (human) this.log(renderTable(['tier', 'resolution', 'kept for'], tiers.map((t) => [t.name, t.resolution, t.keep])))
      if (isRetentionApplier(store)) {
        result.changes = await store.applyRetention(policy, {dryRun: flags['dry-run']})
        if (human) this.log(result.changes.length === 0 ? 'already up to date' : `${flags['dry-run'] ? 'would run' : 'ran'}:\n${result.changes.map((c) => `  ${c}`).join('\n')}`)
      } else if (isMaintainable(store)) {
        if (!flags['dry-run']) {
          result.report = await store.maintain()
          if (human) this.log(`rolled up ${JSON.stringify(result.report.rolledUp)}; pruned ${JSON.stringify(result.report.pruned)}`)
        } else if (human) this.log('dry run: would roll up every tier to now and prune each past its retention')
      } else {
        throw new UserError(`${ctx.storeName} has no retention support`)
      }

      return result
    } finally {
      await ctx.close()
    }
  }
}
