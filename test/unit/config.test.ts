import assert from 'node:assert/strict'
import {existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync} from 'node:fs'
import {hostname, tmpdir} from 'node:os'
import path from 'node:path'
import {after, describe, it} from 'node:test'
import {parseDocument} from 'yaml'
import {
  ConfigError,
  defaultConfig,
  defaultConfigPath,
  didYouMean,
  findConfigFile,
  formatDuration,
  formatSize,
  interpolateString,
  loadConfig,
  parseConfigText,
  parseDuration,
  parseSize,
  redactConfig,
  redactString,
  resolveDataDir,
  sampleConfig,
  SAMPLE_REQUIRED_ENV,
  secretValues,
} from '../../src/core/config/index.js'
import {builtDefaultConfig, builtDefaults} from '../../src/core/config/defaults.js'
import {validatedEntryPaths} from '../../src/core/config/validated.js'
import {STORE_SECTIONS} from '../../src/core/config/load.js'
import {InputError, LocatedError} from '../../src/core/errors.js'

const tmpRoots: string[] = []
function tempDir(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'mon-config-test-'))
  tmpRoots.push(dir)
  return dir
}
after(() => {
  for (const dir of tmpRoots) rmSync(dir, {recursive: true, force: true})
})

function located(fn: () => unknown): LocatedError {
  try {
    fn()
  } catch (err) {
    assert.ok(err instanceof LocatedError, `expected a LocatedError, got ${String(err)}`)
    return err
  }
  assert.fail('expected an error')
}

