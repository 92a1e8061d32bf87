import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {MAX_TEMPLATE_DEPTH, TemplateError, compileTemplate, formatG, humanize, humanize1024, humanizeDuration, humanizePercentage, humanizeTimestamp, sprintf} from '../../src/core/alerting/template.js'

const labels = {alertname: 'HighCpu', host: 'web-01', 'kube-pod': 'api-7f9', severity: 'warning'}

describe('alert templates: rendering', () => {
  const cases: Array<[string, number | null, string]> = [
    ['plain text', 1, 'plain text'],
    ['CPU high on {{ $labels.host }}', 1, 'CPU high on web-01'],
    ['{{ $value }}', 95.5, '95.5'],
    ['{{ $value }}', 1e-7, '1e-07'],
    ['{{ $value | humanize }}', 1234567, '1.235M'],
    ['{{ humanize $value }}', 0.0012, '1.2m'],
    ['{{ $value | humanizePercentage }}', 0.953, '95.3%'],
    ['{{ $value | humanizeDuration }}', 93784, '1d 2h 3m 4s'],
    ['{{ printf "%.1f" $value }}%', 95.25, '95.3%'],
    ['{{ $value | printf "%.2f" }}', 2, '2.00'],
    ['{{ printf "%s has %d cores" $labels.host 8 }}', 1, 'web-01 has 8 cores'],
    ['{{ index $labels "kube-pod" }}', 1, 'api-7f9'],
    ['{{ .Labels.host }} {{ .Value }}', 3, 'web-01 3'],
    ['{{ $labels.missing }}|', 1, '|'],
    ['{{ $labels.host | toUpper }}', 1, 'WEB-01'],
    ['{{ if gt $value 90.0 }}critical{{ else }}warning{{ end }}', 95, 'critical'],
    ['{{ if gt $value 90.0 }}critical{{ else }}warning{{ end }}', 50, 'warning'],
    ['{{ if eq $labels.severity "warning" }}W{{ else if eq $labels.severity "critical" }}C{{ end }}', 1, 'W'],
    ['a {{- " b " -}} c', 1, 'a b c'],
    ['x{{/* a comment */}}y', 1, 'xy'],
    ['{{ reReplaceAll "-(\\\\d+)" "_$1" $labels.host }}', 1, 'web_01'],
    ['{{ $value }}', null, '<no value>'],
    ['{{ humanize $labels.host }}', 1, '<error expanding template: expected a number, got "web-01">'],
  ]
  for (const [src, value, want] of cases) {
    it(`${src} (value ${value})`, () => assert.equal(compileTemplate(src).render({labels, value}), want))
  }
})

describe('alert templates: compile errors carry the offset', () => {
  const cases: Array<[string, number, RegExp, RegExp?]> = [
    ['{{ $value | humanise }}', 12, /unknown function 'humanise'/, /did you mean 'humanize'/],
    // names every JavaScript object has are not template functions (they used to fail only when rendered)
    ['{{ $value | toString }}', 12, /unknown function 'toString'/],
    ['{{ constructor }}', 3, /unknown|constructor/],
    ['CPU on {{ $labels.host ', 7, /unclosed action/],
    ['{{ $lables.host }}', 3, /unknown variable \$lables/, /did you mean \$labels/],
    ['{{ .Lables.host }}', 3, /unknown field \.Lables/, /did you mean \.Labels/],
    ['{{ if gt $value 1.0 }}x', 0, /without \{\{ end \}\}/],
    ['x {{ end }}', 2, /without a matching/],
    ['{{ range $labels }}x{{ end }}', 3, /not supported/],
    ['{{ $value $labels }}', 10, /unexpected \$labels after \$value/],
    ['{{ printf }}', 3, /printf takes at least 1 argument/],
    ['{{ humanize 1 2 }}', 3, /humanize takes 1 argument, got 2/],
    ['{{ }}', 0, /empty action/],
    ['{{ $value | }}', 10, /missing function after '\|'/],
    ['{{ $value | $labels }}', 12, /cannot pipe into \$labels/],
    ['{{ "abc }}', 3, /unterminated string/],
  ]
  for (const [src, offset, message, hint] of cases) {
    it(src, () => {
      assert.throws(
        () => compileTemplate(src),
        (e: unknown) => {
          assert.ok(e instanceof TemplateError, String(e))
          assert.match(e.reason, message)
          assert.equal(e.offset, offset)
          if (hint) assert.match(e.hint ?? '', hint)
          return true
        },
      )
    })
  }
})

