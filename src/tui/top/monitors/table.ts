import blessed, {type Widgets} from 'blessed'
import * as contrib from 'blessed-contrib'
import {padEnd, padStart} from '../format.js'
import type {Theme} from '../theme.js'
import {Drawn} from './monitor.js'

/**
 * A blessed-contrib table whose column widths follow the panel's width (a flexible column takes
 * what the fixed ones leave), which keeps its selection on the same row (by key) when the data
 * changes, and which shows a hint instead of an empty list.
 */
export interface Column {
  title: string
  /** a fixed width, or the share of the remaining width */
  width: number
  flex?: boolean
  min?: number
  align?: 'left' | 'right'
}

export interface TableRow {
  key: string
  /** cell texts, plain (colour is applied per row by `tone`) */
  cells: string[]
  tone: Parameters<Theme['ansi']>[1]
  bold?: boolean
}

const SPACING = 1

export class DataTable {
  readonly element: contrib.TableElement
  private readonly hint: Widgets.BoxElement
  private readonly drawn = new Drawn()
  private keys: string[] = []
  private last?: {rows: TableRow[]; hint?: string; label: string}

  constructor(
    grid: contrib.grid,
    at: [number, number, number, number],
    label: string,
    private readonly columns: Column[],
    private readonly theme: Theme,
  ) {
    this.element = grid.set(...at, contrib.table, {
      label: ` ${label} `,
      keys: true,
      interactive: true,
      fg: 'white',
      selectedFg: 'white',
      selectedBg: 'blue',
      columnSpacing: 0,
      columnWidth: [40],
      border: {type: 'line', fg: theme.border},
    } as contrib.TableOptions)
    this.hint = blessed.box({parent: this.element, top: 2, left: 1, width: '100%-4', height: 3, content: '', hidden: true, wrap: true})
  }

  /**
   * The focused table has a yellow border and a highlighted selection; the other shows no
   * selection, so it is clear which table the arrow keys and `a`/`s` act on.
   */
  setFocused(focused: boolean): void {
    const el = this.element
    const style = el.style as {border?: {fg?: string}}
    style.border = {...style.border, fg: focused ? this.theme.focusBorder : this.theme.border}
    const rows = el.rows.style as {selected?: Record<string, unknown>}
    rows.selected = focused ? {fg: 'white', bg: 'blue', bold: true} : {}
    if (focused) el.focus()
  }

  /** The key of the selected row, if any. */
  selectedKey(): string | undefined {
    return this.keys[this.element.rows.selected]
  }

  show(label: string, rows: TableRow[], hint?: string): boolean {
    const widths = this.widths()
    if (!this.drawn.changed({label, rows, hint, widths})) return false
    this.last = {rows, hint, label}
    this.draw(widths)
    return true
  }

  relayout(): void {
    this.drawn.forget()
    if (this.last) this.show(this.last.label, this.last.rows, this.last.hint)
  }

  private widths(): number[] {
    const width = typeof this.element.width === 'number' ? this.element.width : 40
    // border (2) + the list's own inset (1) + a spare cell
    const available = Math.max(10, width - 4 - SPACING * (this.columns.length - 1))
    const fixed = this.columns.filter((c) => !c.flex).reduce((n, c) => n + c.width, 0)
    const flexShare = this.columns.filter((c) => c.flex).reduce((n, c) => n + c.width, 0)
    let left = available - fixed
    const out = this.columns.map((c) => {
      if (!c.flex) return c.width
      const w = Math.max(c.min ?? 4, Math.floor((left * c.width) / flexShare))
      return w
    })
    // too narrow: the widest flexible columns give up what they hold above their minimum first
    let over = out.reduce((a, b) => a + b, 0) - available
    while (over > 0) {
      const widest = out.reduce((best, w, i) => (this.columns[i]!.flex && w > (this.columns[i]!.min ?? 4) && (best < 0 || w > out[best]!) ? i : best), -1)
      if (widest < 0) break
      out[widest]!--
      over--
    }

    // still too narrow for the fixed columns: shrink from the last column to fit
    const total = out.reduce((a, b) => a + b, 0)
    if (total > available) {
      left = total - available
      for (let i = out.length - 1; i >= 0 && left > 0; i--) {
        const cut = Math.min(left, out[i]! - 1)
        out[i]! -= cut
        left -= cut
      }
    }

    return out
  }

  private draw(widths: number[]): void {
    const {rows, hint, label} = this.last!
    const el = this.element
    const before = this.selectedKey()
    el.setLabel(label)
    // rows are laid out here (contrib pads by columnWidth but cannot shrink a column to fit)
    const line = (cells: string[]) => cells.map((text, i) => (this.columns[i]!.align === 'right' ? padStart(text, widths[i]!) : padEnd(text, widths[i]!))).join(' '.repeat(SPACING))
    el.options.columnWidth = [widths.reduce((a, b) => a + b, 0) + SPACING * (widths.length - 1) + 1]
    el.setData({
      // the rows list sits one cell in from the header
      headers: [` ${line(this.columns.map((c) => c.title))}`],
      data: rows.map((r) => [this.theme.ansi(line(r.cells), r.tone, r.bold)]),
    })
    this.keys = rows.map((r) => r.key)
    const again = before === undefined ? -1 : this.keys.indexOf(before)
    if (again >= 0) el.rows.select(again)
    if (hint && rows.length === 0) {
      this.hint.setContent(hint)
      this.hint.show()
    } else this.hint.hide()
  }
}