describe('config errors: file:line:col: message', () => {
  const cases: Array<{name: string; text: string; env?: NodeJS.ProcessEnv; message: string; hint?: string}> = [
    {
      name: 'unknown key at the top level, with did-you-mean',
      text: 'stor:\n  type: sqlite\n',
      message: "mon.yaml:1:1: unknown option 'stor' at the top level",
      hint: "did you mean 'store'?",
    },
    {
      name: 'unknown nested key, with did-you-mean',
      text: 'inputs:\n  host:\n    intervl: 10s\n',
      message: "mon.yaml:3:5: unknown option 'intervl' in inputs.host",
      hint: "did you mean 'interval'?",
    },
    {
      name: 'unknown key in a list item',
      text: 'inputs:\n  http:\n    - url: https://example.com\n      timout: 5s\n',
      message: "mon.yaml:4:7: unknown option 'timout' in inputs.http[0]",
      hint: "did you mean 'timeout'?",
    },
    {
      name: 'unknown key without a close match lists the allowed keys',
      text: 'spool:\n  compression: zstd\n',
      message: "mon.yaml:2:3: unknown option 'compression' in spool",
      hint: 'allowed options: max_bytes, fsync, segment_bytes, when_full, reserve_bytes',
    },
    {
      name: 'an option of the other store type',
      text: 'store:\n  url: http://localhost:8086\n',
      message: "mon.yaml:2:3: unknown option 'url' in store",
      hint: "'url' is an option of type: influxdb; set 'type: influxdb' to use it",
    },
    {
      name: 'wrong type: string for an integer',
      text: 'agent:\n  batch_size: lots\n',
      message: 'mon.yaml:2:15: agent.batch_size: expected an integer (e.g. 5000), got string "lots"',
    },
    {
      name: 'wrong type: map for a list',
      text: 'inputs:\n  http: {url: https://example.com}\n',
      message: 'mon.yaml:2:9: inputs.http: expected a list (e.g. [a, b] or one "- item" per line), got a map',
    },
    {
      name: 'wrong type: boolean',
      text: 'inputs:\n  host:\n    enabled: maybe\n',
      message: 'mon.yaml:3:14: inputs.host.enabled: expected true or false, got string "maybe"',
    },
    {
      name: 'enum value with did-you-mean',
      text: 'log:\n  level: inf\n',
      message: 'mon.yaml:2:10: log.level: expected one of "debug", "info", "warn", "error", got string "inf"',
      hint: "did you mean 'info'?",
    },
    {
      name: 'unknown store type',
      text: 'store:\n  type: mysql\n',
      message: 'mon.yaml:2:9: store.type: expected one of "sqlite", "influxdb", "victoriametrics", "prometheus", got string "mysql"',
    },
    {
      name: 'missing required option',
      text: 'inputs:\n  http:\n    - name: homepage\n',
      message: "mon.yaml:3:7: missing required option 'url' in inputs.http[0]",
    },
    {
      name: 'bad duration',
      text: 'agent:\n  flush_interval: 10 seconds\n',
      message:
        'mon.yaml:2:19: agent.flush_interval: invalid duration "10 seconds": expected a number and a unit (ms, s, m, h, d, w, y), e.g. 250ms, 10s, 5m, 1h30m, 7d, 1y',
    },
    {
      name: 'duration without a unit',
      text: 'inputs:\n  http:\n    - url: https://example.com\n      timeout: 5\n',
      message: 'mon.yaml:4:16: inputs.http[0].timeout: expected a duration with a unit (e.g. 5s or 5ms), got number 5',
    },
    {
      name: 'bad cron interval',
      text: 'rules:\n  default_interval: "61 * * * *"\n',
      message: 'mon.yaml:2:21: rules.default_interval: invalid cron expression "61 * * * *": Constraint error, got value 61 expected range 0-59',
    },
    {
      name: 'bad size',
      text: 'spool:\n  max_bytes: 1 gigabyte\n',
      message:
        'mon.yaml:2:14: spool.max_bytes: invalid size "1 gigabyte": expected a number and a unit (B, KB, KiB, MB, MiB, GB, GiB, TB, TiB), e.g. 4096, 512KB, 32MiB, 1GiB',
    },
    {
      name: 'bad regex',
      text: 'inputs:\n  http:\n    - url: https://example.com\n      body_regex: "ok("\n',
      // RE2's wording: body_regex runs on RE2 (a remote body must not stall mon), so RE2 judges it
      message: 'mon.yaml:4:19: inputs.http[0].body_regex: invalid regular expression "ok(": missing closing ) (RE2 syntax, as in Go and Prometheus: no backreferences or lookarounds)',
    },
    {
      name: 'a regex RE2 cannot run (a backreference)',
      text: 'inputs:\n  http:\n    - url: https://example.com\n      body_regex: "(ok)\\\\1"\n',
      message: 'mon.yaml:4:19: inputs.http[0].body_regex: invalid regular expression "(ok)\\\\1": invalid escape sequence (RE2 syntax, as in Go and Prometheus: no backreferences or lookarounds)',
    },
    {
      name: 'bad status code in a list',
      text: 'inputs:\n  http:\n    - url: https://example.com\n      expect_status: [200, abc]\n',
      message: 'mon.yaml:4:28: inputs.http[0].expect_status[1]: expected an integer (e.g. 5000), got string "abc"',
    },
    {
      name: 'YAML syntax error',
      text: 'log:\n  level: "info\n',
      message: 'mon.yaml:3:1: invalid YAML: missing closing "quote',
      hint: 'a quote or bracket is not closed',
    },
    {
      name: 'YAML duplicate key',
      text: 'log:\n  level: info\n  level: debug\n',
      message: "mon.yaml:3:3: invalid YAML: duplicate key 'level'",
    },
    {
      name: 'YAML tab indentation',
      text: 'log:\n\tlevel: info\n',
      message: 'mon.yaml:2:1: invalid YAML: tabs are not allowed as indentation',
      hint: 'indent with spaces, not tabs',
    },
    {
      name: 'not a map',
      text: '- a\n- b\n',
      message: 'mon.yaml:1:1: the config must be a map of options (key: value lines), got a list',
    },
    {
      name: 'missing env var (points at the ${)',
      text: 'store:\n  type: influxdb\n  url: http://localhost:8086\n  token: ${INFLUX_TOKEN}\n',
      message: 'mon.yaml:4:10: store.token: environment variable INFLUX_TOKEN is not set',
      hint: 'set it, or give a default: ${INFLUX_TOKEN:-default}',
    },
    {
      name: 'missing env var inside a string',
      text: 'inputs:\n  http:\n    - url: "https://example.com/?key=${API_KEY}"\n',
      message: 'mon.yaml:3:38: inputs.http[0].url: environment variable API_KEY is not set',
    },
    {
      name: 'missing secret file',
      text: 'api:\n  token: ${file:/nonexistent/mon-token}\n',
      message: 'mon.yaml:2:10: api.token: cannot read secret file /nonexistent/mon-token: no such file',
    },
    {
      name: 'unterminated interpolation',
      text: 'api:\n  token: ${MON_TOKEN\n',
      message: `mon.yaml:2:10: api.token: unterminated '\${' in "\${MON_TOKEN"`,
    },
    {
      name: 'non-loopback api without a token',
      text: 'api:\n  listen: 0.0.0.0:9464\n',
      message: 'mon.yaml:2:11: api.listen: a non-loopback listen address needs api.token',
    },
    {
      name: 'non-loopback listener without a token',
      text: 'inputs:\n  listener:\n    enabled: true\n    listen: ":8186"\n',
      message: 'mon.yaml:4:13: inputs.listener.listen: a non-loopback listen address needs inputs.listener.token',
    },
    {
      name: 'secret file over 64 KiB',
      text: 'api:\n  token: ${file:/dev/zero}\n',
      message: 'mon.yaml:2:10: api.token: secret file /dev/zero is larger than 64KiB',
    },
    {
      name: 'unresolved alias at the alias',
      text: 'host: h\nglobal_tags:\n  team: *a\n',
      message: 'mon.yaml:3:9: invalid YAML: unresolved alias *a',
    },
    {
      name: 'nesting past 64 levels, at the first list too deep',
      text: `global_tags: ${'['.repeat(100)}${']'.repeat(100)}\n`,
      message: 'mon.yaml:1:77: nested too deeply (more than 64 levels)',
    },
    {
      name: 'multi-line interpolated value with quotes and a backslash: never quoted, escaped or not',
      text: 'agent:\n  flush_interval: ${SECRET}\n',
      env: {SECRET: 'pa"ss\\word\nline-two'},
      message: 'mon.yaml:2:19: agent.flush_interval: invalid duration "***": expected a number and a unit (ms, s, m, h, d, w, y), e.g. 250ms, 10s, 5m, 1h30m, 7d, 1y',
    },
    {
      name: 'long interpolated value: not even its first 57 characters',
      text: 'agent:\n  batch_size: ${SECRET}\n',
      env: {SECRET: 'x'.repeat(100)},
      message: 'mon.yaml:2:15: agent.batch_size: expected an integer (e.g. 5000), got string "***"',
    },
    {
      name: 'tls_cert without tls_key',
      text: 'api:\n  tls_cert: server.pem\n',
      message: 'mon.yaml:2:13: api.tls_cert: api.tls_cert and tls_key go together: set api.tls_key too',
    },
    {
      name: 'client CA without a server certificate',
      text: 'inputs:\n  listener:\n    tls_client_ca: ca.pem\n',
      message: 'mon.yaml:3:20: inputs.listener.tls_client_ca: inputs.listener.tls_client_ca needs tls_cert and tls_key (client certificates are checked during the TLS handshake)',
    },
    {
      name: 'connection cap below 1',
      text: 'inputs:\n  listener:\n    max_connections_per_source: 0\n',
      message: 'mon.yaml:3:33: inputs.listener.max_connections_per_source: must be at least 1, got number 0',
    },
    {
      name: 'interpolated value still validated, error at the original node, value redacted',
      text: 'agent:\n  batch_size: ${BATCH}\n',
      env: {BATCH: 'many'},
      message: 'mon.yaml:2:15: agent.batch_size: expected an integer (e.g. 5000), got string "***"',
    },
    {
      name: 'prometheus input without targets',
      text: 'inputs:\n  prometheus:\n    - name: node\n',
      message: "mon.yaml:3:7: inputs.prometheus[0]: needs 'urls' or 'file_sd' (where to scrape)",
    },
    {
      name: 'tcp address without a port',
      text: 'inputs:\n  tcp:\n    - address: localhost\n',
      message: 'mon.yaml:3:16: inputs.tcp[0].address: invalid address "localhost": expected host:port, e.g. db.example.com:5432 or [2001:db8::1]:443',
    },
    {
      name: 'bad retention tier name',
      text: 'retention:\n  raw: 7d\n  weekly: 1y\n',
      message: 'mon.yaml:3:3: retention.weekly: invalid key "weekly": tier names are "raw" or a rollup resolution such as 1m or 1h',
    },
  ]

  for (const c of cases) {
    it(c.name, () => {
      const err = located(() => parseConfigText(c.text, 'mon.yaml', c.env ?? {HOME: '/home/test'}, {cwd: '/tmp'}))
      assert.equal(err.message, c.message)
      assert.equal(err.exitCode, 2)
      if (c.hint !== undefined) assert.equal(err.hint, c.hint)
    })
  }

  it('reports every problem: the first as the message, the rest in details, in file order', () => {
    const text = 'log:\n  levl: info\nagent:\n  batch_size: x\n  jitter: soon\n'
    const err = located(() => parseConfigText(text, 'mon.yaml', {}))
    assert.ok(err instanceof ConfigError)
    assert.equal(err.message, "mon.yaml:2:3: unknown option 'levl' in log")
    assert.equal(err.hint, "did you mean 'level'?")
    assert.equal(
      err.details,
      [
        'mon.yaml:4:15: agent.batch_size: expected an integer (e.g. 5000), got string "x"',
        'mon.yaml:5:11: agent.jitter: invalid duration "soon": expected a number and a unit (ms, s, m, h, d, w, y), e.g. 250ms, 10s, 5m, 1h30m, 7d, 1y',
      ].join('\n'),
    )
    assert.equal(err.problems.length, 3)
  })

  it('an unreadable secret file is a located error', () => {
    // a directory cannot be read as a file, even by root (a chmod 000 file can)
    const dir = tempDir()
    const err = located(() => parseConfigText(`api:\n  token: \${file:${dir}}\n`, 'mon.yaml', {}))
    assert.match(err.message, new RegExp(`^mon\\.yaml:2:10: api\\.token: cannot read secret file ${dir.replace(/[.]/g, '\\.')}: `))
  })
})

