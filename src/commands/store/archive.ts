import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {progressCounter} from '../../cli/progress.js'
import {archiveToFile, type ArchiveResult} from '../../core/store/archive.js'
import {parseTime} from '../../core/query/time.js'
import {formatBytes, plural} from '../../core/format.js'
import {STORE_SECTIONS} from '../../core/config/load.js'

export default class StoreArchive extends BaseCommand {
  static override summary = 'Write old raw points to a compressed line-protocol file (cold archive).'
  static override description = 'The file is written next to its final name and renamed when complete, so an interrupted archive leaves no partial file. Read it back with `mon store import` (or `influx write`).'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> --before 30d --to /backup/mon-$(date +%F).lp.gz',
    '<%= config.bin %> <%= command.id %> --after 2026-01-01 --before 2026-02-01 --to january.lp.gz',
  ]

  static override flags = {
    before: Flags.string({description: 'archive points older than this (duration back from now or RFC 3339)', required: true}),
    after: Flags.string({description: 'and not older than this (default: everything)'}),
    to: Flags.string({description: 'output file (.lp.gz or .lp)', required: true}),
  }

  async run(): Promise<ArchiveResult> {
    const {flags} = await this.parse(StoreArchive)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      const now = ctx.clock.now()
      const end = parseTime(flags.before, now, '--before')
      const start = flags.after ? parseTime(flags.after, now, '--after') : undefined
      const bar = progressCounter('archiving', {enabled: !this.jsonEnabled(), unit: 'points'})
      const result = await archiveToFile(await ctx.store(), {start, end, file: flags.to, progress: (n) => bar.update(n)})
      bar.done()
      if (!this.jsonEnabled()) this.log(`archived ${plural(result.points, 'point')} of ${plural(result.series, 'series', 'series')} to ${result.file} (${formatBytes(result.bytes)})`)
      return result
    } finally {
      await ctx.close()
    }
  }
}
