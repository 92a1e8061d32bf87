import type {Alert, RuleStatus} from '../../core/alerting/types.js'
import type {RuleTestFileResult} from '../../core/alerting/unittest.js'
import {formatDuration} from '../../core/config/duration.js'
import type {ConfigProblem} from '../../core/config/problems.js'
import {color, severityColor} from './color.js'
import {formatNumber, renderTable} from './table.js'
import {plural} from '../../core/format.js'

/** Rendering for `mon rules check|test|eval` (core returns data; this turns it into text). */

export function renderProblems(problems: ConfigProblem[], stream: NodeJS.WriteStream = process.stderr): string {
  const c = color(stream)
  return problems
    .map((p) => `${c.red('error:')} ${p.position.file}:${p.position.line}:${p.position.col}: ${p.message}${p.hint ? `\n  ${c.dim('hint:')} ${p.hint}` : ''}`)
    .join('\n')
}

export function renderAlerts(alerts: Alert[], now: number): string {
  const c = color()
  const rows = alerts.map((a) => {
    const {alertname, ...rest} = a.labels
    const labels = Object.entries(rest)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')
    const since = a.state === 'firing' ? (a.firedAt ?? a.activeAt) : a.activeAt
    return [a.state, alertname ?? '', labels, a.value === null ? '-' : formatNumber(a.value), formatDuration(Math.max(0, now - since)), a.annotations.summary ?? '']
  })
  return renderTable(['STATE', 'ALERT', 'LABELS', 'VALUE', 'AGE', 'SUMMARY'], rows, {
    alignRight: [3],
    style: (ri, ci, text) => {
      if (ci === 0) return alerts[ri].state === 'firing' ? c.red(text) : c.yellow(text)
      if (ci === 1) return severityColor(alerts[ri].labels.severity ?? '', c)(text)
      return text
    },
  })
}

/** One line per rule that is not healthy. */
export function renderRuleHealth(rules: RuleStatus[]): string {
  const c = color()
  return rules
    .filter((r) => r.health === 'error' || r.health === 'nodata')
    .map((r) => (r.health === 'error' ? `${c.red('rule error:')} ${r.id}: ${r.lastError ?? ''}` : `${c.yellow('no data:')} ${r.id}: the selectors returned nothing`))
    .join('\n')
}

/** promtool's layout: `Unit Testing: file`, then SUCCESS or FAILED with expected vs got. */
export function renderTestResult(r: RuleTestFileResult): string {
  const c = color()
  const lines = [`Unit Testing: ${r.file}`]
  if (r.failures.length === 0) {
    lines.push(`  ${c.green('SUCCESS')} (${plural(r.tests, 'test')}, ${plural(r.checks, 'check')})`)
    return lines.join('\n')
  }

  lines.push(`  ${c.red('FAILED')}:`)
  for (const f of r.failures) {
    const what = f.kind === 'alert' ? `alertname: ${f.alertname}` : `expr: ${JSON.stringify(f.expr)}`
    lines.push(`    ${f.position.file}:${f.position.line}:${f.position.col}: test ${JSON.stringify(f.test)}, ${what}, time: ${f.evalTime}`)
    if (f.error) lines.push(`        error: ${f.error}`)
    lines.push(`        exp: ${f.expected.length === 0 ? '(none)' : ''}`, ...f.expected.map((e) => `          ${e}`))
    lines.push(`        got: ${f.got.length === 0 ? '(none)' : ''}`, ...f.got.map((g) => `          ${g}`))
  }

  return lines.join('\n')
}
