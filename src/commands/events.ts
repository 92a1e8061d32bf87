import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {openContext} from '../cli/context.js'
import {parseTagFlags} from '../cli/event-flags.js'
import {renderEvents} from '../cli/render/events.js'
import {STORE_SECTIONS} from '../core/config/load.js'
import {InputError} from '../core/errors.js'
import {EventsUnsupportedError, eventsUnsupportedReason, readEvents, type StoredEvent} from '../core/model/events.js'
import type {Matcher} from '../core/model/matcher.js'
import {parseTime} from '../core/query/time.js'

export interface EventView {
  time: string
  source: string
  title: string
  text?: string
  tags: Record<string, string>
}

export default class Events extends BaseCommand {
  static override summary = 'List events (deploys, log matches, alert transitions) in a time range, oldest first.'
  static override description = `Events are points of the measurement "events" (docs/events.md): written by mon event add (source cli), log tail matches (source tail) and the rule engine's alert transitions (source alerts: mon daemon, mon alerts eval --once). --tag filters on tags (all must match); --source on the source.

The embedded store and InfluxDB list them; Prometheus and VictoriaMetrics keep numbers only, so there events can be counted in rules but not listed (exit 2 says so).`

  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --since 7d --tag service=api',
    '<%= config.bin %> <%= command.id %> --source alerts --since 2026-11-25T00:00:00Z --until 2026-11-26T00:00:00Z --json',
  ]

  static override flags = {
    since: Flags.string({char: 's', description: 'from: a duration back from now or RFC 3339', default: '1d'}),
    until: Flags.string({char: 'u', description: 'until: a duration back from now or RFC 3339 (default: now)'}),
    tag: Flags.string({char: 't', description: 'only events with this tag: key=value (repeatable; all must match)', multiple: true}),
    source: Flags.string({description: 'only events from this source (cli, tail, alerts, …)'}),
    limit: Flags.integer({char: 'n', description: 'at most this many (the newest)', default: 1000, min: 1}),
  }

  async run(): Promise<EventView[]> {
    const {flags} = await this.parse(Events)
    const tags = parseTagFlags(flags.tag)
    const ctx = await openContext(flags, {sections: STORE_SECTIONS, mustExist: true})
    try {
      const now = ctx.clock.now()
      const start = parseTime(flags.since, now, '--since')
      const end = flags.until === undefined ? now + 1 : parseTime(flags.until, now, '--until')
      if (start >= end) throw new InputError(`--since (${new Date(start).toISOString()}) is not before --until (${new Date(end).toISOString()})`)
      const matchers: Matcher[] = Object.entries(tags).map(([name, value]) => ({name, op: '=', value}))
      if (flags.source !== undefined) matchers.push({name: 'source', op: '=', value: flags.source})
      const store = await ctx.store()
      const unsupported = eventsUnsupportedReason(store)
      if (unsupported) throw new EventsUnsupportedError(unsupported)
      const events = await readEvents(store, {start, end, matchers, limit: flags.limit})
      if (!this.jsonEnabled()) {
        if (events.length === 0) this.warnLine(`no events from ${new Date(start).toISOString()} to ${new Date(end).toISOString()}`)
        else this.log(renderEvents(events))
      }
      return events.map(view)
    } finally {
      await ctx.close()
    }
  }
}

function view(e: StoredEvent): EventView {
  const tags = Object.fromEntries(Object.entries(e.tags).filter(([k]) => k !== 'source'))
  return {time: new Date(e.ts).toISOString(), source: e.source, title: e.title, ...(e.text === undefined ? {} : {text: e.text}), tags}
}
