import assert from 'node:assert/strict'
import {describe, it} from 'node:test'
import {parse as parseYaml} from 'yaml'
import {systemClock} from '../../src/core/clock.js'
import {buildInputs, collectorContext, COLLECTORS, inputNames} from '../../src/core/collectors/registry.js'
import type {CollectorDefinition} from '../../src/core/collectors/types.js'
import {parseConfigText} from '../../src/core/config/parse.js'
import {renderTemplate, SAMPLE_REQUIRED_ENV, sampleConfig} from '../../src/core/config/sample.js'
import {silentLogger} from '../../src/core/log.js'

// Issue 17 item 2: an input is one file (`defineCollector`) plus one line in collectors/registry.ts.
// The config's `inputs` section, the inputs block of `mon config init` and the inputs the agent
// builds all come from that list, so these check each against it rather than a second copy.

const definitions = Object.entries(COLLECTORS) as Array<[string, CollectorDefinition]>
const env: NodeJS.ProcessEnv = {HOME: '/home/test', ...Object.fromEntries(SAMPLE_REQUIRED_ENV.map((k) => [k, `value-of-${k}`]))}

describe('collector registry', () => {
  it('each definition sits under its own kind', () => {
    for (const [key, def] of definitions) assert.equal(def.kind, key)
  })

  it('the inputs section of the config has one key per registered input, in registry order', () => {
    const {config} = parseConfigText('', '/etc/mon/mon.yaml', env)
    assert.deepEqual(Object.keys(config.inputs), Object.keys(COLLECTORS))
  })

  it('the inputs block of the sample is each definition sample, in registry order', () => {
    for (const uncommented of [false, true]) {
      const sample = sampleConfig({uncommented})
      const inputsBlock = definitions.map(([, def]) => indent(renderTemplate(def.sample, {uncommented}))).join('\n\n')
      assert.ok(sample.includes(`\ninputs:\n${inputsBlock}\n\n`), `uncommented: ${uncommented}`)
    }
  })

  for (const [kind, def] of definitions) {
    it(`the ${kind} sample block, uncommented, is valid for its own schema`, () => {
      const value = (parseYaml(renderTemplate(def.sample, {uncommented: true})) as Record<string, unknown>)[kind]
      const items = def.multiple ? (value as unknown[]) : [value]
      assert.ok(Array.isArray(items) && items.length > 0, `the ${kind} sample shows an entry`)
      for (const item of items) {
        const parsed = def.schema.safeParse(item)
        assert.ok(parsed.success, `${kind}: ${parsed.error?.message}`)
      }
    })
  }

  it('builds the pull inputs of every configured entry, in registry order; the push listener is only named', () => {
    const yaml = `
inputs:
  exec: [{name: queue, command: [queue-stats], timeout: 3s}]
  tcp: [{address: 'db.example.com:5432', jitter: 2s}]
  http: [{name: home, url: 'https://example.com/'}]
  prometheus: [{name: node, urls: ['http://localhost:9100/metrics'], interval: '*/5 * * * *'}]
  listener: {enabled: true}
`
    const {config} = parseConfigText(yaml, '/etc/mon/mon.yaml', env)
    assert.deepEqual(inputNames(config), ['host', 'http:home', 'tcp[0]', 'prometheus:node', 'exec:queue', 'listener'])
    const inputs = buildInputs(config, collectorContext(config, '/nonexistent/mon-data', systemClock, silentLogger))
    assert.deepEqual(
      inputs.map((i) => [i.name, i.kind, i.schedule, i.jitter, i.timeout]),
      [
        ['host', 'host', '10s', 0, undefined],
        ['http:home', 'http', '30s', 0, 6000],
        ['tcp[0]', 'tcp', '30s', 2000, 6000],
        ['prometheus:node', 'prometheus', '*/5 * * * *', 0, 11_000],
        ['exec:queue', 'exec', '60s', 0, 4000],
      ],
    )
  })
})

/** What sample.ts does to a block under `inputs:` (the markers are gone once rendered). */
function indent(block: string): string {
  return block
    .split('\n')
    .map((line) => (line === '' ? line : '  ' + line))
    .join('\n')
}
