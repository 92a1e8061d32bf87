/**
 * What each panel asks the store, as expressions of the query language (docs/query.md), so the
 * dashboard works the same on every backend. Field names are Telegraf's (docs/host-metrics.md,
 * docs/collectors.md). Every selector is narrowed to the chosen host.
 */
import {formatDuration} from '../../core/query/eval/format.js'

export interface ChartQuery {
  /** series name in the chart (or, with `splitBy`, the tag whose value names each series) */
  name: string
  text: string
  splitBy?: string
}

export interface PanelQueries {
  cpu: ChartQuery[]
  net: ChartQuery[]
  diskio: ChartQuery[]
  load: ChartQuery[]
  memPercent: string
  memTotal: string
  swapPercent: string
  swapTotal: string
  diskPercent: string
  diskTotal: string
  httpResult: string
  httpTime: string
  httpStatus: string
  tcpResult: string
  tcpTime: string
  certDays: string
  /** the host's newest point, as an instant selection (its time is the point's): load1 comes with every host run */
  lastSeen: string
}

/** `host="web-01"`, quoted and escaped as the lexer reads strings. */
export function hostMatcher(host: string): string {
  return `host=${JSON.stringify(host)}`
}

/**
 * Charts are range queries at one step per bucket (source.ts): a bucket's value is its window's
 * mean or last point, a rate is irate() over the bucket and the one before it, as the rate of a
 * bucket's last value against the previous bucket's.
 */
export function panelQueries(host: string, opts: {perCore: boolean; every: number}): PanelQueries {
  const h = hostMatcher(host)
  const w = formatDuration(opts.every)
  const w2 = formatDuration(2 * opts.every)
  return {
    // busy = 100 − idle, as top and Glances show it (iowait, steal … count as busy)
    cpu: opts.perCore
      ? [{name: 'cpu', splitBy: 'cpu', text: `100 - mean(cpu.usage_idle{${h}, cpu!="cpu-total"}[${w}]) by cpu`}]
      : [{name: 'total', text: `100 - mean(cpu.usage_idle{${h}, cpu="cpu-total"}[${w}])`}],
    net: [
      {name: 'rx', text: `sum(irate(net.bytes_recv{${h}, interface!="lo", interface!="all"}[${w2}]))`},
      {name: 'tx', text: `sum(irate(net.bytes_sent{${h}, interface!="lo", interface!="all"}[${w2}]))`},
    ],
    diskio: [
      {name: 'read', text: `sum(irate(diskio.read_bytes{${h}}[${w2}]))`},
      {name: 'write', text: `sum(irate(diskio.write_bytes{${h}}[${w2}]))`},
    ],
    load: [
      {name: 'load1', text: `last(system.load1{${h}}[${w}])`},
      {name: 'load5', text: `last(system.load5{${h}}[${w}])`},
      {name: 'load15', text: `last(system.load15{${h}}[${w}])`},
    ],
    memPercent: `last(mem.used_percent{${h}})`,
    lastSeen: `system.load1{${h}}`,
    memTotal: `last(mem.total{${h}})`,
    swapPercent: `last(swap.used_percent{${h}})`,
    swapTotal: `last(swap.total{${h}})`,
    diskPercent: `last(disk.used_percent{${h}}) by path`,
    diskTotal: `last(disk.total{${h}}) by path`,
    httpResult: `last(http_response.result_code{${h}}) by server`,
    httpTime: `last(http_response.response_time{${h}}) by server`,
    httpStatus: `last(http_response.http_response_code{${h}}) by server`,
    tcpResult: `last(net_response.result_code{${h}}) by (server, port)`,
    tcpTime: `last(net_response.response_time{${h}}) by (server, port)`,
    certDays: `last(x509_cert.days_left{${h}}) by source`,
  }
}

/** Measurements whose `host` tag values make the host list of the `h` key. */
export const HOST_MEASUREMENTS = ['cpu', 'mem', 'system', 'disk', 'net', 'http_response', 'net_response'] as const
