import {existsSync, mkdirSync, writeFileSync} from 'node:fs'
import {dirname, join, resolve} from 'node:path'
import {stringify} from 'yaml'
import {InputError, UserError, errorMessage} from '../errors.js'
import {buildDashboard, DATASOURCE_UID, type GrafanaDashboard} from './dashboards.js'
import {DASHBOARDS} from './panels.js'

/**
 * `mon grafana export`: Grafana provisioning for mon (docs/grafana.md) in one directory.
 *
 *   <out>/provisioning/datasources/mon.yaml   the InfluxDB data source (InfluxQL, proxy access) → the daemon's API
 *   <out>/provisioning/dashboards/mon.yaml    a file provider for <out>/dashboards (or --dashboards-path)
 *   <out>/dashboards/mon-host.json, mon-checks.json, mon-alerts.json
 *
 * Copy (or point Grafana's `paths.provisioning` at) the provisioning folder; the token is never
 * written: the data source reads it from Grafana's environment (`$MON_API_TOKEN`), as Grafana
 * expands variables in provisioning files.
 */

export interface GrafanaExportOptions {
  /** the directory to write into (created) */
  out: string
  /** the daemon's API as Grafana reaches it */
  url: string
  /** the database name (api.influxdb.database) */
  database: string
  /** the environment variable Grafana reads the API token from; none: no credentials */
  tokenEnv?: string
  /** where Grafana finds the dashboard JSON files; default <out>/dashboards (absolute) */
  dashboardsPath?: string
}

export interface ExportedFile {
  path: string
  kind: 'datasource' | 'dashboards-provider' | 'dashboard'
  uid?: string
  title?: string
  panels?: number
  queries?: number
}

export interface GrafanaExport {
  files: ExportedFile[]
  datasource: {name: string; uid: string; url: string; database: string; tokenEnv?: string}
}

export function datasourceProvisioning(opts: Pick<GrafanaExportOptions, 'url' | 'database' | 'tokenEnv'>): Record<string, unknown> {
  const ds: Record<string, unknown> = {
    name: 'mon',
    uid: DATASOURCE_UID,
    type: 'influxdb',
    access: 'proxy',
    url: opts.url,
    database: opts.database,
    isDefault: false,
    editable: true,
    jsonData: {version: 'InfluxQL', dbName: opts.database, httpMode: 'POST'},
  }
  if (opts.tokenEnv) {
    // InfluxDB 1.x auth: any user, the token as the password (sent as u/p or Basic; mon takes both)
    ds.user = 'mon'
    ds.secureJsonData = {password: `$${opts.tokenEnv}`}
  }
  return {apiVersion: 1, datasources: [ds]}
}

export function dashboardsProvisioning(path: string): Record<string, unknown> {
  return {
    apiVersion: 1,
    providers: [{name: 'mon', folder: 'mon', type: 'file', disableDeletion: false, allowUiUpdates: true, updateIntervalSeconds: 60, options: {path, foldersFromFilesStructure: false}}],
  }
}

export function buildDashboards(): Array<{file: string; dashboard: GrafanaDashboard}> {
  return DASHBOARDS.map((spec) => ({file: spec.file, dashboard: buildDashboard(spec)}))
}

export function exportGrafana(opts: GrafanaExportOptions): GrafanaExport {
  let url: URL
  try {
    url = new URL(opts.url)
  } catch {
    throw new InputError(`invalid --url '${opts.url}'`, {hint: 'the daemon API as Grafana reaches it, e.g. http://127.0.0.1:9464'})
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new InputError(`invalid --url '${opts.url}': expected http:// or https://`)
  if (!opts.database.trim()) throw new InputError('--database must not be empty')
  if (opts.tokenEnv !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.tokenEnv)) throw new InputError(`invalid --token-env '${opts.tokenEnv}': expected an environment variable name such as MON_API_TOKEN`)
  const out = resolve(opts.out)
  const dashboardsDir = join(out, 'dashboards')
  const base = opts.url.replace(/\/+$/, '')
  const files: ExportedFile[] = []
  const write = (path: string, text: string) => {
    try {
      makeDirs(dirname(path))
      writeFileSync(path, text)
    } catch (error) {
      throw new UserError(`cannot write ${path}: ${errorMessage(error)}`, {hint: 'choose another --out directory'})
    }
  }
  const dsPath = join(out, 'provisioning', 'datasources', 'mon.yaml')
  write(dsPath, header('the mon data source') + stringify(datasourceProvisioning({url: base, database: opts.database, tokenEnv: opts.tokenEnv})))
  files.push({path: dsPath, kind: 'datasource', uid: DATASOURCE_UID})
  const providerPath = join(out, 'provisioning', 'dashboards', 'mon.yaml')
  write(providerPath, header("mon's dashboards") + stringify(dashboardsProvisioning(opts.dashboardsPath ?? dashboardsDir)))
  files.push({path: providerPath, kind: 'dashboards-provider'})
  for (const {file, dashboard} of buildDashboards()) {
    const path = join(dashboardsDir, file)
    write(path, JSON.stringify(dashboard, null, 2) + '\n')
    files.push({path, kind: 'dashboard', uid: dashboard.uid, title: dashboard.title, panels: dashboard.panels.length, queries: dashboard.panels.reduce((n, p) => n + p.targets.length, 0)})
  }
  return {files, datasource: {name: 'mon', uid: DATASOURCE_UID, url: base, database: opts.database, ...(opts.tokenEnv ? {tokenEnv: opts.tokenEnv} : {})}}
}

/** mkdir -p one level at a time (Node's recursive mkdirSync spins forever under /proc). */
function makeDirs(dir: string): void {
  if (existsSync(dir)) return
  const parent = dirname(dir)
  if (parent !== dir) makeDirs(parent)
  mkdirSync(dir)
}

const header = (what: string) => `# Grafana provisioning for ${what}, written by \`mon grafana export\` (docs/grafana.md).\n`
