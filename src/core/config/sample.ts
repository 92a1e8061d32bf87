import {COLLECTORS} from '../collectors/registry.js'

/**
 * The commented sample written by `mon config init`. It parses and validates as written (the
 * tests check), and as written it means exactly the defaults: optional blocks are commented out.
 *
 * Template markers (first column, stripped on output):
 *   `~`  an optional line: commented out by default, live with {uncommented: true}
 *   `=`  a default-only line: live by default, commented out with {uncommented: true}
 */
const HEAD = `# mon configuration. Every option is optional; the values shown are the defaults.
# Looked up in order: --config, $MON_CONFIG, ./mon.yaml, $XDG_CONFIG_HOME/mon/config.yaml.
# Any string value can use \${ENV_VAR}, \${ENV_VAR:-default} or \${file:/path/to/secret};
# write $\${ for a literal \${. Interpolated values are treated as secrets and redacted.

# Name of this machine, added as the "host" tag (default: the system hostname).
~host: web-01
# Tags added to every point collected here.
=global_tags: {}
~global_tags:
~  region: eu-west
# Where mon keeps its database, spool and state (default: $MON_DATA_DIR or ~/.local/share/mon).
~data_dir: /var/lib/mon

agent:
  # Default collection interval (used by inputs.host).
  interval: 10s
  # Random delay added to each collection to spread load (inputs may override).
  jitter: 0s
  # How often collected points are flushed to the store.
  flush_interval: 1s
  # Largest number of points written to the store at once.
  batch_size: 5000
  # Store writes in flight at once while the store keeps up.
  write_concurrency: 4
  # Time zone of cron intervals (default: the system's).
~  timezone: Europe/Berlin
  # Write mon's own metrics (measurement mon_internal) every interval.
  self_metrics: true

# Where metrics are stored: an embedded SQLite database, InfluxDB 1.x/2.x, VictoriaMetrics, or
# (read-only) a Prometheus server.
store:
=  # Embedded database (default path: <data_dir>/mon.db).
=  type: sqlite
=  # path: /var/lib/mon/mon.db
  # Or InfluxDB: uncomment this block and comment out the sqlite lines above.
~  type: influxdb
~  # Base URL of the InfluxDB server.
~  url: http://localhost:8086
~  # API version: auto (detect), 1 or 2.
~  version: auto
~  # 1.x: database, retention policy and credentials.
~  database: mon
~  # retention_policy: autogen
~  # username: mon
~  password: \${INFLUX_PASSWORD:-}
~  # 2.x: organization, bucket and API token.
~  org: my-org
~  bucket: mon
~  token: \${INFLUX_TOKEN}
~  # Timestamp precision sent: ns, us, ms or s.
~  precision: ms
~  # Compress write requests: auto (unless the server is on loopback), true or false.
~  gzip: auto
~  # Points per write request.
~  batch_size: 5000
~  # A write request also ends at this size (before compression).
~  batch_bytes: 4MiB
~  # Write requests in flight at once.
~  concurrency: 2
~  # Retries of a failed write (server errors, 429, network), with backoff, jitter and Retry-After.
~  max_retries: 5
~  # Give up retrying a write after this long.
~  max_retry_time: 1m
~  # Timeout of each request.
~  timeout: 10s
~  # Verify the server's TLS certificate.
~  tls_verify: true
  # Or VictoriaMetrics (docs/victoriametrics.md): line protocol in, PromQL's API out; m.f is m_f there.
  #   type: victoriametrics
  #   url: http://localhost:8428
  #   # a cluster: vminsert /insert/<tenant>/influx/write, vmselect /select/<tenant>/prometheus
  #   tenant: 0
  #   # vmselect's own address, when it is not url
  #   read_url: http://vmselect:8481
  #   token: \${VM_TOKEN}
  #   (precision, gzip, batch_size, batch_bytes, concurrency, max_retries, max_retry_time,
  #   timeout and tls_verify as for InfluxDB)
  # Or a Prometheus server, read-only: mon queries it and evaluates rules, never writes there.
  #   type: prometheus
  #   url: http://localhost:9090
  #   token: \${PROMETHEUS_TOKEN}
  #   timeout: 10s

`

