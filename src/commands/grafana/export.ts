import {Flags} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {loadConfig} from '../../core/config/load.js'
import {exportGrafana, type GrafanaExport} from '../../core/grafana/export.js'

export default class GrafanaExportCommand extends BaseCommand {
  static override summary = "Write Grafana provisioning (a data source for the daemon's InfluxDB API) and mon's dashboards."
  static override description = `Writes <out>/provisioning/datasources/mon.yaml (an InfluxDB data source in InfluxQL mode pointing at the daemon's /query), <out>/provisioning/dashboards/mon.yaml (a file provider) and <out>/dashboards/mon-host.json, mon-checks.json, mon-alerts.json (host metrics, checks, alerts with events as annotations; a $host variable). The URL and database default to the config's api.listen and api.influxdb.database. With api.token set, the data source sends the token from Grafana's environment ($MON_API_TOKEN, or --token-env): the token itself is never written. Existing files of the same names are overwritten. See docs/grafana.md.

Exit status: 0 written; 2 bad flags or config; 1 a file could not be written.`
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %> --out /etc/grafana/mon',
    '<%= config.bin %> <%= command.id %> --out ./grafana --url http://mon.example:9464 --token-env MON_API_TOKEN',
    '<%= config.bin %> <%= command.id %> --out ./grafana --dashboards-path /var/lib/grafana/dashboards/mon --json',
  ]

  static override flags = {
    out: Flags.string({char: 'o', required: true, description: 'directory to write into (created)'}),
    url: Flags.string({description: "the daemon's API as Grafana reaches it [default: http://<api.listen>]"}),
    database: Flags.string({description: 'database name [default: api.influxdb.database, mon]'}),
    'token-env': Flags.string({description: 'environment variable Grafana reads the API token from [default: MON_API_TOKEN when api.token is set]'}),
    'no-token': Flags.boolean({description: 'write the data source without credentials even when api.token is set'}),
    'dashboards-path': Flags.string({description: 'where Grafana finds the dashboard JSON files [default: <out>/dashboards]'}),
  }

  async run(): Promise<GrafanaExport> {
    const {flags} = await this.parse(GrafanaExportCommand)
    // only whether a token is configured matters here, not its value: the machine that runs the
    // export (Grafana's) need not have MON_API_TOKEN, which the usual `token: ${MON_API_TOKEN}` reads
    const env = {...process.env, MON_API_TOKEN: process.env.MON_API_TOKEN ?? 'set-on-the-daemon'}
    const loaded = await loadConfig({path: flags.config, sections: ['api'], env})
    const api = loaded.config.api
    const hasToken = Boolean(api.token || process.env.MON_API_TOKEN)
    const scheme = api.tls_cert ? 'https' : 'http'
    const listen = api.listen.replace(/^(0\.0\.0\.0|\[::\]|\*|):/, '127.0.0.1:')
    const result = exportGrafana({
      out: flags.out,
      url: flags.url ?? `${scheme}://${listen}`,
      database: flags.database ?? api.influxdb.database,
      tokenEnv: flags['no-token'] ? undefined : (flags['token-env'] ?? (hasToken ? 'MON_API_TOKEN' : undefined)),
      dashboardsPath: flags['dashboards-path'],
    })
    if (!this.jsonEnabled()) {
      for (const f of result.files) this.log(`${f.path}${f.kind === 'dashboard' ? `  (${f.title}: ${f.panels} panels, ${f.queries} queries)` : ''}`)
      const auth = result.datasource.tokenEnv ? `, token from $${result.datasource.tokenEnv}` : ''
      this.log(`data source "mon" → ${result.datasource.url} database ${result.datasource.database}${auth}`)
    }
    return result
  }
}
