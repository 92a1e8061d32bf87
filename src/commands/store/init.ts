import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {initStore, type InitResult} from '../../core/store/catalog.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export default class StoreInit extends BaseCommand {
  static override summary = 'Create the database the config points at (InfluxDB 1.x database, 2.x bucket, or the embedded file).'
  static override description = 'Idempotent: an existing database is left as it is. On InfluxDB 1.x this is CREATE DATABASE; on 2.x the bucket is created in store.org.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml --json',
  ]

  async run(): Promise<InitResult> {
    const {flags} = await this.parse(StoreInit)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const result = await initStore(ctx.loaded.config.store, ctx.loaded.dataDir, () => ctx.store())
      if (!this.jsonEnabled()) {
        const what = result.backend === 'sqlite' ? `embedded store ${result.location}` : `"${result.database}" on ${result.location}${result.serverVersion ? ` (InfluxDB ${result.serverVersion})` : ''}`
        this.log(result.created ? `created ${what}` : `${what} already exists`)
        for (const note of result.notes) this.warnLine(note)
      }

      return result
    } finally {
      await ctx.close()
    }
  }
}
