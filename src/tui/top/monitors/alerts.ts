import type * as contrib from 'blessed-contrib'
import type {AlertView} from '../../../core/incidents/types.js'
import {formatAge, formatLabels} from '../format.js'
import type {Tone} from '../theme.js'
import type {Theme} from '../theme.js'
import {DataTable} from './table.js'
import {passes, type Monitor, type ViewContext} from './monitor.js'

/** Active alerts (firing, acknowledged, pending): severity-coloured, with who acknowledged them. */
export function severityTone(severity: string | null): {tone: Tone; bold: boolean; short: string} {
  switch (severity) {
    case 'critical':
    case 'page':
      return {tone: 'bad', bold: true, short: 'crit'}
    case 'error':
    case 'high':
      return {tone: 'bad', bold: false, short: severity.slice(0, 4)}
    case 'warning':
    case 'warn':
      return {tone: 'warn', bold: false, short: 'warn'}
    case 'info':
      return {tone: 'info', bold: false, short: 'info'}
    default:
      return {tone: 'plain', bold: false, short: (severity ?? '–').slice(0, 4)}
  }
}

export class AlertsMonitor implements Monitor<AlertView[]> {
  readonly table: DataTable

  constructor(grid: contrib.grid, at: [number, number, number, number], theme: Theme) {
    this.table = new DataTable(
      grid,
      at,
      'Alerts',
      [
        {title: 'Sev', width: 4},
        // the alert's name is what a person reads first: at 80×24 (a 40-wide panel) the labels
        // give up their room before names like DiskFilling are cut
        {title: 'Alert', width: 2, flex: true, min: 11},
        {title: 'Labels', width: 3, flex: true, min: 6},
        {title: 'Age', width: 6, align: 'right'},
        {title: 'Acked', width: 1, flex: true, min: 5},
      ],
      theme,
    )
  }

  get element() {
    return this.table.element
  }

  selectedFingerprint(): string | undefined {
    return this.table.selectedKey()
  }

  update(data: AlertView[], view: ViewContext, focused = false): boolean {
    const rows = data.filter((a) => passes(view.filter, a.alertname, formatLabels(a.labels), a.ackedBy ?? ''))
    const firing = rows.filter((a) => a.alertState === 'firing').length
    const acked = rows.filter((a) => a.state === 'acked').length
    const label = `${focused ? '▸ ' : ' '}Alerts ${firing} firing${acked > 0 ? `, ${acked} acked` : ''} `
    return this.table.show(
      label,
      rows.map((a) => {
        const sev = severityTone(a.severity)
        const name = a.state === 'pending' ? `${a.alertname} (pending)` : a.alertname
        return {
          key: a.fingerprint,
          cells: [sev.short, name, formatLabels(a.labels, ['alertname', 'severity']), formatAge(a.ageMs), a.ackedBy ?? (a.silencedBy.length > 0 ? 'silenced' : '')],
          // acknowledged alerts step back so the ones nobody owns stand out
          tone: a.state === 'acked' || a.state === 'pending' ? 'dim' : sev.tone,
          bold: a.state === 'firing' && sev.bold,
        }
      }),
      data.length === 0 ? 'no active alerts' : 'no alert matches the filter',
    )
  }

  relayout(): void {
    this.table.relayout()
  }
}
