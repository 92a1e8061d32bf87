import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openNotifyContext} from '../../cli/notify-context.js'
import {renderRoutesExplanation, renderRouteTree} from '../../cli/render/notify.js'
import {EXIT_RUNTIME, InputError} from '../../core/errors.js'
import {explainRoutes, parseLabelSet, routeTree, Silences, type RoutesExplanation, type RouteView} from '../../core/notify/index.js'

export type NotifyRoutesResult = {tree: RouteView[]} | (RoutesExplanation & {verified?: boolean})

export default class NotifyRoutes extends BaseCommand {
  static override summary = 'Show the route tree, or which receivers a label set reaches.'
  static override description =
    'Without --label, prints the route tree with inherited settings. With --label, prints the receivers the labels reach (like amtool config routes test), each matching route, its group key and channels, and whether a mute interval or an active silence holds it back now (or at --at).'
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --label severity=critical,team=db',
    '<%= config.bin %> <%= command.id %> --label alertname=DiskFull,severity=warning --at 2026-11-28T23:00:00Z',
    '<%= config.bin %> <%= command.id %> --label severity=critical,team=db --verify-receivers db-pager,team-slack',
  ]

  static override flags = {
    // --label as in mon alerts list; --labels, the old spelling, stays accepted (hidden)
    label: Flags.string({char: 'l', aliases: ['labels'], description: 'label set to route, e.g. severity=critical,team=db (repeatable)', multiple: true}),
    at: Flags.string({description: 'time for mute intervals and silences (RFC 3339; default: now)', dependsOn: ['label']}),
    'verify-receivers': Flags.string({description: 'exit 1 unless exactly these receivers (comma-separated, in order) are reached', dependsOn: ['label']}),
  }

  async run(): Promise<NotifyRoutesResult> {
    const {flags} = await this.parse(NotifyRoutes)
    const ctx = await openNotifyContext(flags)
    try {
      if (!flags.label) {
        const tree = routeTree(ctx.notify)
        if (!this.jsonEnabled()) this.log(renderRouteTree(tree))
        return {tree}
      }
      const now = flags.at === undefined ? ctx.clock.now() : Date.parse(flags.at)
      if (Number.isNaN(now)) throw new InputError(`--at: invalid time '${flags.at}'`, {hint: 'use RFC 3339, e.g. 2026-11-28T23:00:00Z'})
      const result: RoutesExplanation & {verified?: boolean} = explainRoutes(ctx.notify, parseLabelSet(flags.label), {now, silences: new Silences(ctx.dbOrEmpty())})
      if (!this.jsonEnabled()) this.log(renderRoutesExplanation(result))
      if (flags['verify-receivers'] !== undefined) {
        const expected = flags['verify-receivers'].split(',').map((s) => s.trim()).filter(Boolean)
        result.verified = expected.join(',') === result.receivers.join(',')
        if (!result.verified) {
          if (!this.jsonEnabled()) this.warnLine(`verification failed: expected ${expected.join(',')}, got ${result.receivers.join(',') || '(none)'}`)
          process.exitCode = EXIT_RUNTIME
        }
      }
      return result
    } finally {
      ctx.close()
    }
  }
}
