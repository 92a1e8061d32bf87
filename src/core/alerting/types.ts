/**
 * Shared alert vocabulary between the engine (alerting/), delivery (notify/), the incident
 * workflow (incidents/), the daemon API and `mon top`. Times are ms since the epoch.
 */
export type AlertState = 'inactive' | 'pending' | 'firing' | 'resolved'

export interface Alert {
  /** stable id: hash of the rule identity and the label set (hex, 16 chars) */
  fingerprint: string
  /** rule group name */
  group: string
  /** labels, including `alertname`, and `severity` when the rule sets it */
  labels: Record<string, string>
  /** templated annotations (summary, description, runbook_url …) */
  annotations: Record<string, string>
  state: AlertState
  /** the value of the expression at the last evaluation */
  value: number | null
  /** when the condition became true (start of pending) */
  activeAt: number
  firedAt?: number
  resolvedAt?: number
  lastEvalAt: number
  /** `error` while the rule's query fails, `nodata` when the query returned nothing */
  health?: 'ok' | 'error' | 'nodata'
  error?: string
  /** the rule that produced it (`group/alertname`, `#2` … for a repeated name in a group) */
  rule?: string
  /** set while `keep_firing_for` holds a firing alert whose condition has cleared */
  keptFiringSince?: number
}

/** What a rule does when its query returns no data, or fails: resolve, fire, or leave alerts as they are. */
export type NoDataPolicy = 'ok' | 'alerting' | 'keep'

export type RuleHealth = 'ok' | 'error' | 'nodata' | 'unknown'

/** The last evaluation of one rule (daemon API, `mon top`, `mon rules eval`). */
export interface RuleStatus {
  /** `group/alertname` (+ `#2` … for a repeated name) */
  id: string
  /** alerting (`alert:`) or recording (`record:`) rule; absent in rows saved before recording rules */
  type?: 'alert' | 'record'
  group: string
  /** the alertname, or the recorded metric's name */
  name: string
  health: RuleHealth
  lastError?: string
  lastEvalAt?: number
  durationMs?: number
  /** samples the expression returned at the last evaluation */
  samples: number
  /** pending + firing alerts of the rule */
  activeAlerts: number
}

/** A state change of one alert, as the engine reports it. */
export interface AlertTransition {
  alert: Alert
  from: AlertState
  to: AlertState
  at: number
}

/** Where the engine hands alerts on (the notifier's dispatcher). */
export interface AlertSink {
  /**
   * Called after every evaluation with the alerts that are firing and those that resolved in this
   * evaluation (like Prometheus sending to Alertmanager).
   */
  push(alerts: Alert[], now: number): void | Promise<void>
}
