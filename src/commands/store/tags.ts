import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {requireMeasurement} from '../../core/store/catalog.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

/** Tag keys of the measurement, or the values of one key. */
export type TagList = string[]

export default class StoreTags extends BaseCommand {
  static override summary = 'List the tag keys of a measurement, or the values of one tag (SHOW TAG KEYS / TAG VALUES).'
  static override description = 'Works on every backend: the embedded store, InfluxDB 1.x and 2.x.'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> cpu            # tag keys: cpu, host',
    '<%= config.bin %> <%= command.id %> cpu host       # hosts that report cpu',
    '<%= config.bin %> <%= command.id %> disk path --json',
  ]

  static override args = {
    measurement: Args.string({description: 'measurement name, e.g. cpu', required: true}),
    key: Args.string({description: 'a tag key: list its values instead of the keys'}),
  }

  async run(): Promise<TagList> {
    const {args, flags} = await this.parse(StoreTags)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const store = await ctx.store()
      const list = args.key === undefined ? await store.tagKeys(args.measurement) : await store.tagValues(args.measurement, args.key)
      if (list.length === 0) await requireMeasurement(store, args.measurement, ctx.storeName)
      if (!this.jsonEnabled()) {
        if (list.length === 0) this.warnLine(args.key === undefined ? `measurement "${args.measurement}" has no tags` : `no series of "${args.measurement}" has the tag "${args.key}"`)
        else this.log(list.join('\n'))
      }

      return list
    } finally {
      await ctx.close()
    }
  }
}