describe('config defaults', () => {
  const env = {HOME: '/home/test'}
  const expected: Array<[string, unknown]> = [
    ['host', hostname()],
    ['global_tags', {}],
    ['data_dir', '/home/test/.local/share/mon'],
    ['agent', {interval: '10s', jitter: '0s', flush_interval: '1s', batch_size: 5000, write_concurrency: 4, self_metrics: true}],
    ['store', {type: 'sqlite', path: '/home/test/.local/share/mon/mon.db'}],
    ['inputs.host.enabled', true],
    ['inputs.host.interval', '10s'],
    ['inputs.host.jitter', '0s'],
    ['inputs.host.cpu', {percpu: true, totalcpu: true}],
    ['inputs.host.net', {ignore_protocol_stats: false}],
    ['inputs.http', []],
    ['inputs.tcp', []],
    ['inputs.prometheus', []],
    ['inputs.exec', []],
    ['inputs.listener', {enabled: false, listen: '127.0.0.1:8186', max_body: '32MiB', max_buffered: '256MiB', header_timeout: '10s', request_timeout: '2m', idle_timeout: '65s', max_connections: 4096, max_connections_per_source: 256}],
    ['spool', {max_bytes: '1GiB', fsync: 'batch', segment_bytes: '16MiB', when_full: 'drop_oldest', reserve_bytes: '1MiB'}],
    ['rules', {files: [], default_interval: '1m', jitter: '0s', no_data: 'ok', on_error: 'keep', lookback: '5m', cache: true, cache_step: '10s', history_retention: '30d', incident_retention: '1y'}],
    ['notify', {receivers: [], inhibit_rules: [], time_intervals: [], escalation_policies: [], outbox: {max_attempts: 10, backoff: '10s', max_backoff: '15m', lease: '2m', concurrency: 4, retention: '7d'}}],
    ['retention', {raw: '7d', '1m': '30d', '1h': '1y'}],
    ['api', {listen: '127.0.0.1:9464', header_timeout: '10s', request_timeout: '30s', idle_timeout: '5s', max_connections: 4096, max_connections_per_source: 256, influxdb: {database: 'mon'}}],
    ['log', {level: 'info', format: 'auto'}],
  ]
  const get = (obj: unknown, dotted: string) => dotted.split('.').reduce<unknown>((v, k) => (v as Record<string, unknown>)[k], obj)

  it('an empty file gives every default', () => {
    const loaded = parseConfigText('', '/etc/mon/mon.yaml', env)
    for (const [key, value] of expected) assert.deepEqual(get(loaded.config, key), value, key)
    assert.equal(loaded.dataDir, '/home/test/.local/share/mon')
    assert.deepEqual(loaded.secretPaths, [])
  })

  it('no file at all gives the same config', async () => {
    const home = tempDir()
    const loaded = await loadConfig({env: {HOME: home}, cwd: home})
    assert.equal(loaded.file, undefined)
    const fromEmpty = parseConfigText('# nothing\n', path.join(home, 'mon.yaml'), {HOME: home})
    assert.deepEqual(loaded.config, fromEmpty.config)
    assert.equal(loaded.config.store.type === 'sqlite' && loaded.config.store.path, path.join(home, '.local/share/mon/mon.db'))
  })

  it('without a file, the defaults the build wrote are what the schema gives, key for key and in order', async () => {
    // loadConfig takes them from dist/src/core/config/defaults.json (scripts/config-defaults.js) and never builds the schema
    assert.ok(builtDefaults(), 'npm run build writes dist/src/core/config/defaults.json')
    const home = tempDir()
    for (const env of [{HOME: home}, {HOME: home, MON_DATA_DIR: path.join(home, 'data')}, {HOME: home, XDG_DATA_HOME: path.join(home, 'xdg')}]) {
      const fromBuild = builtDefaultConfig({env, cwd: home})!
      const fromSchema = defaultConfig({env, cwd: home})
      assert.deepEqual(fromBuild, fromSchema)
      assert.equal(JSON.stringify(fromBuild), JSON.stringify(fromSchema)) // the order `mon config show` prints them in
      assert.deepEqual(await loadConfig({env, cwd: home}), fromSchema)
    }
    // each call gets its own copy: a command that changes its config changes no one else's
    const a = builtDefaultConfig({env: {HOME: home}, cwd: home})!
    a.config.rules.files.push('x.yaml')
    assert.deepEqual(builtDefaultConfig({env: {HOME: home}, cwd: home})!.config.rules.files, [])
  })

  it('per-input defaults inherit from agent and fill in list items', () => {
    const text = 'agent:\n  interval: 15s\n  jitter: 2s\ninputs:\n  http:\n    - url: https://example.com\n  tcp:\n    - address: db:5432\n      jitter: 1s\n'
    const {config} = parseConfigText(text, 'mon.yaml', env)
    assert.equal(config.inputs.host.interval, '15s')
    assert.equal(config.inputs.host.jitter, '2s')
    assert.deepEqual(config.inputs.http[0], {
      url: 'https://example.com',
      method: 'GET',
      timeout: '5s',
      follow_redirects: true,
      tls_verify: true,
      interval: '30s',
      jitter: '2s',
    })
    assert.equal(config.inputs.tcp[0]!.jitter, '1s')
  })

  it('influxdb store defaults; numeric version accepted', () => {
    const {config} = parseConfigText('store:\n  type: influxdb\n  url: http://localhost:8086\n  version: 2\n', 'mon.yaml', env)
    assert.deepEqual(config.store, {
      type: 'influxdb',
      url: 'http://localhost:8086',
      version: '2',
      database: 'mon',
      precision: 'ms',
      gzip: 'auto',
      batch_size: 5000,
      batch_bytes: '4MiB',
      concurrency: 2,
      max_retries: 5,
      max_retry_time: '1m',
      timeout: '10s',
      tls_verify: true,
    })
  })

  it('an empty value (`key:`) means the default; a cron interval is accepted', () => {
    const {config} = parseConfigText('global_tags:\ninputs:\n  http:\n  host:\n    interval: "*/5 * * * *"\n', 'mon.yaml', env)
    assert.deepEqual(config.global_tags, {})
    assert.deepEqual(config.inputs.http, [])
    assert.equal(config.inputs.host.interval, '*/5 * * * *')
  })

  it('YAML anchors, merge keys and free-form top-level x- keys', () => {
    const text = 'x-check: &check\n  timeout: 3s\n  interval: 1m\ninputs:\n  http:\n    - <<: *check\n      url: https://a.example\n    - <<: *check\n      url: https://b.example\n      timeout: 1s\n'
    const {config} = parseConfigText(text, 'mon.yaml', env)
    assert.deepEqual(
      config.inputs.http.map((h) => [h.url, h.timeout, h.interval]),
      [
        ['https://a.example', '3s', '1m'],
        ['https://b.example', '1s', '1m'],
      ],
    )
  })

  it('TLS files are relative to the config file', () => {
    const {config} = parseConfigText('api:\n  tls_cert: tls/server.pem\n  tls_key: /etc/mon/server.key\ninputs:\n  listener:\n    tls_cert: a.pem\n    tls_key: a.key\n    tls_client_ca: ca.pem\n', '/srv/mon/mon.yaml', env)
    assert.deepEqual([config.api.tls_cert, config.api.tls_key], ['/srv/mon/tls/server.pem', '/etc/mon/server.key'])
    assert.deepEqual([config.inputs.listener.tls_cert, config.inputs.listener.tls_key, config.inputs.listener.tls_client_ca], ['/srv/mon/a.pem', '/srv/mon/a.key', '/srv/mon/ca.pem'])
  })

  it('a non-loopback listen address is fine with a token', () => {
    const {config} = parseConfigText('api:\n  listen: 0.0.0.0:9464\n  token: t0ken\n', 'mon.yaml', env)
    assert.equal(config.api.listen, '0.0.0.0:9464')
  })
})

