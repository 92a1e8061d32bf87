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

/**
 * The same panels over Prometheus' node_exporter names (a Prometheus or VictoriaMetrics store, or
 * node_exporter pages scraped into any store): the host is the `instance` label. The check panels
 * stay empty: node_exporter has no HTTP/TCP/certificate checks.
 */
export function nodeExporterQueries(instance: string, opts: {perCore: boolean; every: number}): PanelQueries {
  const h = `instance=${JSON.stringify(instance)}`
  const w = formatDuration(opts.every)
  const w2 = formatDuration(2 * opts.every)
  const idle = `irate(node_cpu_seconds_total{${h}, mode="idle"}[${w2}])`
  const fs = `${h}, fstype!~"tmpfs|devtmpfs|overlay|squashfs|nsfs|proc|sysfs|cgroup2?|autofs|fuse\\..*|ramfs|tracefs|debugfs|securityfs|pstore|bpf|configfs|mqueue|hugetlbfs|rpc_pipefs|binfmt_misc"`
  const byPath = (e: string) => `label_replace(${e}, "path", "$1", "mountpoint", "(.*)")`
  const none = 'vector(0) > 1'
  return {
    cpu: opts.perCore ? [{name: 'cpu', splitBy: 'cpu', text: `100 * (1 - avg by (cpu) (${idle}))`}] : [{name: 'total', text: `100 * (1 - avg(${idle}))`}],
    net: [
      {name: 'rx', text: `sum(irate(node_network_receive_bytes_total{${h}, device!="lo"}[${w2}]))`},
      {name: 'tx', text: `sum(irate(node_network_transmit_bytes_total{${h}, device!="lo"}[${w2}]))`},
    ],
    diskio: [
      {name: 'read', text: `sum(irate(node_disk_read_bytes_total{${h}}[${w2}]))`},
      {name: 'write', text: `sum(irate(node_disk_written_bytes_total{${h}}[${w2}]))`},
    ],
    load: ['1', '5', '15'].map((n) => ({name: `load${n}`, text: `last(node_load${n}{${h}}[${w}])`})),
    memPercent: `100 * (1 - last(node_memory_MemAvailable_bytes{${h}}) / last(node_memory_MemTotal_bytes{${h}}))`,
    memTotal: `last(node_memory_MemTotal_bytes{${h}})`,
    swapPercent: `100 * (1 - last(node_memory_SwapFree_bytes{${h}}) / (last(node_memory_SwapTotal_bytes{${h}}) > 0))`,
    swapTotal: `last(node_memory_SwapTotal_bytes{${h}})`,
    diskPercent: byPath(`100 * (1 - last(node_filesystem_avail_bytes{${fs}}) by (mountpoint) / last(node_filesystem_size_bytes{${fs}}) by (mountpoint))`),
    diskTotal: byPath(`last(node_filesystem_size_bytes{${fs}}) by (mountpoint)`),
    httpResult: none,
    httpTime: none,
    httpStatus: none,
    tcpResult: none,
    tcpTime: none,
    certDays: none,
    lastSeen: `node_load1{${h}}`,
  }
}

/** Which names the panels read: Telegraf's (mon collect, Telegraf into InfluxDB) or node_exporter's. */
export interface PanelSet {
  name: 'telegraf' | 'node_exporter'
  queries(host: string, opts: {perCore: boolean; every: number}): PanelQueries
  /** where the host list comes from: these measurements' values of this tag */
  hostTag: string
  hostMeasurements: readonly string[]
}

export const PANEL_SETS: Readonly<Record<PanelSet['name'], PanelSet>> = {
  telegraf: {name: 'telegraf', queries: panelQueries, hostTag: 'host', hostMeasurements: HOST_MEASUREMENTS},
  node_exporter: {name: 'node_exporter', queries: nodeExporterQueries, hostTag: 'instance', hostMeasurements: ['node_load1']},
}