// Everything after the inputs section.
const TAIL = `

# The on-disk queue between collection and the store.
spool:
  # Most bytes on disk; see when_full.
  max_bytes: 1GiB
  # When to fsync: always, batch (after each batch) or never.
  fsync: batch
  # Size of each spool segment file.
  segment_bytes: 16MiB
  # When max_bytes is reached: drop_oldest (the oldest points are dropped and counted) or
  # reject (pushers get 503 + Retry-After, scheduled inputs wait; nothing taken is dropped).
  when_full: drop_oldest
  # Kept free while there is room, released when the disk fills (so mon can always restart).
  reserve_bytes: 1MiB

rules:
  # Alert rule files (paths or globs, relative to this file).
=  files: []
~  files:
~    - rules/*.yaml
  # Evaluation interval of rules that do not set one.
  default_interval: 1m
  # Each group's run starts up to this long after its time (a group's own jitter wins).
  jitter: 0s
  # State of a rule whose query returns no data: ok, alerting or keep.
  no_data: ok
  # State of a rule whose query fails: ok, alerting or keep.
  on_error: keep
  # How far back a selector without [range] looks for its latest value.
  lookback: 5m
  # Share query results between rules evaluated in the same step.
  cache: true
  # Query windows end on a multiple of this (rules evaluated within one step share results).
  cache_step: 10s
  # How long alert transitions and resolved alerts are kept in the state database.
  history_retention: 30d
  # How long ended incidents and the audit trail are kept (the daemon prunes hourly).
  incident_retention: 1y

# Limits for every query: mon query, rule evaluation, mon top.
query:
  # A query still running after this fails with "query timed out" (mon query --timeout overrides).
  timeout: 10s
  # While its query APIs are asked (Grafana refreshing dashboards), the daemon keeps recently read
  # chunks inflated, up to this many bytes; emptied a minute after the last query. 0: none.
  chunk_cache: 16MiB

# Notifications: receivers and their channels, the route tree, inhibition, mute intervals,
# escalation and the durable outbox. Every channel's options: docs/notifications.md.
# Credentials (webhook URLs, tokens, passwords) must come from \${ENV} or \${file:…}.
notify:
  # How people reach mon (the daemon's API), linked from notifications.
~  external_url: https://mon.example.com
  # Who can be notified: a name and any number of channels (slack_configs, teams_configs,
  # webhook_configs, email_configs, pagerduty_configs, opsgenie_configs, twilio_configs,
  # ntfy_configs, alertmanager_configs).
=  receivers: []
~  receivers:
~    - name: team-slack
~      slack_configs:
~        - bot_token: \${SLACK_BOT_TOKEN}
~          channel: "#alerts"
~    - name: db-oncall
~      pagerduty_configs:
~        - routing_key: \${PAGERDUTY_ROUTING_KEY}
~      email_configs:
~        - to: [dba@example.com]
~          from: mon@example.com
~          smarthost: smtp.example.com:587
~          auth_username: mon@example.com
~          auth_password: \${SMTP_PASSWORD}
~    - name: manager
~      ntfy_configs:
~        - topic: mon-manager-7f3k2
~          token: \${NTFY_TOKEN:-}
  # Where alerts go (Alertmanager semantics): the deepest matching route, and later siblings
  # when a matching route says continue: true. Children inherit receiver, group_by and timers.
~  route:
~    receiver: team-slack
~    group_by: [alertname]
~    # Wait this long before the first notification of a new group (to batch alerts).
~    group_wait: 30s
~    # How often a group is looked at again for new or resolved alerts.
~    group_interval: 5m
~    # Notify again while anything unacknowledged still fires.
~    repeat_interval: 4h
~    routes:
~      - matchers: ['team="db"', 'severity="critical"']
~        receiver: db-oncall
~        escalation: db-critical
~      - matchers: ['severity="info"']
~        mute_time_intervals: [nights]
  # While a source alert fires, target alerts with the same "equal" labels are not notified.
=  inhibit_rules: []
~  inhibit_rules:
~    - source_matchers: ['severity="critical"']
~      target_matchers: ['severity="warning"']
~      equal: [alertname, host]
  # Named times for routes' mute_time_intervals and active_time_intervals.
=  time_intervals: []
~  time_intervals:
~    - name: nights
~      time_intervals:
~        - times: [{start_time: "22:00", end_time: "24:00"}, {start_time: "00:00", end_time: "07:00"}]
~          location: Europe/Berlin
  # Unacknowledged alerts go further, step by step, until acknowledged or resolved.
=  escalation_policies: []
~  escalation_policies:
~    - name: db-critical
~      steps:
~        - {after: 15m, receiver: manager}
  # Every notification is stored before it is sent, retried, and kept as dead when it fails.
  outbox:
    # Attempts before a notification is dead (see mon notify outbox).
    max_attempts: 10
    # First retry delay; it doubles (with jitter) up to max_backoff. Retry-After is honoured.
    backoff: 10s
    max_backoff: 15m
    # A crashed sender's notifications are taken over after this long; longer than any timeout.
    lease: 2m
    # Notifications sent at once.
    concurrency: 4
    # Delivered, dead and dropped notifications are kept this long.
    retention: 7d

# How long each tier is kept: raw points, and 1m / 1h rollups. Replaces the whole table.
retention:
  raw: 7d
  1m: 30d
  1h: 1y

# The daemon's health/API server.
api:
  # Address to listen on; anything but loopback needs a token.
  listen: 127.0.0.1:9464
  # Bearer token for API requests (mon alerts --remote sends it from MON_API_TOKEN).
~  token: \${MON_API_TOKEN}
  # The same limits as inputs.listener; here a whole request gets 30s and an idle connection 5s.
  header_timeout: 10s
  request_timeout: 30s
  idle_timeout: 5s
  max_connections_per_source: 256
  max_connections: 4096
  # Serve HTTPS; mon alerts --remote https://… --ca FILE trusts a private CA.
~  tls_cert: /etc/mon/tls/server.pem
~  tls_key: /etc/mon/tls/server.key
  # InfluxDB 1.x's /ping and /query for Grafana and the influx CLI: the database they name (docs/grafana.md).
  influxdb:
    database: mon

log:
  # debug, info, warn or error.
  level: info
  # auto (text on a terminal, JSON otherwise), text or json.
  format: auto

# Cluster mode on NATS JetStream (docs/cluster.md): agents publish to a replicated stream, writers
# drain it into the store, scrape targets are sharded, daemons share incidents and page once.
~cluster:
~  enabled: true
~  nats:
~    servers: [nats://127.0.0.1:4222]
~    token: \${NATS_TOKEN}
~  # Prefix of the streams, consumers and buckets mon creates.
~  name: mon
~  # Publish collected points to the stream instead of writing the store.
~  forward: false
~  stream:
~    replicas: 3
~    max_bytes: 10GiB
~  sharding:
~    # off, auto (divided among live collectors) or a static i/N.
~    mode: off
~  ha:
~    enabled: false
~    lease: 15s
`

