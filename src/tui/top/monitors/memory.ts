import blessed from 'blessed'
import type * as contrib from 'blessed-contrib'
import {bar, formatBytes, padStart} from '../format.js'
import type {MemoryData} from '../source.js'
import type {Theme, Tone} from '../theme.js'
import {Drawn, innerSize, noDataHint, type Monitor, type ViewContext} from './monitor.js'

/**
 * Memory and swap gauges. Drawn as one-line bars in a grid cell rather than contrib's gauge (which
 * needs six rows each), so both fit at 80×24.
 */
export function usageTone(percent: number | undefined): Tone {
  if (percent === undefined) return 'dim'
  return percent >= 90 ? 'bad' : percent >= 75 ? 'warn' : 'ok'
}

export class MemoryMonitor implements Monitor<MemoryData> {
  readonly element: blessed.Widgets.BoxElement
  private readonly drawn = new Drawn()
  private last?: {data: MemoryData; view: ViewContext}

  constructor(
    grid: contrib.grid,
    at: [number, number, number, number],
    private readonly theme: Theme,
  ) {
    this.element = grid.set(...at, blessed.box, {label: ' Memory ', tags: true, border: {type: 'line', fg: theme.border}})
  }

  update(data: MemoryData, view: ViewContext): boolean {
    const {width, height} = innerSize(this.element)
    if (!this.drawn.changed({data, width, height, host: view.host})) return false
    this.last = {data, view}
    const t = this.theme
    if (data.memPercent === undefined && data.swapPercent === undefined) {
      this.element.setContent(t.tag(noDataHint('memory metrics', view), 'dim'))
      return true
    }

    const row = (name: string, percent: number | undefined, total: number | undefined) => {
      const pct = padStart(percent === undefined ? '–' : `${percent.toFixed(1)}%`, 6)
      // one cell spare: blessed wraps a line that fills the box exactly
      const fixed = width - 1 - 5 - 1 - pct.length
      let size = total === undefined ? '' : `  ${formatBytes(total)}`
      if (fixed - size.length < 6) size = ''
      const barWidth = Math.max(3, fixed - size.length)
      return `${name.padEnd(5)}${t.tag(bar(percent, barWidth), usageTone(percent))} ${t.tag(pct, usageTone(percent), true)}${size}`
    }

    const noSwap = data.swapTotal === 0
    const lines = [row('Mem', data.memPercent, data.memTotal), noSwap ? `${'Swap'.padEnd(5)}${t.tag('none', 'dim')}` : row('Swap', data.swapPercent, data.swapTotal)]
    this.element.setContent(height >= 4 ? `\n${lines.join('\n\n')}` : lines.join('\n'))
    return true
  }

  relayout(): void {
    this.drawn.forget()
    if (this.last) this.update(this.last.data, this.last.view)
  }
}
