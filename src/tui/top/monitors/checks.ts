import type * as contrib from 'blessed-contrib'
import {formatLatency} from '../format.js'
import type {CheckRow} from '../source.js'
import type {Theme} from '../theme.js'
import {DataTable, type TableRow} from './table.js'
import {passes, type Monitor, type ViewContext} from './monitor.js'

/** HTTP and TCP checks (http_response, net_response, x509_cert): failing first, coloured by health. */
export const CERT_WARN_DAYS = 14

export function checkTone(c: CheckRow): TableRow['tone'] {
  if (!c.ok || (c.certDaysLeft !== undefined && c.certDaysLeft < 0)) return 'bad'
  if (c.certDaysLeft !== undefined && c.certDaysLeft < CERT_WARN_DAYS) return 'warn'
  return 'ok'
}

export class ChecksMonitor implements Monitor<CheckRow[]> {
  readonly table: DataTable

  constructor(grid: contrib.grid, at: [number, number, number, number], theme: Theme) {
    this.table = new DataTable(
      grid,
      at,
      'Checks',
      [
        {title: 'Target', width: 1, flex: true, min: 8},
        {title: 'Status', width: 11},
        {title: 'Latency', width: 7, align: 'right'},
        {title: 'Cert', width: 4, align: 'right'},
      ],
      theme,
    )
  }

  get element() {
    return this.table.element
  }

  update(data: CheckRow[], view: ViewContext, focused = false): boolean {
    const rows = data.filter((c) => passes(view.filter, c.target, c.status))
    const failing = rows.filter((c) => checkTone(c) === 'bad').length
    const label = `${focused ? '▸ ' : ' '}Checks ${rows.length}${failing > 0 ? `, ${failing} failing` : ''} `
    return this.table.show(
      label,
      rows.map((c) => ({
        key: `${c.kind}:${c.target}`,
        // the scheme says little in a narrow column (the Cert column tells https apart)
        cells: [c.target.replace(/^https?:\/\//, ''), c.status, formatLatency(c.latency), c.certDaysLeft === undefined ? '–' : `${Math.floor(c.certDaysLeft)}d`],
        tone: checkTone(c),
      })),
      data.length === 0 ? (view.outage ? 'no checks: waiting for the backend' : 'no http/tcp checks yet — configure inputs.http / inputs.tcp and run `mon collect`') : 'no check matches the filter',
    )
  }

  relayout(): void {
    this.table.relayout()
  }
}
