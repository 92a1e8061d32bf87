import {Args} from '@oclif/core'
import {BaseCommand} from '../../cli/base.js'
import {renderTestResult} from '../../cli/render/rules.js'
import {runRuleTestFile, type RuleTestFileResult} from '../../core/alerting/unittest.js'
import {EXIT_RUNTIME, EXIT_USAGE, UserError} from '../../core/errors.js'
import {renderError} from '../../cli/render/error.js'

export interface RulesTestResult {
  passed: boolean
  files: Array<RuleTestFileResult | {file: string; error: string}>
}

export default class RulesTest extends BaseCommand {
  static override summary = 'Unit-test rule files offline, promtool style.'
  static override description = `Each test file names its rule_files and gives input_series (mon selectors, values in promtool's a+bxn notation), alert_rule_test (eval_time, alertname, exp_alerts) and promql_expr_test (expr, eval_time, exp_samples). Runs against an in-memory store. Exit 0 when all pass, 1 when a test fails, 2 when a file is invalid. Format: docs/alerting.md.`
  static override enableJsonFlag = true
  static override strict = false
  static override examples = [
    '<%= config.bin %> <%= command.id %> examples/rules/host.test.yaml',
    '<%= config.bin %> <%= command.id %> examples/rules/*.test.yaml',
    '<%= config.bin %> <%= command.id %> tests/disk.test.yaml --json',
  ]

  static override args = {files: Args.string({description: 'test files', required: true})}

  async run(): Promise<RulesTestResult> {
    const {argv} = await this.parse(RulesTest)
    const result: RulesTestResult = {passed: true, files: []}
    let invalid = false
    for (const file of argv as string[]) {
      try {
        const r = await runRuleTestFile(file)
        result.files.push(r)
        if (r.failures.length > 0) result.passed = false
        if (!this.jsonEnabled()) this.log(renderTestResult(r) + '\n')
      } catch (error) {
        if (!(error instanceof UserError)) throw error
        invalid = true
        result.passed = false
        result.files.push({file, error: error.message})
        if (!this.jsonEnabled()) this.warnLine(`Unit Testing: ${file}\n${renderError(error, this.debugEnabled())}\n`)
      }
    }

    if (!result.passed) process.exitCode = invalid ? EXIT_USAGE : EXIT_RUNTIME
    return result
  }
}