/** `inputs:` and each input's own sample block (collectors/registry.ts order), indented under it. */
function inputsSection(): string {
  const blocks = Object.values(COLLECTORS).map((def) => indentBlock(def.sample, '  '))
  return 'inputs:\n' + blocks.join('\n\n')
}

/** Indents a template block, keeping its markers in the first column. */
function indentBlock(block: string, indent: string): string {
  return block
    .split('\n')
    .map((line) => (line === '' ? line : line[0] === '~' || line[0] === '=' ? line[0] + indent + line.slice(1) : indent + line))
    .join('\n')
}

const TEMPLATE = HEAD + inputsSection() + TAIL

export interface SampleOptions {
  /** Turn every optional block on (InfluxDB store, all inputs, tokens): for tests and docs. */
  uncommented?: boolean
}

/** Environment variables the uncommented sample refers to without a default. */
export const SAMPLE_REQUIRED_ENV = ['INFLUX_TOKEN', 'EXAMPLE_API_TOKEN', 'MON_LISTENER_TOKEN', 'MON_API_TOKEN', 'SLACK_BOT_TOKEN', 'PAGERDUTY_ROUTING_KEY', 'SMTP_PASSWORD', 'NATS_TOKEN'] as const

export function sampleConfig(opts: SampleOptions = {}): string {
  return renderTemplate(TEMPLATE, opts)
}

/** A template with `~` / `=` markers (the whole sample, or one input's block) as YAML. */
export function renderTemplate(template: string, opts: SampleOptions = {}): string {
  const lines = template.split('\n')
  const out: string[] = []
  for (let i = 0; i < lines.length; ) {
    const marker = lines[i]![0]
    if (marker !== '~' && marker !== '=') {
      out.push(lines[i++]!)
      continue
    }
    // A run of lines with the same marker is one block: live, or commented out as a unit.
    const run: string[] = []
    while (i < lines.length && lines[i]![0] === marker) run.push(lines[i++]!.slice(1))
    const live = (marker === '~') === Boolean(opts.uncommented)
    out.push(...(live ? run : commentOut(run)))
  }
  return out.join('\n')
}

/** Telegraf style: `# ` at the block's indentation, the block's own comments become `## `. */
function commentOut(block: string[]): string[] {
  const indent = Math.min(...block.map((l) => /^ */.exec(l)![0].length))
  return block.map((l) => ' '.repeat(indent) + '# ' + l.slice(indent).replace(/^(\s*)# /, '$1## '))
}
