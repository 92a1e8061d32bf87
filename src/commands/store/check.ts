import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {renderTable} from '../../cli/render/table.js'
import {EXIT_RUNTIME, UserError} from '../../core/errors.js'
import {embeddedStorePath} from '../../core/store/open.js'
import {checkStore, type StoreCheckReport} from '../../core/store/sqlite/repair.js'

export default class StoreCheck extends BaseCommand {
  static override summary = 'Check the embedded store for damage: SQLite integrity, every row read, every chunk decoded.'
  static override description = `Every open of mon.db runs SQLite's quick check; this is the full one: PRAGMA integrity_check, then every series, field, chunk, rollup and head row is read and every chunk decoded. Exits 1 when anything is damaged (then \`mon store repair\` salvages what is readable), 0 when the store is sound. Reads only: safe while mon runs.`
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json', 'MON_DATA_DIR=/var/lib/mon <%= config.bin %> <%= command.id %> || mon store repair']

  async run(): Promise<StoreCheckReport> {
    const {flags} = await this.parse(StoreCheck)
    const ctx = await openContext(flags)
    const {store} = ctx.loaded.config
    if (store.type !== 'sqlite') throw new UserError(`store check applies to the embedded store; ${ctx.storeName} checks itself (influxd inspect verify-tsm)`, {exitCode: 2})
    const report = checkStore(embeddedStorePath(store, ctx.loaded.dataDir))
    if (!report.ok) process.exitCode = EXIT_RUNTIME
    if (!this.jsonEnabled()) {
      this.log(report.ok ? `${report.path}: ok` : `${report.path}: DAMAGED`)
      const unreadable = report.tables.flatMap((t) => t.unreadable.map((u) => `${t.table} rowids ${u.from}–${u.to ?? 'end'}: ${u.error}`))
      const rows = [
        ['series', String(report.series)],
        ['fields', String(report.fields)],
        ['chunks', `${report.chunks.total}${report.chunks.undecodable ? ` (${report.chunks.undecodable} undecodable)` : ''}`],
        ['rollups', `${report.rollups.total}${report.rollups.undecodable ? ` (${report.rollups.undecodable} undecodable)` : ''}`],
        ['head rows', String(report.headRows)],
        ['readable points', String(report.points)],
        ...report.integrity.slice(0, 10).map((m) => ['integrity', m]),
        ...unreadable.slice(0, 10).map((m) => ['unreadable', m]),
      ]
      this.log(renderTable(['', ''], rows).split('\n').slice(1).join('\n'))
      if (!report.ok) this.log('run `mon store repair` (with mon stopped) to salvage the readable data into a new file')
    }
    return report
  }
}
