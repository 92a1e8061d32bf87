import {dirname, resolve} from 'node:path'
import {fileURLToPath} from 'node:url'
import {BaseCommand} from '../../cli/base.js'
import {loadConfig} from '../../core/config/load.js'
import {crontabLines, renderCrontab, type CronLine} from '../../core/daemon/install.js'
import {loadRuleFiles} from '../../core/alerting/rules.js'

export default class InstallCrontab extends BaseCommand {
  static override summary = 'Print crontab lines that run mon in cron mode for the configured schedules.'
  static override description = 'One `mon collect --once` line per input schedule, `mon alerts eval --once` for the rules (after the collection on the same line when they run in the same minutes, so the rules see what was just collected), and a nightly retention pass. Cron runs at most once a minute; shorter intervals need `mon daemon`.'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml', '(crontab -l; <%= config.bin %> <%= command.id %>) | crontab -']

  async run(): Promise<CronLine[]> {
    const {flags} = await this.parse(InstallCrontab)
    const loaded = await loadConfig({path: flags.config})
    const groups = loaded.config.rules.files.length > 0 ? await loadRuleFiles(loaded.config.rules.files, {defaultInterval: loaded.config.rules.default_interval}) : []
    const bin = resolve(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', '..', 'bin', 'run.js')
    const lines = crontabLines(loaded.config, {node: process.execPath, bin, config: loaded.file, dataDir: loaded.dataDir, ruleIntervals: groups.map((g) => g.interval)})
    if (!this.jsonEnabled()) process.stdout.write(renderCrontab(lines))
    return lines
  }
}
