/**
 * The dashboards `mon grafana export` writes, as one table: each dashboard's panels with their
 * InfluxQL (raw queries, in the shapes Grafana's InfluxDB query builder writes: `$timeFilter`,
 * `time($__interval)`, `"host" =~ /^$host$/`), its template variables and its annotations.
 * dashboards.ts turns this into Grafana's JSON; the integration test sends every query below to a
 * daemon on a collected host.
 *
 * Names are mon's, which are Telegraf's: the host input's cpu, mem, disk, diskio, net, system,
 * kernel and processes (src/core/collectors/host.ts), the checks' http_response, net_response and
 * x509_cert (collectors/http.ts, tcp.ts), the rule engine's `alerts` series (alerting/engine.ts:
 * value 1 pending/firing, 0 after, tag alertstate) and the `events` measurement (model/events.ts).
 */

export type PanelType = 'timeseries' | 'stat' | 'table'

export interface TargetSpec {
  query: string
  /** Grafana's alias (legend), `$tag_path` style; not part of the InfluxQL */
  alias?: string
}

export interface PanelSpec {
  title: string
  type: PanelType
  description?: string
  /** Grafana unit id: percent, bytes, Bps, s, short … */
  unit?: string
  /** grid width of 24; default stat 6, timeseries 12, table 24 */
  width?: number
  targets: TargetSpec[]
}

export interface VariableSpec {
  name: string
  label: string
  query: string
}

export interface AnnotationSpec {
  name: string
  query: string
  color: string
  titleColumn?: string
  textColumn?: string
}

export interface DashboardSpec {
  uid: string
  title: string
  /** file name under dashboards/ */
  file: string
  description: string
  variables: VariableSpec[]
  annotations: AnnotationSpec[]
  panels: PanelSpec[]
}

const HOST = `"host" =~ /^$host$/`
const EVERY = `GROUP BY time($__interval)`

/** `SELECT <select> FROM "<m>" WHERE <where…> AND $timeFilter <group>` */
function q(select: string, from: string, where: string[], group = `${EVERY} fill(null)`): string {
  const conditions = [...where, '$timeFilter'].join(' AND ')
  return `SELECT ${select} FROM "${from}" WHERE ${conditions}${group ? ` ${group}` : ''}`
}

const mean = (field: string) => `mean("${field}")`
const rate = (field: string) => `non_negative_derivative(mean("${field}"), 1s)`
const lastOf = (field: string) => `last("${field}")`

const HOST_VARIABLE: VariableSpec = {name: 'host', label: 'Host', query: 'SHOW TAG VALUES FROM "system" WITH KEY = "host"'}

const EVENTS_ANNOTATION: AnnotationSpec = {name: 'Events', query: `SELECT "title", "text" FROM "events" WHERE $timeFilter`, color: 'rgba(0, 211, 255, 1)', titleColumn: 'title', textColumn: 'text'}

