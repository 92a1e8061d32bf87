import type {AnnotationSpec, DashboardSpec, PanelSpec, VariableSpec} from './panels.js'

/**
 * Grafana dashboard JSON (schemaVersion 39: timeseries, stat and table panels) from the table in
 * panels.ts. Every query goes to the data source by uid (the one the provisioning file defines),
 * in raw InfluxQL mode; panels are laid out left to right in rows of 24 grid units.
 */

export const SCHEMA_VERSION = 39
export const DATASOURCE_UID = 'mon'

export interface DatasourceRef {
  type: 'influxdb'
  uid: string
}

export interface GrafanaTarget {
  refId: string
  datasource: DatasourceRef
  query: string
  rawQuery: true
  resultFormat: 'time_series' | 'table'
  alias?: string
}

export interface GrafanaPanel {
  id: number
  type: string
  title: string
  description?: string
  datasource: DatasourceRef
  gridPos: {x: number; y: number; w: number; h: number}
  fieldConfig: {defaults: Record<string, unknown>; overrides: unknown[]}
  options: Record<string, unknown>
  targets: GrafanaTarget[]
}

export interface GrafanaVariable {
  name: string
  label: string
  type: 'query'
  datasource: DatasourceRef
  query: string
  definition: string
  refresh: 1 | 2
  includeAll: boolean
  multi: boolean
  sort: number
  current: Record<string, never>
  options: unknown[]
  hide: 0
}

export interface GrafanaAnnotation {
  name: string
  datasource: DatasourceRef | {type: 'grafana'; uid: string}
  enable: boolean
  hide: boolean
  iconColor: string
  builtIn?: 1
  type?: 'dashboard'
  query?: string
  titleColumn?: string
  textColumn?: string
}

export interface GrafanaDashboard {
  uid: string
  title: string
  description: string
  tags: string[]
  timezone: 'browser'
  editable: boolean
  graphTooltip: 1
  schemaVersion: number
  version: number
  refresh: string
  time: {from: string; to: string}
  templating: {list: GrafanaVariable[]}
  annotations: {list: GrafanaAnnotation[]}
  panels: GrafanaPanel[]
  links: unknown[]
}

const HEIGHT: Record<PanelSpec['type'], number> = {stat: 4, timeseries: 8, table: 8}
const WIDTH: Record<PanelSpec['type'], number> = {stat: 6, timeseries: 12, table: 24}

export function buildDashboard(spec: DashboardSpec, datasourceUid = DATASOURCE_UID): GrafanaDashboard {
  const ds: DatasourceRef = {type: 'influxdb', uid: datasourceUid}
  let x = 0
  let y = 0
  let rowHeight = 0
  const panels = spec.panels.map((p, i): GrafanaPanel => {
    const w = p.width ?? WIDTH[p.type]
    const h = HEIGHT[p.type]
    if (x + w > 24) {
      x = 0
      y += rowHeight
      rowHeight = 0
    }
    const gridPos = {x, y, w, h}
    x += w
    rowHeight = Math.max(rowHeight, h)
    return panel(p, i + 1, gridPos, ds)
  })
  return {
    uid: spec.uid,
    title: spec.title,
    description: spec.description,
    tags: ['mon'],
    timezone: 'browser',
    editable: true,
    graphTooltip: 1,
    schemaVersion: SCHEMA_VERSION,
    version: 1,
    refresh: '1m',
    time: {from: 'now-6h', to: 'now'},
    templating: {list: spec.variables.map((v) => variable(v, ds))},
    annotations: {list: [BUILT_IN_ANNOTATION, ...spec.annotations.map((a) => annotation(a, ds))]},
    panels,
    links: [{type: 'dashboards', tags: ['mon'], asDropdown: true, title: 'mon', icon: 'external link', includeVars: true, keepTime: true, targetBlank: false, tooltip: '', url: ''}],
  }
}

const BUILT_IN_ANNOTATION: GrafanaAnnotation = {
  builtIn: 1,
  datasource: {type: 'grafana', uid: '-- Grafana --'},
  enable: true,
  hide: true,
  iconColor: 'rgba(0, 211, 255, 1)',
  name: 'Annotations & Alerts',
  type: 'dashboard',
}

function panel(p: PanelSpec, id: number, gridPos: GrafanaPanel['gridPos'], ds: DatasourceRef): GrafanaPanel {
  const resultFormat = p.type === 'table' ? 'table' : 'time_series'
  const targets = p.targets.map((t, i): GrafanaTarget => ({
    refId: String.fromCharCode(65 + i),
    datasource: ds,
    query: t.query,
    rawQuery: true,
    resultFormat,
    ...(t.alias ? {alias: t.alias} : {}),
  }))
  const defaults: Record<string, unknown> = {unit: p.unit ?? 'short'}
  if (p.type === 'timeseries') defaults.custom = {drawStyle: 'line', lineWidth: 1, fillOpacity: 10, showPoints: 'never', spanNulls: false}
  return {
    id,
    type: p.type,
    title: p.title,
    ...(p.description ? {description: p.description} : {}),
    datasource: ds,
    gridPos,
    fieldConfig: {defaults, overrides: []},
    options: OPTIONS[p.type],
    targets,
  }
}

const OPTIONS: Record<PanelSpec['type'], Record<string, unknown>> = {
  timeseries: {legend: {displayMode: 'list', placement: 'bottom', showLegend: true, calcs: []}, tooltip: {mode: 'multi', sort: 'none'}},
  stat: {reduceOptions: {calcs: ['lastNotNull'], fields: '', values: false}, colorMode: 'value', graphMode: 'none', justifyMode: 'auto', orientation: 'auto', textMode: 'auto'},
  table: {showHeader: true, cellHeight: 'sm', footer: {show: false, reducer: ['sum'], fields: ''}},
}

function variable(v: VariableSpec, ds: DatasourceRef): GrafanaVariable {
  return {name: v.name, label: v.label, type: 'query', datasource: ds, query: v.query, definition: v.query, refresh: 1, includeAll: false, multi: true, sort: 1, current: {}, options: [], hide: 0}
}

function annotation(a: AnnotationSpec, ds: DatasourceRef): GrafanaAnnotation {
  return {
    name: a.name,
    datasource: ds,
    enable: true,
    hide: false,
    iconColor: a.color,
    query: a.query,
    ...(a.titleColumn ? {titleColumn: a.titleColumn} : {}),
    ...(a.textColumn ? {textColumn: a.textColumn} : {}),
  }
}
