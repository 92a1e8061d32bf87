import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {renderProblems} from '../../cli/render/rules.js'
import {checkRuleFiles} from '../../core/alerting/rules.js'
import {loadConfig} from '../../core/config/load.js'
import {EXIT_USAGE, InputError} from '../../core/errors.js'

export interface RulesCheckResult {
  valid: boolean
  files: Array<{file: string; groups: number; rules: number; recording: number; problems: Array<{file: string; line: number; col: number; message: string; hint?: string}>}>
}

export default class RulesCheck extends BaseCommand {
  static override summary = 'Check rule files: YAML, types, expressions and templates; every problem as file:line:col.'
  static override description = 'Exit 0 when every file is valid, 2 when any is not. Without arguments the files in rules.files of the config are checked. Globs are expanded (quote them).'
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/rules/host.yaml',
    `<%= config.bin %> <%= command.id %> 'rules/*.yaml'`,
    '<%= config.bin %> <%= command.id %>   # the files in rules.files of the config',
    '<%= config.bin %> <%= command.id %> rules/*.yaml --json',
  ]

  static override args = {files: Args.string({description: 'rule files or globs (default: rules.files from the config)'})}

  async run(): Promise<RulesCheckResult> {
    const {argv, flags} = await this.parse(RulesCheck)
    let files = argv as string[]
    let defaultInterval: string | undefined
    if (files.length === 0) {
      const {config} = await loadConfig({path: flags.config})
      files = config.rules.files
      defaultInterval = config.rules.default_interval
      if (files.length === 0) throw new InputError('no rule files given, and rules.files in the config is empty', {hint: 'mon rules check rules/*.yaml, or list the files under rules.files'})
    }

    const checks = await checkRuleFiles(files, {defaultInterval})
    const result: RulesCheckResult = {
      valid: checks.every((c) => c.problems.length === 0),
      files: checks.map((c) => ({
        file: c.file,
        groups: c.groups.length,
        rules: c.groups.reduce((n, g) => n + g.rules.length, 0),
        recording: c.groups.reduce((n, g) => n + g.rules.filter((r) => r.type === 'record').length, 0),
        problems: c.problems.map((p) => ({...p.position, message: p.message, hint: p.hint})),
      })),
    }
    if (!this.jsonEnabled()) {
      for (const [i, c] of checks.entries()) {
        if (c.problems.length > 0) this.warnLine(renderProblems(c.problems))
        else this.log(`${c.file}: ${result.files[i].groups} group(s), ${result.files[i].rules} rule(s)${result.files[i].recording > 0 ? ` (${result.files[i].recording} recording)` : ''}: OK`)
      }
    }

    if (!result.valid) process.exitCode = EXIT_USAGE
    return result
  }
}
