import type {QueryResult} from '../../core/query/run.js'
import {renderChart, type ChartMarker} from './chart.js'
import {csvCell, formatNumber, renderTable} from './table.js'

export type QueryFormat = 'table' | 'json' | 'csv' | 'chart'

function tagKeys(result: QueryResult): string[] {
  return [...new Set(result.series.flatMap((s) => Object.keys(s.tags)))].sort()
}

/** One row per value: time, name (when a series has one), one column per tag key, the value column(s). */
function flatRows(result: QueryResult): {headers: string[]; rows: Array<Array<string | number | boolean | null>>} {
  const keys = tagKeys(result)
  const named = hasNames(result)
  const found = [...new Set(result.series.flatMap((s) => s.columns.slice(1)))]
  const valueCols = found.length > 0 ? found : ['value']
  const headers = ['time', ...(named ? ['name'] : []), ...keys, ...valueCols]
  const rows: Array<Array<string | number | boolean | null>> = []
  for (const s of result.series) {
    for (const v of s.values) {
      const byCol = new Map(s.columns.slice(1).map((c, i) => [c, v[i + 1]]))
      rows.push([v[0], ...(named ? [s.name] : []), ...keys.map((k) => s.tags[k] ?? ''), ...valueCols.map((c) => byCol.get(c) ?? null)])
    }
  }

  return {headers, rows}
}

/** Aggregations and functions drop the metric name; a table of only those has no name column. */
function hasNames(result: QueryResult): boolean {
  return result.series.some((s) => s.name !== '')
}

/**
 * What says "nothing found" (on stderr, so stdout holds only data): for a table or chart with no
 * values; undefined when there is data, or for json and csv, whose shape (an empty list, a header
 * row) says it on stdout.
 */
export function emptyQueryNote(result: QueryResult, format: QueryFormat): string | undefined {
  if (format === 'json' || format === 'csv') return undefined
  return result.series.every((s) => s.values.length === 0) ? (result.type === 'instant' ? `no data at ${result.end} (an instant query looks back 5m unless --lookback says otherwise; add --since for a range)` : 'no data in this range') : undefined
}

/** The result as a table, CSV, JSON or a terminal chart (one line per series; events as markers). */
export function renderQueryResult(result: QueryResult, format: QueryFormat, opts: {markers?: ChartMarker[]} = {}): string {
  if (format === 'json') return JSON.stringify(result, null, 2)
  const {headers, rows} = flatRows(result)
  if (format === 'csv') return [headers, ...rows].map((r) => r.map(csvCell).join(',')).join('\n')
  if (format === 'chart') {
    const label = (s: QueryResult['series'][number]) => {
      const tags = Object.entries(s.tags).map(([k, v]) => `${k}=${v}`)
      return `${s.name}${tags.length > 0 || s.name === '' ? `{${tags.join(',')}}` : ''}`
    }

    return renderChart(
      result.series.map((s) => ({label: label(s), points: s.values.filter((v) => typeof v[1] === 'number').map((v) => [Date.parse(v[0] as string), v[1] as number])})),
      {title: result.query, markers: opts.markers},
    )
  }

  const cell = (v: string | number | boolean | null) => (v === null ? '' : typeof v === 'number' ? formatNumber(v) : String(v))
  const firstValue = (hasNames(result) ? 2 : 1) + tagKeys(result).length
  const right = headers.map((_, i) => i).filter((i) => i >= firstValue)
  return renderTable(headers, rows.map((r) => r.map(cell)), {alignRight: right})
}
