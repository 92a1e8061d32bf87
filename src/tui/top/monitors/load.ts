import blessed, {type Widgets} from 'blessed'
import * as contrib from 'blessed-contrib'
import type {ChartData} from '../series.js'
import type {Theme} from '../theme.js'
import {Drawn, innerSize, noDataHint, type Monitor, type ViewContext} from './monitor.js'

/** Load average: a sparkline of load1 over the window, with the latest load1/5/15 as its title. */
export class LoadMonitor implements Monitor<ChartData> {
  readonly element: contrib.SparklineElement
  private readonly hint: Widgets.BoxElement
  private readonly drawn = new Drawn()
  private last?: {data: ChartData; view: ViewContext}

  constructor(
    grid: contrib.grid,
    at: [number, number, number, number],
    theme: Theme,
  ) {
    this.element = grid.set(...at, contrib.sparkline, {label: ' Load ', tags: true, style: {fg: theme.lines[1], titleFg: 'white'}, border: {type: 'line', fg: theme.border}})
    this.hint = blessed.box({parent: this.element, top: 'center', left: 'center', width: '90%', height: 3, align: 'center', valign: 'middle', content: '', hidden: true})
  }

  update(data: ChartData, view: ViewContext): boolean {
    const {width} = innerSize(this.element)
    const values = (data.series.find((s) => s.name === 'load1')?.values ?? []).map((v) => v ?? 0).slice(-Math.max(1, width))
    const n = (name: string) => {
      const v = data.latest[name]
      return v === undefined ? '–' : v.toFixed(2)
    }

    const title = width >= 34 ? `load1 ${n('load1')}  load5 ${n('load5')}  load15 ${n('load15')}` : width >= 22 ? `1m ${n('load1')} 5m ${n('load5')} 15m ${n('load15')}` : `${n('load1')} ${n('load5')} ${n('load15')}`
    const hint = data.empty ? noDataHint('load', view) : undefined
    if (!this.drawn.changed({values, title, hint, width})) return false
    this.last = {data, view}
    // the sparkline module works in integers: hundredths keep the shape of loads below 1
    this.element.setData([title], [values.map((v) => Math.round(v * 100))])
    if (hint) {
      this.hint.setContent(hint)
      this.hint.show()
    } else this.hint.hide()
    return true
  }

  relayout(): void {
    this.drawn.forget()
    if (this.last) this.update(this.last.data, this.last.view)
  }
}
