import type * as contrib from 'blessed-contrib'
import type {Theme} from '../theme.js'
import {RateChartMonitor} from './rates.js'

/** Disk I/O: sum(rate(diskio.read_bytes|write_bytes)) over the host's devices. */
export function diskIoMonitor(grid: contrib.grid, at: [number, number, number, number], theme: Theme): RateChartMonitor {
  return new RateChartMonitor(grid, at, 'Disk I/O', [{name: 'read', title: 'read', symbol: 'R'}, {name: 'write', title: 'write', symbol: 'W'}], 'disk I/O metrics', theme)
}
