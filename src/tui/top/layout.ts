import blessed from 'blessed'
import * as contrib from 'blessed-contrib'
import {AlertsMonitor} from './monitors/alerts.js'
import {BannerMonitor} from './monitors/banner.js'
import {ChecksMonitor} from './monitors/checks.js'
import {CpuMonitor} from './monitors/cpu.js'
import {diskIoMonitor} from './monitors/diskio.js'
import {DisksMonitor} from './monitors/disks.js'
import {HeaderMonitor, StatusMonitor} from './monitors/header.js'
import {HelpOverlay} from './monitors/help.js'
import {LoadMonitor} from './monitors/load.js'
import {MemoryMonitor} from './monitors/memory.js'
import {networkMonitor} from './monitors/network.js'
import type {RateChartMonitor} from './monitors/rates.js'
import type {Theme} from './theme.js'

/**
 * The whole screen in one place: a header line, a 12×12 contrib grid for the panels, a status
 * line, and the overlays (outage banner, help). Grid cells are percentages, so blessed lays them
 * out again on resize; at 80×24 every panel still has room for its content.
 *
 *   ┌ CPU ──────────────────┐┌ Network ──────────────┐   rows 0–3
 *   ├ Memory ┬ Disks ┬ Load ┬ Disk I/O ─────────────┤   rows 4–7
 *   ├ Checks ───────────────┤├ Alerts ───────────────┤   rows 8–11
 */
export interface Layout {
  screen: blessed.Widgets.Screen
  /** Puts every panel on whole cells of the current size (call after a resize, before drawing). */
  fit(): void
  header: HeaderMonitor
  status: StatusMonitor
  banner: BannerMonitor
  help: HelpOverlay
  cpu: CpuMonitor
  net: RateChartMonitor
  memory: MemoryMonitor
  disks: DisksMonitor
  load: LoadMonitor
  diskio: RateChartMonitor
  checks: ChecksMonitor
  alerts: AlertsMonitor
}

type Cell = [row: number, col: number, rowSpan: number, colSpan: number]
const GRID = 12
const CELLS = {
  cpu: [0, 0, 4, 6],
  net: [0, 6, 4, 6],
  memory: [4, 0, 4, 3],
  disks: [4, 3, 4, 3],
  load: [4, 6, 4, 3],
  diskio: [4, 9, 4, 3],
  checks: [8, 0, 4, 6],
  alerts: [8, 6, 4, 6],
} satisfies Record<string, Cell>

export function createLayout(screen: blessed.Widgets.Screen, theme: Theme): Layout {
  const header = new HeaderMonitor(screen, theme)
  const body = blessed.box({parent: screen, top: 1, left: 0, width: '100%', height: '100%-2'})
  const grid = new contrib.grid({rows: GRID, cols: GRID, screen: body, color: theme.border})
  const panels = {
    cpu: new CpuMonitor(grid, CELLS.cpu, theme),
    net: networkMonitor(grid, CELLS.net, theme),
    memory: new MemoryMonitor(grid, CELLS.memory, theme),
    disks: new DisksMonitor(grid, CELLS.disks, theme),
    load: new LoadMonitor(grid, CELLS.load, theme),
    diskio: diskIoMonitor(grid, CELLS.diskio, theme),
    checks: new ChecksMonitor(grid, CELLS.checks, theme),
    alerts: new AlertsMonitor(grid, CELLS.alerts, theme),
  }

  // The grid places panels in percentages, which blessed rounds down one by one: at some sizes
  // that leaves an empty line between rows. Snapping every edge to the same rounded grid line
  // makes neighbouring panels meet exactly.
  const fit = () => {
    const height = Math.max(GRID, Number(screen.height) - 2)
    const width = Math.max(GRID, Number(screen.width))
    const line = (i: number, size: number) => Math.round((i * size) / GRID)
    for (const [name, [row, col, rowSpan, colSpan]] of Object.entries(CELLS)) {
      const el = panels[name as keyof typeof panels].element
      el.top = line(row, height)
      el.height = line(row + rowSpan, height) - line(row, height)
      el.left = line(col, width)
      el.width = line(col + colSpan, width) - line(col, width)
    }
  }

  fit()
  return {
    screen,
    fit,
    header,
    ...panels,
    status: new StatusMonitor(screen, theme),
    banner: new BannerMonitor(screen),
    help: new HelpOverlay(screen),
  }
}
