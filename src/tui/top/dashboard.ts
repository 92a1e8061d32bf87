import blessed from 'blessed'
import {countAlerts} from '../../core/incidents/counts.js'
import type {Clock} from '../../core/clock.js'
import {errorMessage, UserError} from '../../core/errors.js'
import type {AlertView, IncidentService} from '../../core/incidents/types.js'
import {formatMatcher} from '../../core/model/matcher.js'
import {parseDuration} from '../../core/config/duration.js'
import {clockTime, formatInterval, formatLabels} from './format.js'
import {createLayout, type Layout} from './layout.js'
import type {ViewContext} from './monitors/monitor.js'
import {askText, pick} from './prompts.js'
import {isOutage, MetricsSource, type AnyStore, type DashboardSettings, type MetricsSnapshot} from './source.js'
import type {StatusLog} from './status-log.js'
import {makeTheme, monochrome, type Theme} from './theme.js'
import type {Outage} from './monitors/banner.js'

/**
 * `mon top`: one render loop for the whole screen. Every tick polls the store (through the query
 * layer) and the alert state, lets each panel decide whether it changed, and redraws only those
 * panels — the whole screen only after a resize, a focus change or while an overlay is up. One
 * teardown clears the timer, restores the terminal and removes every listener. Backend failures
 * become the outage banner and are retried on the next tick; anything else is a bug and ends the
 * dashboard with the error (shown by the command, with its stack under --debug).
 */
export interface DashboardOptions {
  store: AnyStore
  /** `sqlite`, `influxdb` */
  backend: string
  /** `sqlite:/var/lib/mon/mon.db` */
  location: string
  /** the incident workflow (ack, silence, who acked); alerts show as unavailable without it */
  incidents: IncidentService
  /** who acks and silences (`$USER@hostname`) */
  actor: string
  host: string
  windowMs: number
  refreshMs: number
  /** bucket width of the charts */
  every: number
  /** Telegraf's names (default) or node_exporter's */
  panels?: DashboardSettings['panels']
  color: boolean
  clock: Clock
  /** core warnings (the incident service's) shown in the status line */
  log?: StatusLog
  /** the terminal (default: this process's stdin/stdout) */
  input?: NodeJS.ReadableStream
  output?: NodeJS.WritableStream
}

/** Refresh rates `+` and `-` step through. */
export const REFRESH_STEPS = [250, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000]
export const SILENCE_CHOICES = ['15m', '1h', '2h', '4h', '8h', '1d', '3d', '1w']
const MESSAGE_MS = 6000
/** Ctrl-C arrives as a key in raw mode; these come from outside (kill, a closed terminal). */
const SIGNALS: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP']

export async function runDashboard(opts: DashboardOptions): Promise<void> {
  const dashboard = new Dashboard(opts)
  return dashboard.run()
}

class Dashboard {
  private readonly theme: Theme
  private readonly source: MetricsSource
  private screen!: blessed.Widgets.Screen
  private ui!: Layout
  private refreshMs: number
  private filter = ''
  private focus: 'alerts' | 'checks' = 'alerts'
  private metrics?: MetricsSnapshot
  private alerts: AlertView[] = []
  private alertProblem?: string
  private outage?: Outage
  private timer?: NodeJS.Timeout
  private inflight?: Promise<void>
  /** a key asked for fresh data while a poll was running */
  private pollAgain = false
  /** the next render redraws everything (resize, focus, overlays) */
  private fullRender = true
  private closed = false
  private busy = false
  private settle!: {resolve: () => void; reject: (e: unknown) => void}
  private readonly onSignal = () => this.quit()

  constructor(private readonly opts: DashboardOptions) {
    this.theme = makeTheme(opts.color)
    this.refreshMs = opts.refreshMs
    const settings: DashboardSettings = {host: opts.host, windowMs: opts.windowMs, every: opts.every, perCore: false, panels: opts.panels}
    this.source = new MetricsSource(opts.store, settings, opts.clock)
  }