describe('config discovery', () => {
  function layout() {
    const root = tempDir()
    const dirs = {home: path.join(root, 'home'), cwd: path.join(root, 'work'), xdg: path.join(root, 'xdg')}
    for (const d of Object.values(dirs)) mkdirSync(d, {recursive: true})
    const files = {
      explicit: path.join(root, 'explicit.yaml'),
      env: path.join(root, 'from-env.yaml'),
      cwd: path.join(dirs.cwd, 'mon.yaml'),
      xdg: path.join(dirs.xdg, 'mon', 'config.yaml'),
      home: path.join(dirs.home, '.config', 'mon', 'config.yaml'),
    }
    return {root, dirs, files}
  }
  const write = (file: string) => {
    mkdirSync(path.dirname(file), {recursive: true})
    writeFileSync(file, 'log:\n  level: debug\n')
  }

  type Which = 'explicit' | 'env' | 'cwd' | 'xdg' | 'home'
  const cases: Array<{name: string; present: Which[]; explicit?: boolean; monConfig?: boolean; xdgSet?: boolean; found: Which | undefined}> = [
    {name: 'explicit path wins over everything', present: ['explicit', 'env', 'cwd', 'xdg'], explicit: true, monConfig: true, xdgSet: true, found: 'explicit'},
    {name: '$MON_CONFIG before ./mon.yaml', present: ['env', 'cwd', 'xdg'], monConfig: true, xdgSet: true, found: 'env'},
    {name: './mon.yaml before the XDG file', present: ['cwd', 'xdg'], xdgSet: true, found: 'cwd'},
    {name: '$XDG_CONFIG_HOME/mon/config.yaml', present: ['xdg'], xdgSet: true, found: 'xdg'},
    {name: '~/.config/mon/config.yaml when XDG_CONFIG_HOME is unset', present: ['home'], found: 'home'},
    {name: 'nothing found', present: [], xdgSet: true, found: undefined},
  ]

  for (const c of cases) {
    it(c.name, () => {
      const {dirs, files} = layout()
      for (const w of c.present) write(files[w])
      const env: NodeJS.ProcessEnv = {HOME: dirs.home}
      if (c.monConfig) env.MON_CONFIG = files.env
      if (c.xdgSet) env.XDG_CONFIG_HOME = dirs.xdg
      const found = findConfigFile(c.explicit ? files.explicit : undefined, env, dirs.cwd)
      assert.equal(found, c.found === undefined ? undefined : files[c.found])
    })
  }

  it('an explicit path or $MON_CONFIG that does not exist is an InputError naming it', () => {
    const {dirs, root} = layout()
    const missing = path.join(root, 'nope.yaml')
    for (const [explicit, env] of [[missing, {HOME: dirs.home}], [undefined, {HOME: dirs.home, MON_CONFIG: missing}]] as const) {
      assert.throws(
        () => findConfigFile(explicit, env, dirs.cwd),
        (err: unknown) => err instanceof InputError && err.message === `config file not found: ${missing}` && err.exitCode === 2,
      )
    }
  })

  it('a relative explicit path resolves against cwd; loadConfig names it relative in errors', async () => {
    const {dirs} = layout()
    writeFileSync(path.join(dirs.cwd, 'custom.yaml'), 'log:\n  levl: info\n')
    assert.equal(findConfigFile('custom.yaml', {HOME: dirs.home}, dirs.cwd), path.join(dirs.cwd, 'custom.yaml'))
    await assert.rejects(loadConfig({path: 'custom.yaml', env: {HOME: dirs.home}, cwd: dirs.cwd}), {
      message: "custom.yaml:2:3: unknown option 'levl' in log",
    })
  })

  it('loadConfig reads the discovered file', async () => {
    const {dirs, files} = layout()
    write(files.cwd)
    const loaded = await loadConfig({env: {HOME: dirs.home}, cwd: dirs.cwd})
    assert.equal(loaded.file, files.cwd)
    assert.equal(loaded.config.log.level, 'debug')
  })

  it('defaultConfigPath follows XDG_CONFIG_HOME, ignoring a relative one', () => {
    assert.equal(defaultConfigPath({HOME: '/h'}), '/h/.config/mon/config.yaml')
    assert.equal(defaultConfigPath({HOME: '/h', XDG_CONFIG_HOME: '/x'}), '/x/mon/config.yaml')
    assert.equal(defaultConfigPath({HOME: '/h', XDG_CONFIG_HOME: 'rel'}), '/h/.config/mon/config.yaml')
  })

  const dataDirCases: Array<{name: string; dataDir?: string; env: NodeJS.ProcessEnv; expected: string}> = [
    {name: 'config data_dir wins', dataDir: '/srv/mon', env: {HOME: '/h', MON_DATA_DIR: '/d', XDG_DATA_HOME: '/x'}, expected: '/srv/mon'},
    {name: 'relative data_dir is relative to the config file', dataDir: 'data', env: {HOME: '/h'}, expected: '/etc/mon/data'},
    {name: 'data_dir with ~', dataDir: '~/mondata', env: {HOME: '/h'}, expected: '/h/mondata'},
    {name: '$MON_DATA_DIR next', env: {HOME: '/h', MON_DATA_DIR: '/d', XDG_DATA_HOME: '/x'}, expected: '/d'},
    {name: '$XDG_DATA_HOME/mon next', env: {HOME: '/h', XDG_DATA_HOME: '/x'}, expected: '/x/mon'},
    {name: '~/.local/share/mon last', env: {HOME: '/h'}, expected: '/h/.local/share/mon'},
  ]
  for (const c of dataDirCases) {
    it(`data dir: ${c.name}`, () => {
      assert.equal(resolveDataDir({data_dir: c.dataDir}, c.env, '/etc/mon', '/cwd'), c.expected)
      const loaded = parseConfigText(c.dataDir ? `data_dir: ${c.dataDir}\n` : '', '/etc/mon/mon.yaml', c.env)
      assert.equal(loaded.dataDir, c.expected)
      assert.equal(loaded.config.data_dir, c.expected)
      assert.equal(loaded.config.store.type === 'sqlite' && loaded.config.store.path, path.join(c.expected, 'mon.db'))
    })
  }

  it('relative store path, rule files and file_sd resolve against the config file', () => {
    const text = 'store:\n  path: db/mon.db\nrules:\n  files: [rules/*.yaml, /abs/r.yaml]\ninputs:\n  prometheus:\n    - file_sd: [targets/*.json]\n'
    const {config} = parseConfigText(text, '/etc/mon/mon.yaml', {HOME: '/h'})
    assert.equal(config.store.type === 'sqlite' && config.store.path, '/etc/mon/db/mon.db')
    assert.deepEqual(config.rules.files, ['/etc/mon/rules/*.yaml', '/abs/r.yaml'])
    assert.deepEqual(config.inputs.prometheus[0]!.file_sd, ['/etc/mon/targets/*.json'])
  })
})

