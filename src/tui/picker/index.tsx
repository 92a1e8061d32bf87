import {render} from 'ink'
import type {AlertView} from '../../core/incidents/types.js'
import {formatAge, labelText} from '../../cli/render/alerts.js'
import {colorEnabled} from '../../cli/render/color.js'
import {AlertPicker, type PickerRow} from './AlertPicker.js'

/**
 * Prompts behind functions: `await pickAlerts(alerts)` shows the ink picker on the terminal and
 * resolves with the alerts chosen (and the comment typed), or undefined when cancelled. It renders
 * on stderr, so stdout stays clean for the command's output (--json). Needs a terminal on stdin and
 * stderr: check {@link canPick} first.
 */
export interface PickOptions {
  title?: string
  /** ask for an optional comment after the selection (default true) */
  askComment?: boolean
}

export interface Picked<T> {
  alerts: T[]
  comment?: string
}

export function canPick(): boolean {
  return Boolean(process.stdin.isTTY && process.stderr.isTTY)
}

export async function pickAlerts<T extends AlertView>(alerts: T[], opts: PickOptions = {}): Promise<Picked<T> | undefined> {
  if (alerts.length === 0) return {alerts: []}
  const byKey = new Map(alerts.map((a) => [a.fingerprint, a]))
  const rows: PickerRow[] = alerts.map((a) => ({
    key: a.fingerprint,
    id: a.id,
    severity: a.severity,
    alertname: a.alertname,
    labels: labelText(a.labels),
    state: a.state,
    age: formatAge(a.ageMs),
  }))
  const height = Math.max(3, (process.stderr.rows ?? 24) - 6)
  let result: {keys: string[]; comment?: string} | undefined
  const app = render(
    <AlertPicker
      rows={rows}
      title={opts.title ?? 'Select alerts to acknowledge'}
      askComment={opts.askComment ?? true}
      colors={colorEnabled(process.stderr)}
      height={height}
      onDone={(r) => {
        result = r
        // let the last (empty) frame render, then give the terminal back
        setImmediate(() => app.unmount())
      }}
    />,
    {stdout: process.stderr, stdin: process.stdin, exitOnCtrlC: false, patchConsole: false},
  )
  await app.waitUntilExit()
  process.stdin.pause()
  if (!result) return undefined
  return {alerts: result.keys.map((k) => byKey.get(k)!), comment: result.comment}
}
