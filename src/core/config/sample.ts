/**
 * The commented sample written by `mon config init`. It parses and validates as written (the
 * tests check), and as written it means exactly the defaults: optional blocks are commented out.
 *
 * Template markers (first column, stripped on output):
 *   `~`  an optional line: commented out by default, live with {uncommented: true}
 *   `=`  a default-only line: live by default, commented out with {uncommented: true}
 */
const TEMPLATE = `# mon configuration. Every option is optional; the values shown are the defaults.
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

# Where metrics are stored: an embedded SQLite database, or InfluxDB 1.x/2.x.
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

inputs:
  # Host metrics (cpu, mem, swap, disk, diskio, net, system, processes, kernel), Telegraf-compatible names.
  host:
    # Collect host metrics at all.
    enabled: true
    # Collection interval (default: agent.interval); a duration or a cron expression.
~    interval: 10s
    # Extra tags for these points.
~    tags: {role: web}
    cpu:
      # One series per CPU core.
      percpu: true
      # One series for all cores together (cpu=cpu-total).
      totalcpu: true
    disk:
      # Filesystem types to skip.
~      ignore_fs: [tmpfs, devtmpfs, overlay, squashfs]
      # Only these mount points (default: all).
~      mount_points: [/, /var]
    net:
      # Only these interfaces (default: all but loopback).
~      interfaces: [eth0]
      # Skip the protocol counters (netstat).
      ignore_protocol_stats: false
    diskio:
      # Only these devices (default: all).
~      devices: [sda, nvme0n1]

  # HTTP checks: response time, status code, optional body match.
~  http:
~    - name: homepage
~      # URL to request.
~      url: https://example.com/
~      # HTTP method.
~      method: GET
~      # Request headers; secrets belong in the environment.
~      headers:
~        Authorization: Bearer \${EXAMPLE_API_TOKEN}
~      # Request body.
~      # body: '{"ping": true}'
~      # Accepted status codes (default: any 2xx or 3xx).
~      expect_status: [200, 204]
~      # Regular expression the body must match.
~      body_regex: "Example Domain"
~      # Request timeout.
~      timeout: 5s
~      # Follow redirects.
~      follow_redirects: true
~      # Verify the TLS certificate.
~      tls_verify: true
~      # Check interval.
~      interval: 30s

  # TCP checks: can we connect (and does the reply look right)?
~  tcp:
~    - name: postgres
~      # host:port to connect to.
~      address: db.example.com:5432
~      # Bytes to send after connecting.
~      # send: "PING\\r\\n"
~      # Text the reply must contain.
~      # expect: "+PONG"
~      # Connect (and reply) timeout.
~      timeout: 5s
~      # Check interval.
~      interval: 30s

  # Prometheus endpoints to scrape.
~  prometheus:
~    - name: node
~      # URLs of /metrics endpoints.
~      urls: [http://localhost:9100/metrics]
~      # Prometheus file_sd target files (paths or globs).
~      # file_sd: [/etc/mon/targets/*.json]
~      # Scrape interval.
~      interval: 30s
~      # Scrape timeout.
~      timeout: 10s
~      # 1: one measurement per metric family; 2: one "prometheus" measurement.
~      metric_version: 1
~      # Bearer token sent with each scrape.
~      bearer_token: \${PROMETHEUS_TOKEN:-}

  # Commands whose output is parsed as metrics.
~  exec:
~    - name: queue
~      # A command line (run without a shell) or a list of arguments.
~      command: [/usr/local/bin/queue-stats, --json]
~      # Output format: influx (line protocol), json or prometheus.
~      data_format: json
~      # Measurement name for json output.
~      name_override: queue
~      # json output: keys whose values become tags.
~      tag_keys: [queue]
~      # Kill the command after this long.
~      timeout: 10s
~      # Run interval.
~      interval: 60s

  # Accept pushed line protocol over HTTP (POST /write, InfluxDB-compatible).
  listener:
    # Start the listener.
    enabled: false
    # Address to listen on; anything but loopback needs a token.
    listen: 127.0.0.1:8186
    # Bearer token clients must send.
~    token: \${MON_LISTENER_TOKEN}
    # Largest request body accepted.
    max_body: 32MiB
    # Most request bytes held at once across concurrent writes; beyond it clients get 503 and retry.
    max_buffered: 256MiB
    # Tags added to pushed points that lack them.
~    tags: {source: push}
    # Close a connection whose request headers are not complete by then (slow clients).
    header_timeout: 10s
    # Longest a whole request may take, body included.
    request_timeout: 2m
    # Close keep-alive connections idle this long.
    idle_timeout: 65s
    # Connections one client address may hold; new ones beyond are closed at once.
    max_connections_per_source: 256
    # Connections in all; keep it under the open-files limit (ulimit -n).
    max_connections: 4096
    # Serve HTTPS with this certificate and key (PEM, relative to this file).
~    tls_cert: /etc/mon/tls/server.pem
~    tls_key: /etc/mon/tls/server.key
    # Only accept clients with a certificate this CA signed.
~    tls_client_ca: /etc/mon/tls/ca.pem

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

log:
  # debug, info, warn or error.
  level: info
  # auto (text on a terminal, JSON otherwise), text or json.
  format: auto
`

export interface SampleOptions {
  /** Turn every optional block on (InfluxDB store, all inputs, tokens): for tests and docs. */
  uncommented?: boolean
}

/** Environment variables the uncommented sample refers to without a default. */
export const SAMPLE_REQUIRED_ENV = ['INFLUX_TOKEN', 'EXAMPLE_API_TOKEN', 'MON_LISTENER_TOKEN', 'MON_API_TOKEN', 'SLACK_BOT_TOKEN', 'PAGERDUTY_ROUTING_KEY', 'SMTP_PASSWORD'] as const

export function sampleConfig(opts: SampleOptions = {}): string {
  const lines = TEMPLATE.split('\n')
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
