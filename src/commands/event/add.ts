import {Args, Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {openContext} from '../../cli/context.js'
import {parseTagFlags} from '../../cli/event-flags.js'
import {STORE_SECTIONS} from '../../core/config/load.js'
import {InputError} from '../../core/errors.js'
import {eventPoint, eventsUnsupportedReason} from '../../core/model/events.js'
import {parseTime} from '../../core/query/time.js'
import {requireWritableStore} from '../../core/store/open.js'

export interface EventAddResult {
  time: string
  source: string
  title: string
  text?: string
  tags: Record<string, string>
  store: string
}

export default class EventAdd extends BaseCommand {
  static override summary = 'Record an event (a deploy, a config change, an incident note) in the store.'
  static override description = `An event is a point of the measurement "events": tags source (cli unless --source) and --tag k=v, fields value=1, title and text. It is listed by mon events, drawn as a marker on mon query --format chart and in mon top, and counted in rules: count_over_time(events{source="cli", service="api"}[5m]) > 2. See docs/events.md.

A read-only store (Prometheus) refuses it (exit 2). VictoriaMetrics keeps numbers only: the event is counted there (events_value) but its title and text are not stored.`

  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> "deploy v1.2" --tag service=api --tag env=prod',
    '<%= config.bin %> <%= command.id %> "db failover" --text "primary moved to db-02" --at 2026-11-25T09:00:00Z',
    '<%= config.bin %> <%= command.id %> "load test started" --source ci --at 15m',
  ]

  static override args = {title: Args.string({description: 'what happened (the title shown in lists and chart legends)', required: true})}
  static override flags = {
    text: Flags.string({description: 'a longer description'}),
    tag: Flags.string({char: 't', description: 'a tag: key=value (repeatable)', multiple: true}),
    source: Flags.string({description: 'where the event comes from (the source tag)', default: 'cli'}),
    at: Flags.string({description: 'when: a duration back from now (15m) or RFC 3339 (default: now)'}),
  }

  async run(): Promise<EventAddResult> {
    const {args, flags} = await this.parse(EventAdd)
    const title = args.title.trim()
    if (!title) throw new InputError('the event title is empty', {hint: 'mon event add "deploy v1.2"'})
    const source = flags.source.trim()
    if (!source) throw new InputError('--source is empty')
    const tags = parseTagFlags(flags.tag)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS})
    try {
      requireWritableStore(ctx.loaded.config.store, 'record events (mon event add)')
      const ts = flags.at === undefined ? ctx.clock.now() : parseTime(flags.at, ctx.clock.now(), '--at')
      const store = await ctx.store()
      const unsupported = eventsUnsupportedReason(store)
      if (unsupported) this.warnLine(`the event is counted but its title is not kept: ${unsupported}`)
      await store.write([eventPoint({title, text: flags.text, tags, source, ts})])
      const result: EventAddResult = {time: new Date(ts).toISOString(), source, title, ...(flags.text ? {text: flags.text} : {}), tags, store: ctx.storeName}
      if (!this.jsonEnabled()) this.log(`recorded event "${title}" at ${result.time} in ${ctx.storeName}`)
      return result
    } finally {
      await ctx.close()
    }
  }
}
