import blessed from 'blessed'
import type * as contrib from 'blessed-contrib'
import {bar, formatBytes, padEnd, padStart} from '../format.js'
import type {DiskRow} from '../source.js'
import {escapeTags, type Theme} from '../theme.js'
import {usageTone} from './memory.js'
import {Drawn, innerSize, noDataHint, passes, type Monitor, type ViewContext} from './monitor.js'

/** Disk usage: a bar per mount point (disk.used_percent by path), fullest first when they do not fit. */
export class DisksMonitor implements Monitor<DiskRow[]> {
  readonly element: blessed.Widgets.BoxElement
  private readonly drawn = new Drawn()
  private last?: {data: DiskRow[]; view: ViewContext}

  constructor(
    grid: contrib.grid,
    at: [number, number, number, number],
    private readonly theme: Theme,
  ) {
    this.element = grid.set(...at, blessed.box, {label: ' Disks ', tags: true, border: {type: 'line', fg: theme.border}})
  }

  update(data: DiskRow[], view: ViewContext): boolean {
    const {width, height} = innerSize(this.element)
    const rows = data.filter((d) => passes(view.filter, d.path))
    if (!this.drawn.changed({rows, width, height, host: view.host, filtered: view.filter !== ''})) return false
    this.last = {data, view}
    const t = this.theme
    if (rows.length === 0) {
      this.element.setContent(t.tag(data.length === 0 ? noDataHint('disk metrics', view) : 'no mount matches the filter', 'dim'))
      return true
    }

    // keep mount order, but when they do not all fit show the fullest
    let shown = rows
    if (rows.length > height) {
      const keep = new Set([...rows].sort((a, b) => b.percent - a.percent).slice(0, Math.max(1, height - 1)))
      shown = rows.filter((r) => keep.has(r))
    }

    const pathWidth = Math.min(Math.max(...shown.map((r) => r.path.length), 4), Math.max(6, Math.floor(width / 3)))
    const lines = shown.map((r) => {
      const pct = padStart(`${r.percent.toFixed(0)}%`, 4)
      const size = r.total === undefined || width < 36 ? '' : ` ${padStart(formatBytes(r.total), 8)}`
      // one cell spare: blessed wraps a line that fills the box exactly
      const barWidth = Math.max(3, width - 1 - pathWidth - 1 - 1 - pct.length - size.length)
      return `${escapeTags(padEnd(r.path, pathWidth))} ${t.tag(bar(r.percent, barWidth), usageTone(r.percent))} ${t.tag(pct, usageTone(r.percent), true)}${size}`
    })
    if (shown.length < rows.length) lines.push(t.tag(`+${rows.length - shown.length} more (/ filters)`, 'dim'))
    this.element.setContent(lines.join('\n'))
    return true
  }

  relayout(): void {
    this.drawn.forget()
    if (this.last) this.update(this.last.data, this.last.view)
  }
}
