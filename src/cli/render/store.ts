import {formatBytes} from '../../core/format.js'
import type {StoreInfo} from '../../core/store/types.js'
import {renderTable} from './table.js'

/**
 * How each backend's `details` read in `mon store info`: a label people understand and the value in
 * human units (sizes as sizes). `--json` keeps the keys as they are.
 */
const DETAIL_LABELS: Record<string, {label: string; format?: (v: unknown) => string}> = {
  liveBytes: {label: 'data size (live pages)', format: (v) => formatBytes(Number(v))},
  chunks: {label: 'compressed chunks'},
  headRows: {label: 'points not yet compacted', format: (v) => `${String(v)} (mon store compact folds them into chunks)`},
  fields: {label: 'fields'},
  server: {label: 'server version'},
  api: {label: 'API'},
  measurements: {label: 'measurements'},
  precision: {label: 'write precision'},
  gzip: {label: 'gzip on write', format: (v) => (v ? 'yes' : 'no')},
}

/** `someKey` → `some key`, for a detail a backend adds before it gets a label here. */
function words(key: string): string {
  return key.replace(/([a-z0-9])([A-Z])/g, '$1 $2').replace(/_/g, ' ').toLowerCase()
}

export function renderStoreInfo(info: StoreInfo): string {
  const time = (t?: number) => (t === undefined ? '-' : new Date(t).toISOString())
  const rows: string[][] = [
    ['backend', info.backend],
    ['location', info.location],
    ['series', String(info.series ?? '-')],
    ['points', info.points === undefined ? (info.backend === 'influxdb' ? '- (--count to count them)' : '-') : String(info.points)],
    ['oldest', time(info.oldest)],
    ['newest', time(info.newest)],
    ['size on disk', info.bytesOnDisk === undefined ? '-' : formatBytes(info.bytesOnDisk)],
    ['bytes per point', info.bytesPerPoint === undefined ? '-' : `${info.bytesPerPoint.toFixed(2)} B`],
    ...Object.entries(info.details ?? {}).map(([key, value]) => {
      const known = DETAIL_LABELS[key]
      return [known?.label ?? words(key), known?.format ? known.format(value) : String(value)]
    }),
  ]
  return renderTable(['', ''], rows).split('\n').slice(1).join('\n')
}