describe('interpolation', () => {
  const dir = tempDir()
  writeFileSync(path.join(dir, 'token'), 's3cret-token\n')
  writeFileSync(path.join(dir, 'two-newlines'), 'abc\n\n')
  const env = {HOME: '/h', NAME: 'world', EMPTY: '', PORT: '9999'}
  const cases: Array<{input: string; expected: string; substituted?: string[]}> = [
    {input: 'plain', expected: 'plain', substituted: []},
    {input: 'hello ${NAME}!', expected: 'hello world!', substituted: ['world']},
    {input: '${MISSING:-fallback}', expected: 'fallback'},
    {input: '${NAME:-fallback}', expected: 'world'},
    {input: '${EMPTY:-used when empty}', expected: 'used when empty'},
    {input: '${MISSING:-}', expected: ''},
    {input: '${MISSING:-a:b/c}', expected: 'a:b/c'},
    {input: '$${NAME}', expected: '${NAME}', substituted: []},
    {input: '$$${NAME}', expected: '$${NAME}'},
    {input: 'cost: $5 and $NAME', expected: 'cost: $5 and $NAME'},
    {input: '${file:token}', expected: 's3cret-token', substituted: ['s3cret-token']},
    {input: `\${file:${path.join(dir, 'two-newlines')}}`, expected: 'abc\n'},
    {input: '${NAME}-${PORT}', expected: 'world-9999', substituted: ['world', '9999']},
  ]
  for (const c of cases) {
    it(`${c.input} → ${JSON.stringify(c.expected)}`, () => {
      const result = interpolateString(c.input, {env, baseDir: dir})
      assert.equal(result.value, c.expected)
      if (c.substituted) assert.deepEqual(result.substituted, c.substituted)
    })
  }

  it('an env value fills a numeric option, and its path is recorded as a secret', () => {
    const text = 'agent:\n  batch_size: ${BATCH}\napi:\n  listen: "127.0.0.1:${PORT}"\n  token: ${TOKEN:-dev-token}\ninputs:\n  http:\n    - url: https://example.com\n      headers:\n        X-Literal: "$${not_a_var}"\n'
    const loaded = parseConfigText(text, 'mon.yaml', {BATCH: '250', PORT: '9999'})
    assert.equal(loaded.config.agent.batch_size, 250)
    assert.equal(loaded.config.api.listen, '127.0.0.1:9999')
    assert.equal(loaded.config.api.token, 'dev-token')
    assert.equal(loaded.config.inputs.http[0]!.headers!['X-Literal'], '${not_a_var}')
    assert.deepEqual(loaded.secretPaths, [
      ['agent', 'batch_size'],
      ['api', 'listen'],
      ['api', 'token'],
    ])
  })

  it('a secret file next to the config (relative path)', () => {
    const loaded = parseConfigText('api:\n  token: ${file:token}\n', path.join(dir, 'mon.yaml'), {})
    assert.equal(loaded.config.api.token, 's3cret-token')
  })
})

