import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {UserError} from '../../core/errors.js'
import {isCompactable} from '../../core/store/types.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export default class StoreCompact extends BaseCommand {
  static override summary = 'Compact the embedded store: fold recent rows into compressed chunks and return free pages.'
  static override description = 'The daemon and writers compact on their own every few minutes; run this before measuring size or taking a backup.'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --json']

  async run(): Promise<{headRows: number; chunksBefore: number; chunksAfter: number; bytesPerPoint?: number}> {
    const {flags} = await this.parse(StoreCompact)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS, mustExist: true})
    try {
      const store = await ctx.store()
      if (!isCompactable(store)) throw new UserError(`compaction applies to the embedded store; ${ctx.storeName} compacts itself`, {exitCode: 2})
      const stats = store.compact({full: true})
      const info = await store.info()
      if (!this.jsonEnabled()) this.log(`folded ${stats.headRows} rows into chunks; chunks ${stats.chunksBefore} → ${stats.chunksAfter}; ${info.bytesPerPoint?.toFixed(2) ?? '-'} bytes per point`)
      return {...stats, bytesPerPoint: info.bytesPerPoint}
    } finally {
      await ctx.close()
    }
  }
}
