import {formatDuration, parseDuration} from '../config/duration.js'
import {DEFAULT_MAX_CONNECTIONS, isCronExpression, type MonConfig} from '../config/schema.js'

/**
 * What `mon install systemd` and `mon install crontab` print: a hardened unit for the daemon, or
 * crontab lines for cron mode. Pure functions of the config and the paths, so they are tested as text.
 */
/** Open files the unit allows: the two server sockets at their default caps, with room to spare. */
export const UNIT_NOFILE_LIMIT = 65_536

export interface UnitOptions {
  /** absolute path of the node binary */
  node: string
  /** absolute path of bin/run.js */
  bin: string
  /** absolute path of the config file, when there is one */
  config?: string
  /** data directory the daemon writes */
  dataDir: string
  /** a user unit (systemctl --user) instead of a system one */
  user: boolean
}

export function systemdUnit(o: UnitOptions): string {
  const exec = [o.node, o.bin, 'daemon', ...(o.config ? ['--config', o.config] : []), '--log-format', 'json'].map(quoteArg).join(' ')
  const hardening = o.user
    ? ['NoNewPrivileges=yes', 'PrivateTmp=yes', 'LockPersonality=yes', 'RestrictRealtime=yes', 'RestrictSUIDSGID=yes']
    : [
        '# hardening: mon needs its data dir, loopback/network sockets and read access to /proc and /sys',
        'NoNewPrivileges=yes',
        'ProtectSystem=strict',
        `ReadWritePaths=${o.dataDir}`,
        'ProtectHome=read-only',
        'PrivateTmp=yes',
        'PrivateDevices=yes',
        'ProtectKernelTunables=yes',
        'ProtectKernelModules=yes',
        'ProtectKernelLogs=yes',
        'ProtectControlGroups=yes',
        'ProtectClock=yes',
        'ProtectHostname=yes',
        'RestrictSUIDSGID=yes',
        'RestrictRealtime=yes',
        'RestrictNamespaces=yes',
        'LockPersonality=yes',
        'RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6 AF_NETLINK',
        'SystemCallArchitectures=native',
        'CapabilityBoundingSet=',
        'AmbientCapabilities=',
        'UMask=0077',
        '# MemoryDenyWriteExecute is left off: the V8 JIT needs writable executable memory',
      ]
  return [
    '[Unit]',
    'Description=mon monitoring daemon (collect, alert, notify, API)',
    'Documentation=https://github.com/ (see README.md of your mon checkout)',
    'After=network-online.target',
    'Wants=network-online.target',
    '',
    '[Service]',
    'Type=simple',
    `ExecStart=${exec}`,
    'ExecReload=/bin/kill -HUP $MAINPID',
    `Environment=MON_DATA_DIR=${o.dataDir}`,
    'Environment=NODE_ENV=production',
    ...(o.user ? [] : ['StateDirectory=mon', 'DynamicUser=no']),
    'Restart=on-failure',
    'RestartSec=5s',
    '# SIGTERM flushes the spool and finishes in-flight notifications; give it time before SIGKILL',
    'KillSignal=SIGTERM',
    'TimeoutStopSec=45s',
    `# above max_connections of the listener and the API (${DEFAULT_MAX_CONNECTIONS} each by default) plus files and store connections,`,
    '# so accept() never fails with EMFILE (which resets every client, not only the slow ones)',
    `LimitNOFILE=${UNIT_NOFILE_LIMIT}`,
    ...hardening,
    '',
    '[Install]',
    `WantedBy=${o.user ? 'default.target' : 'multi-user.target'}`,
    '',
  ].join('\n')
}

export interface CronOptions {
  node: string
  bin: string
  config?: string
  dataDir: string
  /** rule group intervals (durations or cron expressions) */
  ruleIntervals: string[]
}

export interface CronLine {
  schedule: string
  command: string
  comment: string
}

/**
 * Cron mode: one `mon collect --once --input …` line per distinct cron expression of the input
 * schedules, `mon alerts eval --once` at the shortest rule interval, and a nightly retention pass.
 * Cron's resolution is a minute: shorter intervals run every minute (the note says so). When the
 * rules run in the same minutes as a collect line, the evaluation follows the collection on that
 * line (`…; mon alerts eval --once`): two lines would start together, and the evaluation would
 * finish before the points of its own minute were written, lagging one run.
 */