describe('redaction', () => {
  const text = [
    'store:',
    '  type: influxdb',
    '  url: https://admin:hunter22@influx.example.com:8086',
    '  username: admin',
    '  password: plain-password',
    'inputs:',
    '  http:',
    '    - url: https://example.com/health',
    '      headers:',
    '        Authorization: Bearer ${API_TOKEN}',
    '        Accept: application/json',
    '  prometheus:',
    '    - urls: [http://localhost:9100/metrics]',
    '      bearer_token: ${file:PROM_TOKEN_FILE}',
    'api:',
    '  token: ${MON_API_TOKEN}',
    'notify:',
    '  receivers:',
    '    - name: chat',
    '      webhook_configs:',
    '        - url: https://hooks.slack.com/services/T000/B000/XXXXSECRET',
    '        - url: https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456',
    '          basic_auth: {username: mon, password: "${MAIL_PASS}"}',
    '      pagerduty_configs:',
    '        - routing_key: ${PD_ROUTING_KEY}',
    '  route: {receiver: chat}',
    '',
  ].join('\n')
  const dir = tempDir()
  writeFileSync(path.join(dir, 'PROM_TOKEN_FILE'), 'prom-file-token\n')
  const env = {API_TOKEN: 'abc123token', MON_API_TOKEN: 'api-secret-value', PD_ROUTING_KEY: 'R0UT1NGKEY', MAIL_PASS: 'mailpass'}
  const loaded = parseConfigText(text, path.join(dir, 'mon.yaml'), env)
  const redacted = redactConfig(loaded.config, loaded.secretPaths) as typeof loaded.config

  const cases: Array<[string, (c: typeof loaded.config) => unknown, unknown]> = [
    ['value from env (whole string)', (c) => c.inputs.http[0]!.headers!.Authorization, '***'],
    ['value from a file', (c) => c.inputs.prometheus[0]!.bearer_token, '***'],
    ['api.token from env', (c) => c.api.token, '***'],
    ['password key', (c) => (c.store.type === 'influxdb' ? c.store.password : undefined), '***'],
    ['URL userinfo', (c) => (c.store.type === 'influxdb' ? c.store.url : undefined), 'https://admin:***@influx.example.com:8086'],
    ['ordinary values stay', (c) => (c.store.type === 'influxdb' ? c.store.username : undefined), 'admin'],
    ['ordinary header stays', (c) => c.inputs.http[0]!.headers!.Accept, 'application/json'],
    ['slack webhook', (c) => c.notify.receivers[0]!.webhook_configs![0]!.url, 'https://hooks.slack.com/***'],
    ['teams webhook', (c) => c.notify.receivers[0]!.webhook_configs![1]!.url, 'https://contoso.webhook.office.com/***'],
    ['routing_key', (c) => c.notify.receivers[0]!.pagerduty_configs![0]!.routing_key, '***'],
    ['everything under auth', (c) => c.notify.receivers[0]!.webhook_configs![1]!.basic_auth, {username: '***', password: '***'}],
  ]
  for (const [name, pick, expected] of cases) {
    it(`redactConfig: ${name}`, () => assert.deepEqual(pick(redacted), expected))
  }

  it('redactConfig leaves the original alone', () => {
    assert.equal(loaded.config.api.token, 'api-secret-value')
  })

  it('secretValues + redactString scrub free text', () => {
    const secrets = secretValues(loaded)
    for (const s of ['abc123token', 'Bearer abc123token', 'prom-file-token', 'api-secret-value', 'plain-password', 'hunter22', 'R0UT1NGKEY', 'mailpass']) {
      assert.ok(secrets.includes(s), `missing ${s}`)
    }
    const log = 'GET failed: Authorization: Bearer abc123token; token=api-secret-value; url https://bob:pw1@example.com/x; https://hooks.slack.com/services/T/B/C'
    assert.equal(
      redactString(log, secrets),
      'GET failed: Authorization: ***; token=***; url https://bob:***@example.com/x; https://hooks.slack.com/***',
    )
  })

  it('redactString masks a secret however a message copied it: raw, JSON-escaped, shortened', () => {
    const secret = 'pa"ss\\word\nline-two-' + 'x'.repeat(60)
    const escaped = JSON.stringify(secret)
    const shortened = JSON.stringify(secret.slice(0, 57) + '...')
    assert.equal(redactString(`a ${secret} b ${escaped} c ${shortened}`, [secret]), 'a *** b "***" c "***..."')
  })

  it('redactString ignores very short values', () => {
    assert.equal(redactString('port 1 of 10', ['1']), 'port 1 of 10')
  })
})

