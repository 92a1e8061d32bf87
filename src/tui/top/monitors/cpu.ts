import type * as contrib from 'blessed-contrib'
import type {StoredEvent} from '../../../core/model/events.js'
import {clockTime, formatPercent} from '../format.js'
import type {ChartData} from '../series.js'
import type {Theme} from '../theme.js'
import {LineChart, slotLabels, withGaps} from './chart.js'
import {fitLabel, noDataHint, type Monitor, type ViewContext} from './monitor.js'

/** CPU busy % (100 − idle): the total, or one line per core after `c`. */
export class CpuMonitor implements Monitor<ChartData> {
  private readonly chart: LineChart

  constructor(
    grid: contrib.grid,
    at: [number, number, number, number],
    private readonly theme: Theme,
  ) {
    this.chart = new LineChart(grid, at, 'CPU', theme)
  }

  get element() {
    return this.chart.element
  }

  update(data: ChartData, view: ViewContext, events: StoredEvent[] = []): boolean {
    const t = this.theme
    const perCore = !data.series.some((s) => s.name === 'total')
    let variants: string[]
    if (perCore) {
      const busiest = Object.entries(data.latest).sort((a, b) => (b[1] ?? 0) - (a[1] ?? 0))[0]
      const top = busiest ? `${busiest[0]} ${t.tag(formatPercent(busiest[1]), 'warn', true)}` : '–'
      variants = [` CPU per core  busiest ${top}  (c: total) `, ` CPU per core  busiest ${top} `, ` CPU ${top} `]
    } else {
      const total = t.tag(formatPercent(data.latest.total), 'warn', true)
      variants = [` CPU ${total}  (c: per core) `, ` CPU ${total} `]
    }

    // the newest event of the window, as a marker in the title: ▲ 10:32 deploy v1.2
    const latest = events[events.length - 1]
    if (latest) {
      const marker = `${t.tag('▲', 'info', true)} ${clockTime(latest.ts, false)} ${latest.title.replace(/[{}]/g, '')}`
      const more = events.length > 1 ? ` (+${events.length - 1})` : ''
      variants = [...variants.map((v) => `${v.trimEnd()}  ${marker}${more} `), ...variants.map((v) => `${v.trimEnd()}  ${marker} `), ...variants]
    }

    const label = fitLabel(this.chart.element, variants)

    return this.chart.show({
      label,
      x: slotLabels(data, view),
      lines: data.series.map((s, i) => ({title: s.name, y: withGaps(s.values), color: t.lines[i % t.lines.length]!})),
      maxY: 100,
      hint: data.empty ? noDataHint('cpu metrics', view) : undefined,
    })
  }

  relayout(): void {
    this.chart.relayout()
  }
}
