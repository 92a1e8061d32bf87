import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {renderStatus} from '../cli/render/status.js'
import {apiTokenFromEnv} from '../cli/api-token.js'
import {loadConfigOrRunningDaemon} from '../core/daemon/config-fallback.js'
import {parseDuration} from '../core/config/duration.js'
import {readDaemonStatus, statusClientTls, type StatusReport} from '../core/daemon/status.js'
import {EXIT_RUNTIME} from '../core/errors.js'

export default class Status extends BaseCommand {
  static override summary = 'Show whether a mon daemon runs for this data directory, and how it is doing.'
  static override description = `Uptime and health, the store, spool and outbox depth, alert counts, each input (schedule, last run, errors), each rule group (schedule, last evaluation, failing rules) and the last warnings and errors.

Asks the daemon's API (GET /api/v1/status) when it has the token (api.token or MON_API_TOKEN); otherwise reads the status file the daemon rewrites every 5 seconds in its data dir (daemon.json). With no daemon running it reports what the data dir holds: unsent spool, outbox, alerts.

When the config file does not load but a daemon runs on the data dir it names (a failed reload keeps the last good config), it reports that daemon and warns about the file. An unset \${VAR} outside data_dir (e.g. the API token) does not stop it.

With cluster mode on (cluster.enabled), it also shows the cluster as NATS sees it: members and whether they are alive, which member scrapes which pull target, each mon stream (depth, replicas, leader) and its consumers (the writers' lag, each daemon's position) — see docs/cluster.md.

Exit status: 0 when a daemon is running, 1 when none is, 2 when the config file does not load and no daemon runs.`
  static override enableJsonFlag = true
  static override examples = [
    '<%= config.bin %> <%= command.id %>',
    '<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml --json',
    '<%= config.bin %> <%= command.id %> --json | jq .ruleGroups',
    '<%= config.bin %> <%= command.id %> >/dev/null || echo "mon daemon is down"',
  ]

  static override flags = {
    timeout: Flags.string({description: 'how long to wait for the daemon API', default: '5s'}),
  }

  async run(): Promise<StatusReport> {
    const {flags} = await this.parse(Status)
    const {loaded, configProblem} = await loadConfigOrRunningDaemon({path: flags.config, sections: ['data_dir', 'cluster']})
    const token = loaded.config.api.token || apiTokenFromEnv()
    const report = await readDaemonStatus({dataDir: loaded.dataDir, token, timeoutMs: parseDuration(flags.timeout), tls: statusClientTls(loaded.config.api)})
    // cluster mode: the cluster as NATS sees it (members, shards, streams, lag), whatever runs here.
    // Imported only then: it brings the nats client and every input's module (docs/startup.md)
    if (loaded.config.cluster.enabled) {
      const {clusterStatus} = await import('../core/cluster/status.js')
      report.cluster = await clusterStatus(loaded.config, {now: Date.now(), timeoutMs: parseDuration(flags.timeout)})
    }
    if (configProblem) {
      this.warnLine(`warning: ${configProblem}`)
      report.notes.unshift(`config file does not load: ${configProblem}`)
    }
    if (!this.jsonEnabled()) this.log(renderStatus(report, Date.now()))
    if (!report.running) process.exitCode = EXIT_RUNTIME
    return report
  }
}