describe('durations and sizes', () => {
  const durations: Array<[string, number, string]> = [
    ['250ms', 250, '250ms'],
    ['10s', 10_000, '10s'],
    ['5m', 300_000, '5m'],
    ['1h30m', 5_400_000, '1h30m'],
    ['7d', 604_800_000, '7d'],
    ['1y', 31_536_000_000, '1y'],
    ['1.5s', 1500, '1s500ms'],
    ['2w', 1_209_600_000, '14d'],
    ['0', 0, '0s'],
  ]
  for (const [text, ms, formatted] of durations) {
    it(`duration ${text}`, () => {
      assert.equal(parseDuration(text), ms)
      assert.equal(formatDuration(ms), formatted)
      assert.equal(parseDuration(formatDuration(ms)), ms)
    })
  }
  for (const bad of ['', '10', 's', '10 s', '5M', '1h-30m', 'abc', '-5s']) {
    it(`duration ${JSON.stringify(bad)} is an InputError`, () => assert.throws(() => parseDuration(bad), InputError))
  }

  const sizes: Array<[string | number, number]> = [
    ['1GiB', 1024 ** 3],
    ['512MB', 512_000_000],
    ['32MiB', 32 * 1024 ** 2],
    ['16KiB', 16_384],
    ['4096', 4096],
    [4096, 4096],
    ['1.5KiB', 1536],
    ['1 kb', 1000],
  ]
  for (const [text, bytes] of sizes) it(`size ${text}`, () => assert.equal(parseSize(text), bytes))
  for (const bad of ['', 'GiB', '1 gigabyte', '-1MB', '1PB']) {
    it(`size ${JSON.stringify(bad)} is an InputError`, () => assert.throws(() => parseSize(bad), InputError))
  }
  it('formatSize', () => {
    assert.deepEqual([1024 ** 3, 16 * 1024 ** 2, 1000].map(formatSize), ['1GiB', '16MiB', '1000B'])
  })
})

describe('did you mean', () => {
  const cases: Array<[string, string[], string | undefined]> = [
    ['intervl', ['interval', 'jitter'], 'interval'],
    ['tiemout', ['timeout', 'interval'], 'timeout'],
    ['Store', ['store', 'spool'], 'store'],
    ['bytes', ['max_bytes', 'fsync'], 'max_bytes'],
    ['zzzz', ['store', 'spool'], undefined],
  ]
  for (const [word, candidates, expected] of cases) it(`${word} → ${expected}`, () => assert.equal(didYouMean(word, candidates), expected))
})

