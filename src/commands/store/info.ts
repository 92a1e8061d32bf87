import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {renderStoreInfo} from '../../cli/render/store.js'
import type {StoreInfo} from '../../core/store/types.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export default class StoreInfoCommand extends BaseCommand {
  static override summary = 'Show the backend, location, series and point counts, time range and size.'
  static override enableJsonFlag = true
  static override description = `On the embedded store every figure is cheap. On InfluxDB the series count comes from SHOW SERIES CARDINALITY and the time range from one seek per measurement; the point count (values stored, one per field of each point, as the embedded store counts them) needs a scan of every shard, so it is only given with --count.`
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
    'MON_DATA_DIR=/var/lib/mon <%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --config influx.yaml --count   # InfluxDB: also count points (reads them all)',
  ]

  static override flags = {
    count: Flags.boolean({description: 'InfluxDB: also count the points (a scan of every shard; the embedded store always counts)'}),
  }

  async run(): Promise<StoreInfo> {
    const {flags} = await this.parse(StoreInfoCommand)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const info = await (await ctx.store()).info({countPoints: flags.count})
      if (!this.jsonEnabled()) this.log(renderStoreInfo(info))
      return info
    } finally {
      await ctx.close()
    }
  }
}
