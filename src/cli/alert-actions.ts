import {UserError} from '../core/errors.js'
import type {ActionResult, IncidentService} from '../core/incidents/types.js'
import {color} from './render/color.js'
import {renderActionResult} from './render/alerts.js'

/** What `mon alerts ack|unack|resolve` return per alert (--json): the result, or why it was refused. */
export type ActionOutcomeView = (ActionResult & {ok: true}) | {ok: false; id: string; fingerprint: string; error: string; hint: string | null}

/**
 * Runs one action on several alerts. Every id is resolved first, so a typo or an ambiguous prefix
 * stops the command (exit 2) before anything changes; then each alert is acted on, and one that
 * is refused (already acked by someone else, resolved …) does not stop the others. Prints as it
 * goes unless `quiet` (--json); the caller sets exit 1 when any was refused.
 */
export async function actOnAlerts(
  incidents: IncidentService,
  ids: string[],
  act: (fingerprint: string) => Promise<ActionResult>,
  opts: {quiet: boolean},
): Promise<ActionOutcomeView[]> {
  const fingerprints: string[] = []
  for (const id of ids) {
    const {fingerprint} = await incidents.get(id, {timeline: false})
    if (!fingerprints.includes(fingerprint)) fingerprints.push(fingerprint)
  }
  const out: ActionOutcomeView[] = []
  const c = color(process.stderr)
  for (const fp of fingerprints) {
    try {
      const r = await act(fp)
      out.push({ok: true, ...r})
      if (!opts.quiet) process.stdout.write(renderActionResult(r) + '\n')
    } catch (error) {
      if (!(error instanceof UserError)) throw error
      out.push({ok: false, id: fp, fingerprint: fp, error: error.message, hint: error.hint ?? null})
      if (!opts.quiet) process.stderr.write(`${c.red('error:')} ${error.message}\n${error.hint ? `${c.dim('hint:')} ${error.hint}\n` : ''}`)
    }
  }
  if (out.some((o) => !o.ok)) process.exitCode = 1
  return out
}
