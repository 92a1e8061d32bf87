import type * as contrib from 'blessed-contrib'
import {formatRate, formatRateShort, rateScale} from '../format.js'
import type {ChartData} from '../series.js'
import type {Theme} from '../theme.js'
import {LineChart, slotLabels, withGaps} from './chart.js'
import {fitLabel, noDataHint, type Monitor, type ViewContext} from './monitor.js'

/**
 * A chart of byte rates (two series, e.g. rx/tx): the y axis in the unit that suits the largest
 * value, the current rates in the label in the colours of their lines.
 */
export interface RateSeries {
  name: string
  /** how the label names it: "↓ rx" */
  title: string
  /** and where there is little room: "↓" */
  symbol: string
}

export class RateChartMonitor implements Monitor<ChartData> {
  private readonly chart: LineChart

  constructor(
    grid: contrib.grid,
    at: [number, number, number, number],
    private readonly title: string,
    private readonly series: RateSeries[],
    private readonly what: string,
    private readonly theme: Theme,
  ) {
    this.chart = new LineChart(grid, at, title, theme)
  }

  get element() {
    return this.chart.element
  }

  update(data: ChartData, view: ViewContext): boolean {
    const t = this.theme
    const byName = new Map(data.series.map((s) => [s.name, s.values]))
    const max = Math.max(0, ...data.series.flatMap((s) => s.values.map((v) => v ?? 0)))
    const {unit, divisor} = rateScale(max)
    const colorOf = (i: number) => t.lines[(i + 1) % t.lines.length]!
    const paint = (text: string, i: number) => (t.color ? `{${colorOf(i)}-fg}${text}{/${colorOf(i)}-fg}` : text)
    const long = this.series.map((s, i) => paint(`${s.title} ${formatRate(data.latest[s.name])}`, i)).join('  ')
    const short = this.series.map((s, i) => paint(`${s.symbol}${formatRateShort(data.latest[s.name])}`, i)).join(' ')
    // the panel's name goes last: a narrow panel keeps its title and drops the numbers
    const label = fitLabel(this.chart.element, [` ${this.title} ${long}  (${unit}) `, ` ${this.title} ${short}  (${unit}) `, ` ${this.title} ${short} `, ` ${this.title} `])
    return this.chart.show({
      label,
      x: slotLabels(data, view),
      lines: this.series.map((s, i) => ({title: s.title, y: withGaps(byName.get(s.name) ?? data.slots.map(() => null), divisor), color: colorOf(i)})),
      hint: data.empty ? noDataHint(this.what, view) : undefined,
    })
  }

  relayout(): void {
    this.chart.relayout()
  }
}
