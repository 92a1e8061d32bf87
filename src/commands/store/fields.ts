import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {renderTable} from '../../cli/render/table.js'
import {requireMeasurement} from '../../core/store/catalog.js'
import type {FieldInfo} from '../../core/store/types.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export type FieldList = FieldInfo[]

export default class StoreFields extends BaseCommand {
  static override summary = 'List the fields of a measurement with their types (SHOW FIELD KEYS).'
  static override description = 'Types are InfluxDB\'s: float, integer, unsigned, boolean, string. Works on every backend.'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %> cpu', '<%= config.bin %> <%= command.id %> disk --json']
  static override args = {measurement: Args.string({description: 'measurement name, e.g. cpu', required: true})}

  async run(): Promise<FieldList> {
    const {args, flags} = await this.parse(StoreFields)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const store = await ctx.store()
      const fields = await store.fieldKeys(args.measurement)
      if (fields.length === 0) await requireMeasurement(store, args.measurement, ctx.storeName)
      if (!this.jsonEnabled()) this.log(renderTable(['FIELD', 'TYPE'], fields.map((f) => [f.name, f.type])))
      return fields
    } finally {
      await ctx.close()
    }
  }
}