export function crontabLines(cfg: MonConfig, o: CronOptions): CronLine[] {
  const base = [o.node, o.bin].map(quoteArg).join(' ')
  const conf = o.config ? ` --config ${quoteArg(o.config)}` : ''
  const env = `MON_DATA_DIR=${quoteArg(o.dataDir)} `
  const bySchedule = new Map<string, string[]>()
  const add = (schedule: string, input: string) => bySchedule.set(schedule, [...(bySchedule.get(schedule) ?? []), input])
  if (cfg.inputs.host.enabled) add(cfg.inputs.host.interval ?? cfg.agent.interval, 'host')
  const named = (kind: string, items: Array<{name?: string; interval: string}>) => items.forEach((item, i) => add(item.interval, item.name ? `${kind}:${item.name}` : `${kind}[${i}]`))
  named('http', cfg.inputs.http)
  named('tcp', cfg.inputs.tcp)
  named('prometheus', cfg.inputs.prometheus)
  named('exec', cfg.inputs.exec)
  // schedules that become the same cron expression (10s and 1m: every minute) share one line
  const byExpression = new Map<string, {notes: string[]; inputs: string[]}>()
  for (const [schedule, inputs] of bySchedule) {
    const cron = toCron(schedule)
    let line = byExpression.get(cron.expression)
    if (!line) byExpression.set(cron.expression, (line = {notes: [], inputs: []}))
    line.notes.push(`every ${schedule}${cron.note ? ` (${cron.note})` : ''}`)
    line.inputs.push(...inputs)
  }
  const lines: CronLine[] = []
  for (const [expression, line] of byExpression) {
    lines.push({
      schedule: expression,
      command: `${env}${base} collect --once${conf} ${line.inputs.map((i) => `--input ${quoteArg(i)}`).join(' ')} >/dev/null`,
      comment: `inputs ${line.notes.join(', ')}: ${line.inputs.join(', ')}`,
    })
  }

  if (o.ruleIntervals.length > 0) {
    const shortest = [...o.ruleIntervals].sort((a, b) => scheduleMs(a) - scheduleMs(b))[0]
    const cron = toCron(shortest)
    const evaluate = `${env}${base} alerts eval --once${conf} >/dev/null`
    const rules = `rules every ${shortest}${cron.note ? ` (${cron.note})` : ''}`
    const collecting = lines.find((l) => l.schedule === cron.expression)
    if (collecting) {
      collecting.command += `; ${evaluate}`
      collecting.comment += `; then the ${rules}: evaluate what was just collected, and notify`
    } else {
      lines.push({schedule: cron.expression, command: evaluate, comment: `${rules}: evaluate and notify`})
    }
  }

  lines.push({schedule: '17 3 * * *', command: `${env}${base} store retention apply${conf} >/dev/null`, comment: 'nightly: roll up and prune per the retention tiers'})
  return lines
}

export function renderCrontab(lines: CronLine[]): string {
  return ['# mon (cron mode) — install with: mon install crontab | crontab -   (or append to yours)', 'SHELL=/bin/sh', ...lines.flatMap((l) => [`# ${l.comment}`, `${l.schedule} ${l.command}`]), ''].join('\n')
}

function scheduleMs(s: string): number {
  return isCronExpression(s) ? 60_000 : parseDuration(s)
}

/** A duration as a cron expression, to cron's one-minute resolution. */
export function toCron(schedule: string): {expression: string; note?: string} {
  if (isCronExpression(schedule)) {
    const fields = schedule.trim().split(/\s+/)
    // 6 fields: seconds first, which cron does not have
    return fields.length === 6 ? {expression: fields.slice(1).join(' '), note: 'seconds dropped: cron runs at minute resolution'} : {expression: schedule.trim()}
  }

  const ms = parseDuration(schedule)
  const minutes = ms / 60_000
  if (minutes < 1) return {expression: '* * * * *', note: `cron runs at most once a minute, not every ${formatDuration(ms)}; use mon daemon for shorter intervals`}
  if (Number.isInteger(minutes) && minutes < 60 && 60 % minutes === 0) return {expression: minutes === 1 ? '* * * * *' : `*/${minutes} * * * *`}
  const hours = ms / 3_600_000
  if (Number.isInteger(hours) && hours < 24 && 24 % hours === 0) return {expression: hours === 1 ? '0 * * * *' : `0 */${hours} * * *`}
  if (ms === 86_400_000) return {expression: '0 0 * * *'}
  return {expression: `*/${Math.max(1, Math.round(minutes))} * * * *`, note: `${formatDuration(ms)} does not divide an hour or a day; approximated`}
}

function quoteArg(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`
}