describe('sample config', () => {
  const env: NodeJS.ProcessEnv = {HOME: '/home/test'}

  it('as written means exactly the defaults', () => {
    const sample = parseConfigText(sampleConfig(), '/etc/mon/mon.yaml', env)
    const empty = parseConfigText('', '/etc/mon/mon.yaml', env)
    assert.deepEqual(sample.config, empty.config)
  })

  it('with every optional block uncommented it still validates', () => {
    const allEnv = {...env, ...Object.fromEntries(SAMPLE_REQUIRED_ENV.map((k) => [k, `value-of-${k}`]))}
    const loaded = parseConfigText(sampleConfig({uncommented: true}), '/etc/mon/mon.yaml', allEnv)
    assert.equal(loaded.config.store.type, 'influxdb')
    assert.equal(loaded.config.inputs.http.length, 1)
    assert.equal(loaded.config.inputs.tcp.length, 1)
    assert.equal(loaded.config.inputs.prometheus.length, 1)
    assert.equal(loaded.config.inputs.exec.length, 1)
    assert.equal(loaded.config.api.token, 'value-of-MON_API_TOKEN')
  })

  it('documents every top-level section and shows secrets as ${ENV}', () => {
    const sample = sampleConfig()
    const topLevel = Object.keys(parseConfigText('', 'mon.yaml', env).config)
    for (const key of topLevel) assert.match(sample, new RegExp(`^#? ?${key}:`, 'm'), key)
    assert.match(sample, /token: \$\{INFLUX_TOKEN\}/)
    // Every live option line has a comment line above it (or belongs to a commented block).
    const doc = parseDocument(sample)
    assert.deepEqual(doc.errors, [])
  })
})

describe('a validated config file is kept for the next run of the same text (validated.ts)', () => {
  const TEXT = 'store:\n  type: sqlite\n  path: db/mon.db\ninputs:\n  host:\n    interval: 15s\nnotify:\n  receivers:\n    - name: ops\n      webhook_configs:\n        - url: http://127.0.0.1:9/hook\n  route:\n    receiver: ops\n'
  function setup(text = TEXT) {
    const root = tempDir()
    const file = path.join(root, 'mon.yaml')
    writeFileSync(file, text)
    const env: NodeJS.ProcessEnv = {HOME: path.join(root, 'home'), XDG_CACHE_HOME: path.join(root, 'cache'), MON_CONFIG: file}
    const entry = () => validatedEntryPaths(file, env).find((f) => existsSync(f))
    return {root, file, env, entry}
  }
  /** Changes what the entry holds, so a load that takes it shows it. */
  function tamper(entry: string, batchSize: number) {
    const kept = JSON.parse(readFileSync(entry, 'utf8')) as {data: {agent: {batch_size: number}}}
    kept.data.agent.batch_size = batchSize
    writeFileSync(entry, JSON.stringify(kept))
  }

  it('the second load of the same text gives what the first did, from the entry', async () => {
    const {root, env, entry} = setup()
    const first = await loadConfig({env, cwd: root})
    const kept = entry()
    assert.ok(kept, 'an entry was written')
    const second = await loadConfig({env, cwd: root})
    assert.deepEqual(second, first)
    assert.equal(second.config.store.type === 'sqlite' && second.config.store.path, path.join(root, 'db', 'mon.db'))
    tamper(kept, 4321)
    assert.equal((await loadConfig({env, cwd: root})).config.agent.batch_size, 4321, 'the entry was used')
    assert.equal((await loadConfig({env: {...env, MON_CONFIG_CACHE: '0'}, cwd: root})).config.agent.batch_size, 5000, 'MON_CONFIG_CACHE=0 validates')
  })

  it('another text is validated again, and a problem is reported as without an entry', async () => {
    const {root, file, env, entry} = setup()
    await loadConfig({env, cwd: root})
    tamper(entry()!, 4321)
    writeFileSync(file, TEXT.replace('15s', '20s'))
    const loaded = await loadConfig({env, cwd: root})
    assert.equal(loaded.config.agent.batch_size, 5000)
    assert.equal(loaded.config.inputs.host.interval, '20s')
    writeFileSync(file, TEXT.replace('type: sqlite', 'type: sqlit'))
    const fresh = await loadConfig({env: {...env, MON_CONFIG_CACHE: '0'}, cwd: root}).catch((err: unknown) => err)
    assert.ok(fresh instanceof ConfigError)
    await assert.rejects(loadConfig({env, cwd: root}), (err: unknown) => err instanceof ConfigError && err.message === fresh.message && err.exitCode === 2)
    assert.match(fresh.message, /mon\.yaml:2:9: store\.type: expected one of/)
  })

  it('a text with ${…} is never kept: its values come from outside the file', async () => {
    const {root, env, entry} = setup(TEXT.replace('http://127.0.0.1:9/hook', '${HOOK_URL}'))
    const loaded = await loadConfig({env: {...env, HOOK_URL: 'http://127.0.0.1:9/a'}, cwd: root})
    assert.deepEqual(loaded.secretPaths, [['notify', 'receivers', '0', 'webhook_configs', '0', 'url']])
    assert.equal(entry(), undefined)
  })

  it('an entry made without checking the templates does not serve a command that uses them', async () => {
    const {root, file, env, entry} = setup()
    // a broken template: only a command that uses notify sees it
    writeFileSync(file, TEXT.replace('receiver: ops\n', 'receiver: ops\n  templates:\n    define:\n      bad: "{{ .Nope "\n'))
    await loadConfig({env, cwd: root, sections: STORE_SECTIONS})
    assert.ok(entry())
    await assert.rejects(loadConfig({env, cwd: root}), ConfigError)
  })

  it('an entry is readable by its owner only', async () => {
    const {root, env, entry} = setup()
    await loadConfig({env, cwd: root})
    const {statSync} = await import('node:fs')
    assert.equal(statSync(entry()!).mode & 0o777, 0o600)
  })
})
