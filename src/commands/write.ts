import {Args, Flags} from '@oclif/core'
import {requireWritableStore} from '../core/store/open.js'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {progressReporter} from '../cli/progress.js'
import {readStdin} from '../cli/stdin.js'
import {renderError} from '../cli/render/error.js'
import {writeExitCode, writeLineProtocol, type WriteSummary} from '../core/ingest/write.js'
import {parsePrecision} from '../core/model/line-protocol/index.js'
import {plural} from '../core/format.js'
import {STORE_SECTIONS} from '../core/config/load.js'

export default class Write extends BaseCommand {
  static override summary = 'Write line protocol from a file or stdin into the store (like `influx write`).'
  static override description = `The whole input is checked first: a malformed line is reported as file:line:col and nothing is written, unless --skip-invalid. Writing the same series, field and timestamp again overwrites. Timestamps are kept to the millisecond: values of one series and field that fall in the same millisecond are merged (the last kept) and counted ("merged" in --json).

Exit status: 0 every valid point was written (lines --skip-invalid left out included); 1 some points were written and some were not (a partial write: the store refused some, e.g. a field type conflict or older than retention.raw, or failed part-way), or the store failed; 2 nothing was written because the input is invalid. --json prints {written, dropped, merged, errors} in every case, failures included.`

  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> metrics.lp',
    `echo 'deploys,service=api,env=prod count=1i' | <%= config.bin %> <%= command.id %> -`,
    '<%= config.bin %> <%= command.id %> export.lp --precision s --skip-invalid',
    '<%= config.bin %> <%= command.id %> backfill.lp --json | jq .dropped   # exit 1: partly written',
  ]

  static override args = {file: Args.string({description: "line protocol file, or '-' for stdin", default: '-', ignoreStdin: true})}
  static override flags = {
    precision: Flags.string({char: 'p', description: 'timestamp precision of the input (ns, us, ms, s; also n, u, m, h)', default: 'ns'}),
    'skip-invalid': Flags.boolean({description: 'write the valid lines and report the invalid ones (exit 0)'}),
    'batch-size': Flags.integer({description: 'points per write', default: 5000, min: 1}),
  }

  async run(): Promise<Omit<WriteSummary, 'failure'> & {store: string}> {
    const {args, flags} = await this.parse(Write)
    const precision = parsePrecision(flags.precision)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      requireWritableStore(ctx.loaded.config.store, 'write points (mon write)')
      const store = await ctx.store()
      const bar = progressReporter('writing', {enabled: !this.jsonEnabled()})
      const summary = await writeLineProtocol(store, {
        source: args.file,
        precision,
        skipInvalid: flags['skip-invalid'],
        now: ctx.clock.now(),
        batchSize: flags['batch-size'],
        readStdin,
        progress: (done, total) => total > 100_000 && bar.update(done, total),
      })
      bar.done()
      const {failure, ...result} = summary
      if (failure) {
        process.stderr.write(renderError(failure, this.debugEnabled()) + '\n')
        process.exitCode = writeExitCode(summary)
      } else if (!this.jsonEnabled()) {
        for (const e of summary.errors.slice(0, 20)) this.warnLine(`skipped ${summary.source}:${e.line}:${e.col}: ${e.message}`)
      }
      if (!this.jsonEnabled() && summary.written > 0) {
        this.log(`wrote ${plural(summary.written, 'point')}${summary.skipped ? ` (skipped ${plural(summary.skipped, 'invalid line')})` : ''}${summary.dropped > summary.skipped ? ` (${summary.dropped - summary.skipped} refused by the store)` : ''} to ${ctx.storeName}`)
        if (summary.merged > 0) this.warnLine(`${plural(summary.merged, 'value')} shared series, field and millisecond with a later one and were merged into it (timestamps are kept to the millisecond)`)
      }

      return {...result, store: ctx.storeName}
    } finally {
      await ctx.close()
    }
  }
}