export const DASHBOARDS: DashboardSpec[] = [
  {
    uid: 'mon-host',
    title: 'mon / Host',
    file: 'mon-host.json',
    description: "One host's CPU, memory, disks, network, load, kernel and processes (mon's host input, Telegraf's names).",
    variables: [HOST_VARIABLE],
    annotations: [EVENTS_ANNOTATION],
    panels: [
      {title: 'CPU busy', type: 'stat', unit: 'percent', targets: [{query: q(`100 - ${lastOf('usage_idle')}`, 'cpu', [HOST, `"cpu" = 'cpu-total'`], '')}]},
      {title: 'Memory used', type: 'stat', unit: 'percent', targets: [{query: q(lastOf('used_percent'), 'mem', [HOST], '')}]},
      {title: 'Load (1 min)', type: 'stat', unit: 'short', targets: [{query: q(lastOf('load1'), 'system', [HOST], '')}]},
      {title: 'Uptime', type: 'stat', unit: 's', targets: [{query: q(lastOf('uptime'), 'system', [HOST], '')}]},
      {
        title: 'CPU',
        type: 'timeseries',
        unit: 'percent',
        targets: ['usage_user', 'usage_system', 'usage_iowait', 'usage_steal'].map((f) => ({query: q(mean(f), 'cpu', [HOST, `"cpu" = 'cpu-total'`]), alias: f.replace('usage_', '')})),
      },
      {
        title: 'Memory',
        type: 'timeseries',
        unit: 'bytes',
        targets: ['used', 'available', 'cached', 'buffered'].map((f) => ({query: q(mean(f), 'mem', [HOST]), alias: f})),
      },
      {title: 'Disk used', type: 'timeseries', unit: 'percent', targets: [{query: q(mean('used_percent'), 'disk', [HOST], `${EVERY}, "path" fill(null)`), alias: '$tag_path'}]},
      {
        title: 'Disk I/O',
        type: 'timeseries',
        unit: 'Bps',
        targets: [
          {query: q(rate('read_bytes'), 'diskio', [HOST], `${EVERY}, "name" fill(null)`), alias: '$tag_name read'},
          {query: q(rate('write_bytes'), 'diskio', [HOST], `${EVERY}, "name" fill(null)`), alias: '$tag_name write'},
        ],
      },
      {
        title: 'Network',
        type: 'timeseries',
        unit: 'Bps',
        targets: [
          {query: q(rate('bytes_recv'), 'net', [HOST, `"interface" != 'all'`], `${EVERY}, "interface" fill(null)`), alias: '$tag_interface in'},
          {query: q(rate('bytes_sent'), 'net', [HOST, `"interface" != 'all'`], `${EVERY}, "interface" fill(null)`), alias: '$tag_interface out'},
        ],
      },
      {title: 'Load', type: 'timeseries', unit: 'short', targets: ['load1', 'load5', 'load15'].map((f) => ({query: q(mean(f), 'system', [HOST]), alias: f}))},
      {
        title: 'Context switches and interrupts',
        type: 'timeseries',
        unit: 'ops',
        targets: ['context_switches', 'interrupts'].map((f) => ({query: q(rate(f), 'kernel', [HOST]), alias: f.replace('_', ' ')})),
      },
      {
        title: 'Processes',
        type: 'timeseries',
        unit: 'short',
        targets: ['running', 'sleeping', 'blocked', 'zombies'].map((f) => ({query: q(mean(f), 'processes', [HOST]), alias: f})),
      },
      {
        title: 'Filesystems',
        type: 'table',
        targets: [{query: q(`${lastOf('used_percent')} AS "used %", ${lastOf('free')} AS "free", ${lastOf('total')} AS "total"`, 'disk', [HOST], 'GROUP BY "path", "fstype"')}],
      },
    ],
  },
  {
    uid: 'mon-checks',
    title: 'mon / Checks',
    file: 'mon-checks.json',
    description: "mon's HTTP, TCP and certificate checks (http_response, net_response, x509_cert).",
    variables: [HOST_VARIABLE],
    annotations: [EVENTS_ANNOTATION],
    panels: [
      {title: 'HTTP result (0 = ok)', type: 'stat', unit: 'short', targets: [{query: q(lastOf('result_code'), 'http_response', [HOST], 'GROUP BY "server"'), alias: '$tag_server'}]},
      {title: 'TCP result (0 = ok)', type: 'stat', unit: 'short', targets: [{query: q(lastOf('result_code'), 'net_response', [HOST], 'GROUP BY "server", "port"'), alias: '$tag_server:$tag_port'}]},
      {title: 'Certificate days left', type: 'stat', unit: 'd', targets: [{query: q(`min("days_left")`, 'x509_cert', [HOST], 'GROUP BY "source"'), alias: '$tag_source'}]},
      {title: 'HTTP response time', type: 'timeseries', unit: 's', targets: [{query: q(mean('response_time'), 'http_response', [HOST], `${EVERY}, "server" fill(null)`), alias: '$tag_server'}]},
      {title: 'HTTP result code', type: 'timeseries', unit: 'short', targets: [{query: q(`max("result_code")`, 'http_response', [HOST], `${EVERY}, "server" fill(null)`), alias: '$tag_server'}]},
      {title: 'TCP response time', type: 'timeseries', unit: 's', targets: [{query: q(mean('response_time'), 'net_response', [HOST], `${EVERY}, "server", "port" fill(null)`), alias: '$tag_server:$tag_port'}]},
      {title: 'TCP result code', type: 'timeseries', unit: 'short', targets: [{query: q(`max("result_code")`, 'net_response', [HOST], `${EVERY}, "server", "port" fill(null)`), alias: '$tag_server:$tag_port'}]},
      {
        title: 'HTTP checks',
        type: 'table',
        targets: [{query: q(`${lastOf('result_code')} AS "result code", ${lastOf('http_response_code')} AS "status", ${lastOf('response_time')} AS "response time"`, 'http_response', [HOST], 'GROUP BY "server"')}],
      },
      {
        title: 'Certificates',
        type: 'table',
        targets: [{query: q(`${lastOf('days_left')} AS "days left", ${lastOf('verification_code')} AS "verification"`, 'x509_cert', [HOST], 'GROUP BY "source", "common_name"')}],
      },
    ],
  },
  {
    uid: 'mon-alerts',
    title: 'mon / Alerts',
    file: 'mon-alerts.json',
    description: "The rule engine's alert transitions (the `alerts` series: value 1 pending or firing, 0 resolved) with alert events as annotations.",
    variables: [],
    annotations: [{...EVENTS_ANNOTATION, name: 'Alert events', query: `SELECT "title", "text" FROM "events" WHERE "source" = 'alerts' AND $timeFilter`, color: 'red'}],
    panels: [
      {title: 'Firing transitions', type: 'stat', unit: 'short', targets: [{query: q(`count("value")`, 'alerts', [`"alertstate" = 'firing'`], '')}]},
      {title: 'Alerts in range', type: 'stat', unit: 'short', targets: [{query: q(`max("value")`, 'alerts', [], 'GROUP BY "alertname"'), alias: '$tag_alertname'}]},
      {title: 'Transitions', type: 'timeseries', unit: 'short', targets: [{query: q(`count("value")`, 'alerts', [], `${EVERY}, "alertstate" fill(0)`), alias: '$tag_alertstate'}]},
      {title: 'Alert state (1 = pending or firing)', type: 'timeseries', unit: 'short', targets: [{query: q(`max("value")`, 'alerts', [], `${EVERY}, "alertname" fill(previous)`), alias: '$tag_alertname'}]},
      {title: 'Value at the transition', type: 'timeseries', unit: 'short', targets: [{query: q(`max("metric_value")`, 'alerts', [], `${EVERY}, "alertname" fill(null)`), alias: '$tag_alertname'}]},
      {
        title: 'Alerts',
        type: 'table',
        targets: [{query: q(`${lastOf('value')} AS "value", ${lastOf('metric_value')} AS "metric value"`, 'alerts', [], 'GROUP BY "alertname", "alertstate"')}],
      },
      {title: 'Alert events', type: 'table', targets: [{query: q(`"title", "text"`, 'events', [`"source" = 'alerts'`], '')}]},
    ],
  },
]
