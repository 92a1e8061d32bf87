/**
 * The parts of blessed-contrib (4.x, no bundled types) that `mon top` uses. Widgets are blessed
 * boxes; the canvas-based ones (line) draw on a drawille canvas sized when attached.
 */
declare module 'blessed-contrib' {
  import type {Widgets} from 'blessed'

  type WidgetOptions = Omit<Widgets.BoxOptions, 'style'> & {style?: Record<string, unknown>}

  export interface GridOptions {
    rows: number
    cols: number
    /** any blessed node with append(): the screen, or a box to lay the grid out inside */
    screen: Widgets.Node
    hideBorder?: boolean
    /** border colour */
    color?: string
    dashboardMargin?: number
  }

  export class grid {
    constructor(opts: GridOptions)
    set<T extends Widgets.BlessedElement>(row: number, col: number, rowSpan: number, colSpan: number, factory: (opts: never) => T, opts: object): T
  }

  export interface LineSeries {
    title: string
    x: string[]
    y: number[]
    style?: {line?: string | number | number[]}
  }

  export interface LineOptions extends WidgetOptions {
    maxY?: number
    minY?: number
    showLegend?: boolean
    legend?: {width?: number}
    wholeNumbersOnly?: boolean
    xLabelPadding?: number
    xPadding?: number
    numYLabels?: number
    showNthLabel?: number
    abbreviate?: boolean
  }

  export interface LineElement extends Widgets.BoxElement {
    options: LineOptions
    canvasSize: {width: number; height: number}
    setData(data: LineSeries[]): void
  }

  export interface TableOptions extends WidgetOptions {
    columnWidth: number[]
    columnSpacing?: number
    keys?: boolean
    vi?: boolean
    interactive?: boolean
    fg?: string
    bg?: string
    selectedFg?: string
    selectedBg?: string
  }

  export interface TableElement extends Widgets.BoxElement {
    options: TableOptions
    /** the list of data rows (the header is the table's own content) */
    rows: Widgets.ListElement & {selected: number}
    setData(table: {headers: string[]; data: string[][]}): void
  }

  export interface SparklineElement extends Widgets.BoxElement {
    setData(titles: string[], datasets: number[][]): void
  }

  export function line(opts: LineOptions): LineElement
  export function table(opts: TableOptions): TableElement
  export function sparkline(opts: WidgetOptions): SparklineElement
}
