import blessed, {type Widgets} from 'blessed'
import * as contrib from 'blessed-contrib'
import {clockTime} from '../format.js'
import type {ChartData} from '../series.js'
import type {Theme} from '../theme.js'
import {Drawn, type ViewContext} from './monitor.js'

/**
 * A blessed-contrib line chart with a centred hint while there is no data. The chart's canvas is
 * sized when it is attached, so after a resize it is re-attached and redrawn from the last view.
 */
export interface ChartLine {
  title: string
  y: number[]
  color: string
}

export interface ChartView {
  label: string
  x: string[]
  lines: ChartLine[]
  /** fixed top of the y axis (100 for percentages); otherwise the data's maximum + 20 % */
  maxY?: number
  hint?: string
}

export class LineChart {
  readonly element: contrib.LineElement
  private readonly hint: Widgets.BoxElement
  private readonly drawn = new Drawn()
  private last?: ChartView

  constructor(grid: contrib.grid, at: [number, number, number, number], label: string, theme: Theme) {
    this.element = grid.set(...at, contrib.line, {
      label: ` ${label} `,
      tags: true,
      showLegend: false,
      wholeNumbersOnly: false,
      xPadding: 3,
      xLabelPadding: 3,
      style: {line: theme.lines[0], text: 'green', baseline: 'normal', border: {fg: theme.border}},
      border: {type: 'line', fg: theme.border},
    } as contrib.LineOptions)
    this.hint = blessed.box({parent: this.element, top: 'center', left: 'center', width: '90%', height: 3, align: 'center', valign: 'middle', content: '', hidden: true, tags: false})
  }

  show(view: ChartView): boolean {
    if (!this.drawn.changed(view)) return false
    this.last = view
    this.draw(view)
    return true
  }

  relayout(): void {
    this.element.emit('attach')
    if (this.last) this.draw(this.last)
  }

  private draw(view: ChartView): void {
    const el = this.element
    el.setLabel(view.label)
    const height = typeof el.height === 'number' ? el.height : 10
    el.options.numYLabels = Math.max(2, Math.min(5, Math.floor((height - 3) / 2)))
    const max = Math.max(0, ...view.lines.flatMap((l) => l.y.filter(Number.isFinite)))
    // contrib draws every value two dots above its place, which on a short chart pushes the
    // largest values off the top: leave that much room (it divides by the range, so never 0)
    const plot = Math.max(1, el.canvasSize.height - 11)
    const headroom = plot > 5 ? 1 / (1 - 2.5 / plot) : 2
    el.options.maxY = max > 0 ? Math.max(view.maxY ?? max * 1.2, max * headroom) : (view.maxY ?? 1)
    const ctx = (el as unknown as {ctx?: PenContext}).ctx
    if (ctx) liftPenAtGaps(ctx)
    el.setData(view.lines.map((l) => ({title: l.title, x: view.x, y: l.y, style: {line: l.color}})))
    if (view.hint) {
      this.hint.setContent(view.hint)
      this.hint.show()
    } else this.hint.hide()
  }
}

/** X labels for chart slots: HH:MM, or HH:MM:SS for windows under 10 minutes. */
export function slotLabels(data: ChartData, view: ViewContext): string[] {
  const seconds = view.windowMs < 10 * 60_000
  return data.slots.map((t) => clockTime(t, seconds))
}

/** Missing values become NaN: {@link LineChart} leaves a gap there (never a drop to zero). */
export function withGaps(values: Array<number | null>, scale = 1): number[] {
  return values.map((v) => (v === null ? Number.NaN : v / scale))
}

/** The part of a canvas context contrib's line chart draws with. */
export interface PenContext {
  moveTo(x: number, y: number): void
  lineTo(x: number, y: number): void
}

const GAPS = Symbol('mon.gaps')

/**
 * contrib draws a series as one path of lineTo calls. Where a value is missing (NaN) this lifts
 * the pen: the NaN point is skipped and the next real one starts a new stroke, so a gap shows as
 * a gap. Patches the context once (contrib makes a new one when the chart is attached again).
 */
export function liftPenAtGaps(ctx: PenContext & {[GAPS]?: true}): void {
  if (ctx[GAPS]) return
  const lineTo = ctx.lineTo.bind(ctx)
  const moveTo = ctx.moveTo.bind(ctx)
  let penUp = false
  ctx.moveTo = (x, y) => {
    penUp = false
    moveTo(x, y)
  }
  ctx.lineTo = (x, y) => {
    if (!Number.isFinite(y)) penUp = true
    else if (penUp) {
      penUp = false
      moveTo(x, y)
    } else lineTo(x, y)
  }
  ctx[GAPS] = true
}
