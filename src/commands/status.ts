import {Flags} from '@oclif/core'
import {BaseCommand} from '../cli/base.js'
import {renderStatus} from '../cli/render/status.js'
import {apiTokenFromEnv} from '../cli/incidents-context.js'
import {loadConfig} from '../core/config/load.js'
import {parseDuration} from '../core/config/duration.js'
import {readDaemonStatus, type StatusReport} from '../core/daemon/status.js'
import {EXIT_RUNTIME} from '../core/errors.js'

export default class Status extends BaseCommand {
  static override summary = 'Show whether a mon daemon runs for this data directory, and how it is doing.'
  static override description = `Uptime and health, the store, spool and outbox depth, alert counts, each input (schedule, last run, errors), each rule group (schedule, last evaluation, failing rules) and the last warnings and errors.

Asks the daemon's API (GET /api/v1/status) when it has the token (api.token or MON_API_TOKEN); otherwise reads the status file the daemon rewrites every 5 seconds in its data dir (daemon.json). With no daemon running it reports what the data dir holds: unsent spool, outbox, alerts.

Exit status: 0 when a daemon is running, 1 when none is.`
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
    const loaded = await loadConfig({path: flags.config})
    const token = loaded.config.api.token || apiTokenFromEnv()
    const report = await readDaemonStatus({dataDir: loaded.dataDir, token, timeoutMs: parseDuration(flags.timeout)})
    if (!this.jsonEnabled()) this.log(renderStatus(report, Date.now()))
    if (!report.running) process.exitCode = EXIT_RUNTIME
    return report
  }
}
