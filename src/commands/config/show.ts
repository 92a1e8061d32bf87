import {Flags} from '@oclif/core'
import {stringify} from 'yaml'
import {BaseCommand} from '../../cli/base.js'
import {loadConfig} from '../../core/config/load.js'
import {redactConfig} from '../../core/config/redact.js'

export default class ConfigShow extends BaseCommand {
  static override summary = 'Print the effective configuration (defaults filled in, secrets redacted).'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> --config /etc/mon/mon.yaml --json', '<%= config.bin %> <%= command.id %> --source']
  static override flags = {source: Flags.boolean({description: 'print only which file is in effect (or that defaults apply)'})}

  async run(): Promise<{file: string | null; dataDir: string; config: unknown}> {
    const {flags} = await this.parse(ConfigShow)
    const loaded = await loadConfig({path: flags.config})
    const result = {file: loaded.file ?? null, dataDir: loaded.dataDir, config: redactConfig(loaded.config, loaded.secretPaths)}
    if (this.jsonEnabled()) return result
    if (flags.source) {
      this.log(loaded.file ?? '(no config file: defaults)')
      return result
    }

    this.log(`# effective configuration from ${loaded.file ?? 'defaults (no config file found)'}; secrets redacted`)
    this.log(stringify(result.config).trimEnd())
    return result
  }
}
