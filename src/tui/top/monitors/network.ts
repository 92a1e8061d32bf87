import type * as contrib from 'blessed-contrib'
import type {Theme} from '../theme.js'
import {RateChartMonitor} from './rates.js'

/** Network receive/transmit rates: sum(rate(net.bytes_recv|bytes_sent)) over the host's interfaces. */
export function networkMonitor(grid: contrib.grid, at: [number, number, number, number], theme: Theme): RateChartMonitor {
  return new RateChartMonitor(grid, at, 'Network', [{name: 'rx', title: '↓ rx', symbol: '↓'}, {name: 'tx', title: '↑ tx', symbol: '↑'}], 'network metrics', theme)
}