  run(): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.settle = {resolve, reject}
      try {
        this.start()
      } catch (error) {
        this.fail(error)
      }
    })
  }

  private start(): void {
    this.screen = blessed.screen({
      smartCSR: true,
      title: 'mon top',
      autoPadding: true,
      warnings: false,
      input: this.opts.input,
      output: this.opts.output,
    } as blessed.Widgets.IScreenOptions)
    // Ctrl-C quits even while a prompt holds the keys
    const keys = this.screen as unknown as {ignoreLocked: string[]}
    keys.ignoreLocked = ['C-c']
    if (!this.opts.color) monochrome(this.screen)
    this.ui = createLayout(this.screen, this.theme)
    this.bindKeys()
    this.screen.on('resize', () => this.guard(() => this.relayout()))
    for (const signal of SIGNALS) process.on(signal, this.onSignal)
    this.opts.log?.attach((text) => this.say(text, 'bad'))
    this.applyFocus()
    // the grid cells were snapped after the canvases measured themselves: measure again
    this.relayout()
    this.tick()
  }

  // ------------------------------------------------------------------ loop

  private tick(): void {
    if (this.closed) return
    clearTimeout(this.timer)
    this.timer = setTimeout(() => this.tick(), this.refreshMs)
    // a slow backend: keep the clock and the banner moving; the next tick after the answer polls
    if (this.inflight) this.render()
    else this.startPoll()
  }

  private startPoll(): void {
    this.inflight = this.poll()
      .then(() => this.render())
      .catch((error: unknown) => this.fail(error))
      .finally(() => {
        this.inflight = undefined
        if (this.pollAgain) {
          this.pollAgain = false
          this.tick()
        }
      })
  }

  /** Poll now (after a key changed what is shown), without waiting for the next tick. */
  private refreshNow(): void {
    if (this.inflight) this.pollAgain = true
    else this.tick()
  }

  private async poll(): Promise<void> {
    const [metrics, alerts] = await Promise.all([this.source.poll(), this.pollAlerts()])
    if (this.closed) return
    const current = this.source.current
    // the host or the CPU view changed during the poll: the next poll (already asked for) shows it
    if (metrics.host === current.host && metrics.perCore === current.perCore) this.metrics = metrics
    if (alerts) this.alerts = alerts
    const problems = [...metrics.problems, ...(this.alertProblem ? [`alert state: ${this.alertProblem}`] : [])]
    if (problems.length === 0) this.outage = undefined
    else this.outage = {problems: dedupe(problems), since: this.outage?.since ?? metrics.at, attempts: (this.outage?.attempts ?? 0) + 1, refreshMs: this.refreshMs}
  }

  private async pollAlerts(): Promise<AlertView[] | undefined> {
    try {
      const [firing, pending] = await Promise.all([this.opts.incidents.list({state: 'firing'}), this.opts.incidents.list({state: 'pending'})])
      this.alertProblem = undefined
      return [...firing, ...pending]
    } catch (error) {
      if (!isOutage(error)) throw error
      this.alertProblem = errorMessage(error)
      return undefined
    }
  }

  /** One render for the whole screen: only the panels whose content changed are redrawn. */
  private render(): void {
    if (this.closed) return
    const ui = this.ui
    const now = this.opts.clock.now()
    const settings = this.source.current
    const view: ViewContext = {theme: this.theme, host: settings.host, windowMs: settings.windowMs, filter: this.filter, now, outage: this.outage !== undefined, lastSeen: this.metrics?.lastSeen}
    const changed: blessed.Widgets.BlessedElement[] = []
    const note = (el: blessed.Widgets.BlessedElement, didChange: boolean) => {
      if (didChange) changed.push(el)
    }

    const firing = this.alertProblem && this.alerts.length === 0 ? undefined : countAlerts(this.alerts).firing
    note(ui.header.element, ui.header.update({backend: this.opts.backend, location: this.opts.location, host: settings.host, windowMs: settings.windowMs, refreshMs: this.refreshMs, now, firing}))
    note(ui.status.element, ui.status.update(now, this.filter))
    const m = this.metrics
    if (m) {
      note(ui.cpu.element, ui.cpu.update(m.cpu, view, m.events))
      note(ui.net.element, ui.net.update(m.net, view))
      note(ui.diskio.element, ui.diskio.update(m.diskio, view))
      note(ui.load.element, ui.load.update(m.load, view))
      note(ui.memory.element, ui.memory.update(m.memory, view))
      note(ui.disks.element, ui.disks.update(m.disks, view))
      note(ui.checks.element, ui.checks.update(m.checks, view, this.focus === 'checks'))
    }

    note(ui.alerts.element, ui.alerts.update(this.alerts, view, this.focus === 'alerts'))
    if (ui.banner.update(this.outage)) this.fullRender = true
    if (this.fullRender || ui.banner.visible || ui.help.visible || this.busy) {
      this.fullRender = false
      this.screen.render()
      return
    }

    // blessed's own render() draws every element; here only the changed ones are drawn into the
    // screen buffer and only their rows are diffed out to the terminal
    const screen = this.screen as unknown as {draw(start: number, end: number): void}
    for (const el of changed) {
      el.render()
      const at = (el as unknown as {lpos?: blessed.Widgets.Coords}).lpos
      if (at) screen.draw(at.yi, at.yl - 1)
    }
  }

  private relayout(): void {
    const ui = this.ui
    ui.fit()
    for (const monitor of [ui.cpu, ui.net, ui.diskio, ui.load, ui.memory, ui.disks, ui.checks, ui.alerts]) monitor.relayout()
    this.fullRender = true
    this.render()
  }

  // ------------------------------------------------------------------ keys

  private bindKeys(): void {
    const s = this.screen
    const key = (keys: string[], action: () => void | Promise<void>) =>
      s.key(keys, () => {
        // keys pressed while a prompt is open belong to the prompt
        if (this.busy || this.closed) return
        this.guard(action)
      })

    s.key(['C-c'], () => this.quit())
    key(['q'], () => this.quit())
    key(['?'], () => {
      this.ui.help.toggle()
      this.fullRender = true
      this.render()
    })
    key(['escape'], () => {
      if (!this.ui.help.visible) return
      this.ui.help.toggle()
      this.fullRender = true
      this.render()
    })
    key(['tab', 'S-tab'], () => {
      this.focus = this.focus === 'alerts' ? 'checks' : 'alerts'
      this.applyFocus()
      this.render()
    })
    key(['+', '='], () => this.stepRefresh(-1))
    key(['-', '_'], () => this.stepRefresh(1))
    key(['r'], () => this.refreshNow())
    key(['c'], () => {
      this.source.update({perCore: !this.source.current.perCore})
      this.refreshNow()
    })
    key(['a'], () => this.modal(() => this.ackSelected()))
    key(['s'], () => this.modal(() => this.silenceSelected()))
    key(['h'], () => this.modal(() => this.switchHost()))
    key(['/'], () => this.modal(() => this.askFilter()))
  }

  /** Runs a prompt flow with the screen's own keys held back, then redraws everything. */
  private async modal(flow: () => Promise<void>): Promise<void> {
    this.busy = true
    try {
      await flow()
    } finally {
      this.busy = false
      if (!this.closed) {
        this.applyFocus()
        this.fullRender = true
        this.render()
      }
    }
  }

  private applyFocus(): void {
    this.ui.checks.table.setFocused(this.focus === 'checks')
    this.ui.alerts.table.setFocused(this.focus === 'alerts')
    this.fullRender = true
  }

  private stepRefresh(direction: -1 | 1): void {
    const i = REFRESH_STEPS.findIndex((s) => s >= this.refreshMs)
    const at = i === -1 ? REFRESH_STEPS.length - 1 : i
    const next = REFRESH_STEPS[Math.min(REFRESH_STEPS.length - 1, Math.max(0, at + direction))]!
    this.refreshMs = next
    this.say(`refresh every ${formatInterval(next)}`, 'info')
    this.refreshNow()
  }

  private say(text: string, tone: 'ok' | 'bad' | 'info'): void {
    this.ui.status.say(text, tone, this.opts.clock.now() + MESSAGE_MS)
  }

  private selectedAlert(): AlertView | undefined {
    const fp = this.ui.alerts.selectedFingerprint()
    return fp === undefined ? undefined : this.alerts.find((a) => a.fingerprint === fp)
  }

  private async ackSelected(): Promise<void> {
    const alert = this.selectedAlert()
    if (!alert) return this.say('no alert selected (Tab to the alerts table, ↑↓ to choose)', 'bad')
    if (alert.state === 'acked') return this.say(`${alert.alertname} is already acknowledged by ${alert.ackedBy}`, 'info')
    const comment = await askText(this.screen, {title: 'acknowledge', question: `Acknowledge ${describe(alert)} as ${this.opts.actor}. Comment (optional):`})
    if (comment === undefined) return this.say('not acknowledged', 'info')
    await this.act(async () => {
      const result = await this.opts.incidents.ack(alert.fingerprint, {by: this.opts.actor, comment: comment.trim() || undefined, source: 'local'})
      this.say(`acknowledged ${result.alertname} (incident #${result.incident})${result.warning ? ` — ${result.warning}` : ''}`, 'ok')
    })
  }

  private async silenceSelected(): Promise<void> {
    const alert = this.selectedAlert()
    if (!alert) return this.say('no alert selected (Tab to the alerts table, ↑↓ to choose)', 'bad')
    const choice = await pick(this.screen, {title: `silence ${alert.alertname} for`, items: SILENCE_CHOICES, selected: 1})
    if (choice === undefined) return this.say('not silenced', 'info')
    const duration = SILENCE_CHOICES[choice]!
    const comment = await askText(this.screen, {title: 'silence', question: `Silence ${describe(alert)} for ${duration}. Why? (required)`})
    if (comment === undefined || comment.trim() === '') return this.say('not silenced (a silence needs a comment)', 'info')
    const matchers = Object.entries(alert.labels).map(([name, value]) => formatMatcher({name, op: '=', value}))
    await this.act(async () => {
      const silence = await this.opts.incidents.addSilence({matchers, durationMs: parseDuration(duration), comment, by: this.opts.actor, source: 'local'})
      this.say(`silenced ${alert.alertname} for ${duration}, until ${clockTime(Date.parse(silence.endsAt))} (silence ${silence.id.slice(0, 8)})`, 'ok')
    })
  }

  /** An incident action: refusals (already acked by someone else …) are messages, the rest are bugs. */
  private async act(action: () => Promise<void>): Promise<void> {
    try {
      await action()
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      this.say(errorMessage(error), 'bad')
    }

    this.refreshNow()
  }

  private async switchHost(): Promise<void> {
    let hosts: string[]
    try {
      hosts = await this.source.hosts()
    } catch (error) {
      if (!isOutage(error)) throw error
      return this.say(`cannot list hosts: ${errorMessage(error)}`, 'bad')
    }

    const current = this.source.current.host
    if (!hosts.includes(current)) hosts.unshift(current)
    if (hosts.length === 1) return this.say(`only ${current} has metrics in the store`, 'info')
    const choice = await pick(this.screen, {title: 'host', items: hosts, selected: hosts.indexOf(current)})
    if (choice === undefined || hosts[choice] === current) return
    this.source.update({host: hosts[choice]!})
    this.metrics = undefined
    this.say(`host ${hosts[choice]}`, 'info')
    this.refreshNow()
  }

  private async askFilter(): Promise<void> {
    const text = await askText(this.screen, {title: 'filter', question: 'Show checks, alerts and disks containing (empty shows all):', initial: this.filter})
    if (text === undefined) return
    this.filter = text.trim().toLowerCase()
  }

  // ------------------------------------------------------------------ teardown

  /** Runs a key action; an exception in it is a bug and ends the dashboard. */
  private guard(action: () => void | Promise<void>): void {
    try {
      const out = action()
      if (out instanceof Promise) out.catch((error: unknown) => this.fail(error))
    } catch (error) {
      this.fail(error)
    }
  }

  private quit(): void {
    if (this.teardown()) this.settle.resolve()
  }

  private fail(error: unknown): void {
    if (this.teardown()) this.settle.reject(error)
  }

  /** The one teardown: timer, listeners, terminal. True the first time. */
  private teardown(): boolean {
    if (this.closed) return false
    this.closed = true
    clearTimeout(this.timer)
    for (const signal of SIGNALS) process.off(signal, this.onSignal)
    this.opts.log?.detach()
    // leaves the alternate screen, shows the cursor and gives the terminal back its modes
    this.screen?.destroy()
    return true
  }
}

function describe(alert: AlertView): string {
  const labels = formatLabels(alert.labels, ['alertname', 'severity'])
  return `${alert.alertname}${labels ? ` {${labels}}` : ''}`
}

function dedupe(problems: string[]): string[] {
  // every panel fails the same way when the backend is down: say it once
  const byMessage = new Map<string, string[]>()
  for (const p of problems) {
    const i = p.indexOf(': ')
    const what = i > 0 ? p.slice(0, i) : ''
    const msg = i > 0 ? p.slice(i + 2) : p
    byMessage.set(msg, [...(byMessage.get(msg) ?? []), what])
  }

  return [...byMessage].map(([msg, whats]) => (whats.length > 1 ? `${msg} (${whats.length} panels)` : `${whats[0] ? `${whats[0]}: ` : ''}${msg}`))
}