describe('alert templates: label references', () => {
  it('finds $labels.x, .Labels.x and index $labels "x" with their offsets', () => {
    const t = compileTemplate('{{ $labels.host }} {{ .Labels.path }} {{ index $labels "kube-pod" }} {{ $value }}')
    assert.deepEqual(t.labelRefs, [
      {name: 'host', offset: 3, length: 12},
      {name: 'path', offset: 22, length: 12},
      {name: 'kube-pod', offset: 55, length: 10},
    ])
  })
})

describe("Prometheus' humanize functions", () => {
  const cases: Array<[string, (v: number) => string, number, string]> = [
    ['humanize', humanize, 0, '0'],
    ['humanize', humanize, 999, '999'],
    ['humanize', humanize, 1000, '1k'],
    ['humanize', humanize, 1_234_567_890, '1.235G'],
    ['humanize', humanize, -2500, '-2.5k'],
    ['humanize', humanize, 0.000_25, '250u'],
    ['humanize1024', humanize1024, 1024, '1ki'],
    ['humanize1024', humanize1024, 1_073_741_824, '1Gi'],
    ['humanizePercentage', humanizePercentage, 0.1234, '12.34%'],
    ['humanizeDuration', humanizeDuration, 0, '0s'],
    ['humanizeDuration', humanizeDuration, 0.0125, '12.5ms'],
    ['humanizeDuration', humanizeDuration, 59.5, '59.5s'],
    ['humanizeDuration', humanizeDuration, 3600, '1h 0m 0s'],
    ['humanizeDuration', humanizeDuration, -90, '-1m 30s'],
    ['humanizeTimestamp', humanizeTimestamp, 1_764_061_200, '2025-11-25 09:00:00 +0000 UTC'],
    ['formatG', (v) => formatG(v), 123_456, '1.235e+05'],
    ['formatG', (v) => formatG(v), 0.000_012_34, '1.234e-05'],
  ]
  for (const [name, fn, v, want] of cases) it(`${name}(${v}) = ${want}`, () => assert.equal(fn(v), want))

  it('sprintf handles the verbs templates use', () => {
    assert.equal(sprintf('%5.1f|%-4s|%03d|%x|%q|%%|%v', [3.14159, 'ab', 7, 255, 'hi', true]), '  3.1|ab  |007|ff|"hi"|%|true')
    assert.equal(sprintf('%d %d', [1]), '1 %!d(MISSING)')
  })
})

describe('alert templates: hostile input', () => {
  const hostile = {...labels, host: 'a'.repeat(40)}
  it('match and reReplaceAll run RE2: (a|a)*b against 40 characters answers at once', () => {
    assert.equal(compileTemplate('{{ match "(a|a)*b" $labels.host }}').render({labels: hostile, value: 1}), 'false')
    assert.equal(compileTemplate('{{ reReplaceAll "(a|a)*b" "x" $labels.host }}').render({labels: hostile, value: 1}), 'a'.repeat(40))
    assert.equal(compileTemplate('{{ reReplaceAll "-(\\\\d+)" "_${1}$$" $labels.host }}').render({labels, value: 1}), 'web_01$')
  })

  const deep: Array<[string, string, number]> = [
    ['3,000 nested ifs', '{{ if true }}'.repeat(3000) + 'x' + '{{ end }}'.repeat(3000), 13 * MAX_TEMPLATE_DEPTH],
    ['3,000 nested parentheses', '{{ ' + '(printf "%s" '.repeat(3000) + '"x"' + ')'.repeat(3000) + ' }}', 3 + 13 * MAX_TEMPLATE_DEPTH],
  ]
  for (const [name, src, offset] of deep) {
    it(`${name}: a TemplateError at the first level too deep`, () => {
      assert.throws(
        () => compileTemplate(src),
        (e: unknown) => e instanceof TemplateError && e.offset === offset && e.message === `template nested too deeply (more than ${MAX_TEMPLATE_DEPTH} levels)`,
      )
    })
  }
})
