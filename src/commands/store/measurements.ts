import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export type MeasurementList = string[]

export default class StoreMeasurements extends BaseCommand {
  static override summary = 'List the measurements in the store (SHOW MEASUREMENTS).'
  static override description = 'Works on every backend: the embedded store, InfluxDB 1.x and 2.x.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --json',
    '<%= config.bin %> <%= command.id %> --config /etc/mon/influx.yaml   # an InfluxDB store',
  ]

  async run(): Promise<MeasurementList> {
    const {flags} = await this.parse(StoreMeasurements)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const names = await (await ctx.store()).measurements()
      if (!this.jsonEnabled()) {
        if (names.length === 0) this.warnLine(`no measurements in ${ctx.storeName}`)
        else this.log(names.join('\n'))
      }

      return names
    } finally {
      await ctx.close()
    }
  }
}
