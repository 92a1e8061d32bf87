import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {loadConfig} from '../../core/config/load.js'
import {ConfigError} from '../../core/config/problems.js'

export interface ValidateResult {
  file: string | null
  valid: boolean
  problems: Array<{file: string; line: number; col: number; message: string; hint?: string}>
}

export default class ConfigValidate extends BaseCommand {
  static override summary = 'Check a configuration file; print every problem as file:line:col.'
  static override description = 'Exit 0 when valid, 2 when not. Validates the file given as argument, else --config, else the one mon would use.'
  static override enableJsonFlag = true
  static override examples = ['<%= config.bin %> <%= command.id %>', '<%= config.bin %> <%= command.id %> /etc/mon/mon.yaml', '<%= config.bin %> <%= command.id %> mon.yaml --json']
  static override args = {file: Args.string({description: 'config file to check'})}

  async run(): Promise<ValidateResult> {
    const {args, flags} = await this.parse(ConfigValidate)
    try {
      const loaded = await loadConfig({path: args.file ?? flags.config})
      if (!this.jsonEnabled()) this.log(loaded.file ? `${loaded.file}: valid` : 'no config file found: the defaults apply (valid)')
      return {file: loaded.file ?? null, valid: true, problems: []}
    } catch (error) {
      if (!(error instanceof ConfigError)) throw error
      const problems = error.problems.map((p) => ({...p.position, message: p.message, hint: p.hint}))
      process.exitCode = 2
      if (this.jsonEnabled()) return {file: error.position.file, valid: false, problems}
      throw error
    }
  }
}
