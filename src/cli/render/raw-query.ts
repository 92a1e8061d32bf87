import type {RawQueryResult} from '../../core/store/influx/passthrough.js'
import {csvCell, formatNumber, renderTable} from './table.js'

/** `mon query --influxql/--flux`: one row per value row, name and tags first, InfluxDB's columns after. */
/** "no results" for an empty table (said on stderr; json and csv say it by their shape). */
export function emptyRawQueryNote(result: RawQueryResult, format: 'table' | 'csv' | 'json'): string | undefined {
  return format === 'table' && result.series.every((s) => s.values.length === 0) ? 'no results' : undefined
}

export function renderRawQueryResult(result: RawQueryResult, format: 'table' | 'csv' | 'json'): string {
  if (format === 'json') return JSON.stringify(result, null, 2)
  const tagKeys = [...new Set(result.series.flatMap((s) => Object.keys(s.tags)))].sort()
  const columns = [...new Set(result.series.flatMap((s) => s.columns))]
  const headers = ['name', ...tagKeys, ...columns]
  const rows: unknown[][] = []
  for (const s of result.series) {
    for (const v of s.values) {
      const byColumn = new Map(s.columns.map((c, i) => [c, v[i]]))
      rows.push([s.name, ...tagKeys.map((k) => s.tags[k] ?? ''), ...columns.map((c) => byColumn.get(c) ?? null)])
    }
  }

  const cell = (v: unknown): string => (v === null || v === undefined ? '' : typeof v === 'number' ? formatNumber(v) : String(v))
  if (format === 'csv') return [headers, ...rows].map((r) => r.map((v) => csvCell(v as string | number | boolean | null)).join(',')).join('\n')
  const right = headers.map((_, i) => i).filter((i) => i > tagKeys.length && rows.some((r) => typeof r[i] === 'number'))
  return renderTable(headers, rows.map((r) => r.map(cell)), {alignRight: right})
}
