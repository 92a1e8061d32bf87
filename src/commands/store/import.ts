import {Args, Flags} from '@oclif/core'
import {requireWritableStore} from '../../core/store/open.js'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {progressCounter} from '../../cli/progress.js'
import {importFile, type ImportResult} from '../../core/store/archive.js'
import {parsePrecision} from '../../core/model/line-protocol/index.js'
import {plural} from '../../core/format.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export default class StoreImport extends BaseCommand {
  static override summary = 'Read a line-protocol file (plain or .gz, e.g. from `mon store archive`) into the configured store.'
  static override description = 'Works on any backend. Writes are idempotent, so importing the same file twice stores each point once. Timestamps are nanoseconds unless --precision says otherwise, as for mon write and InfluxDB; an archive written by mon store archive says its precision (ms) in its first line, and that is used.'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %> /backup/mon-2026-10-01.lp.gz', '<%= config.bin %> <%= command.id %> telegraf-dump.lp', '<%= config.bin %> <%= command.id %> export-in-ms.lp --precision ms']
  static override args = {file: Args.string({description: 'file to import', required: true})}
  static override flags = {
    precision: Flags.string({char: 'p', description: 'timestamp precision in the file (default: ns, or what a mon archive says in its first line)', options: ['ns', 'us', 'ms', 's']}),
  }

  async run(): Promise<ImportResult & {store: string}> {
    const {args, flags} = await this.parse(StoreImport)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const bar = progressCounter('importing', {enabled: !this.jsonEnabled(), unit: 'points'})
      requireWritableStore(ctx.loaded.config.store, 'import points (store import)')
      const result = await importFile(await ctx.store(), {file: args.file, precision: flags.precision === undefined ? undefined : (parsePrecision(flags.precision) as 'ms'), progress: (n) => bar.update(n), now: ctx.clock.now()})
      bar.done()
      if (!this.jsonEnabled()) this.log(`imported ${plural(result.points, 'point')} from ${result.file} into ${ctx.storeName}`)
      return {...result, store: ctx.storeName}
    } finally {
      await ctx.close()
    }
  }
}
