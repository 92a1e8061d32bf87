import blessed from 'blessed'
import {clockTime, formatInterval, truncate} from '../format.js'
import {escapeTags, type Theme} from '../theme.js'
import {Drawn} from './monitor.js'

/** The top line: backend, host, window, refresh rate, clock and how many alerts fire. */
export interface HeaderData {
  /** `sqlite` / `influxdb` */
  backend: string
  /** `sqlite:/var/lib/mon/mon.db` — shown when there is room */
  location: string
  host: string
  windowMs: number
  refreshMs: number
  now: number
  /** undefined while alert state is unavailable */
  firing?: number
}

export class HeaderMonitor {
  readonly element: blessed.Widgets.BoxElement
  private readonly drawn = new Drawn()

  constructor(
    screen: blessed.Widgets.Screen,
    private readonly theme: Theme,
  ) {
    this.element = blessed.box({parent: screen, top: 0, left: 0, width: '100%', height: 1, tags: true, style: {bold: true}})
  }

  update(d: HeaderData): boolean {
    const width = typeof this.element.width === 'number' ? this.element.width : 80
    const t = this.theme
    const firing = d.firing === undefined ? t.tag('alerts ?', 'dim') : d.firing > 0 ? t.tag(`● ${d.firing} firing`, 'bad', true) : t.tag('0 firing', 'ok')
    const firingLen = d.firing === undefined ? 8 : d.firing > 0 ? `● ${d.firing} firing`.length : 8
    const fixed = ` mon top │ host  │ last ${formatInterval(d.windowMs)} │ every ${formatInterval(d.refreshMs)} │  │ ${clockTime(d.now)} │ `.length + firingLen
    let backend = d.location
    if (fixed + backend.length + 8 > width) backend = d.backend
    const hostRoom = Math.max(6, width - fixed - backend.length)
    const text = ` mon top │ host ${t.tag(truncate(d.host, hostRoom), 'info', true)} │ last ${formatInterval(d.windowMs)} │ every ${formatInterval(d.refreshMs)} │ ${escapeTags(backend)} │ ${clockTime(d.now)} │ ${firing}`
    if (!this.drawn.changed({text, width})) return false
    this.element.setContent(text)
    return true
  }
}

/** The bottom line: key hints, the active filter, or a message that stays for a few seconds. */
export class StatusMonitor {
  readonly element: blessed.Widgets.BoxElement
  private readonly drawn = new Drawn()
  private message?: {text: string; tone: 'ok' | 'bad' | 'info'; until: number}

  constructor(
    screen: blessed.Widgets.Screen,
    private readonly theme: Theme,
  ) {
    this.element = blessed.box({parent: screen, bottom: 0, left: 0, width: '100%', height: 1, tags: true})
  }

  /** Shows `text` instead of the key hints until `until` (ms). */
  say(text: string, tone: 'ok' | 'bad' | 'info', until: number): void {
    this.message = {text, tone, until}
  }

  update(now: number, filter: string): boolean {
    const t = this.theme
    const width = typeof this.element.width === 'number' ? this.element.width : 80
    if (this.message && this.message.until <= now) this.message = undefined
    let text: string
    if (this.message) text = ` ${t.tag(truncate(this.message.text, width - 2), this.message.tone, true)}`
    else {
      const keys = width >= 100 ? 'q quit  Tab focus  ↑↓ select  a ack  s silence  h host  / filter  c per-core  +/- refresh  ? help' : 'q quit  Tab  a ack  s silence  h host  / filter  +/-  ? help'
      text = filter ? ` ${t.tag(`filter: ${truncate(filter, 24)}`, 'info', true)}  ${t.tag('(/ then Enter on empty clears)', 'dim')}` : ` ${t.tag(keys, 'dim')}`
    }

    if (!this.drawn.changed({text, width})) return false
    this.element.setContent(text)
    return true
  }
}
