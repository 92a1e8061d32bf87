import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {UserError} from '../../core/errors.js'
import {daemonPidPath, readLock, spoolLockPath} from '../../core/lock.js'
import {embeddedStorePath} from '../../core/store/open.js'
import {repairStore, type StoreRepairReport} from '../../core/store/sqlite/repair.js'

export default class StoreRepair extends BaseCommand {
  static override summary = 'Salvage every readable row of a damaged embedded store into a new mon.db; the damaged file is kept aside.'
  static override description = `Reads series, fields, chunks, rollups and head rows one by one, skipping pages that cannot be read and chunks that do not decode, writes them to a new file, checks it, then moves the damaged mon.db to mon.db.damaged-<time> and the new one into its place. Reports what was salvaged and what was lost (undecodable chunks, unreadable rowid ranges per table). A sound store is left as it is. Stop \`mon daemon\` / \`mon collect\` first; points still in the spool are written after the restart.`
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json', 'mon store check || <%= config.bin %> <%= command.id %>']

  async run(): Promise<StoreRepairReport> {
    const {flags} = await this.parse(StoreRepair)
    const ctx = await openContext(flags)
    const {store} = ctx.loaded.config
    if (store.type !== 'sqlite') throw new UserError(`store repair applies to the embedded store, not ${ctx.storeName}`, {exitCode: 2})
    for (const lock of [daemonPidPath(ctx.loaded.dataDir), spoolLockPath(ctx.loaded.dataDir)]) {
      const holder = readLock(lock)
      if (holder?.alive) throw new UserError(`mon (pid ${holder.pid}) is running on ${ctx.loaded.dataDir}`, {hint: 'stop it first: the store must not change while it is repaired'})
    }
    const report = repairStore(embeddedStorePath(store, ctx.loaded.dataDir), ctx.clock)
    if (!this.jsonEnabled() && !report.repaired) this.log(`${report.path} is sound (${report.salvaged.points} points): nothing to repair, nothing changed`)
    else if (!this.jsonEnabled()) {
      const s = report.salvaged
      const l = report.lost
      this.log(`salvaged ${s.points} points (${s.chunks} chunks, ${s.headRows} head rows) of ${s.series} series, ${s.rollups} rollup chunks into ${report.path}`)
      this.log(`lost: ${l.chunks} undecodable chunks, ${l.rollups} undecodable rollup chunks, ${l.orphans} rows of lost series/fields, ${l.unreadable.length} unreadable ranges`)
      for (const u of l.unreadable.slice(0, 20)) this.log(`  ${u.table} rowids ${u.from}–${u.to ?? 'end'}: ${u.error}`)
      this.log(`the damaged file is kept at ${report.damagedKeptAt}`)
    }
    return report
  }
}
