import {InputError, UserError} from '../core/errors.js'
import {NotFoundError} from '../core/incidents/errors.js'
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

/** Looks like the start of a fingerprint, and not like a word of a note: hex with a digit. */
const ID_LIKE = /^(?=.*\d)[0-9a-f]{4,}$/i

/**
 * `mon alerts comment ID... TEXT`: the first argument is an id, and so is each following one that
 * names an alert; the note is the rest (at least the last argument). A word that looks like an id but
 * names no alert stops the command rather than land in the note (a typo would comment on fewer alerts).
 */
export async function splitIdsAndNote(args: string[], incidents: Pick<IncidentService, 'get'>): Promise<{ids: string[]; note: string}> {
  if (args.length < 2) throw new InputError(args.length === 0 ? 'missing alert id and note' : 'missing the note', {hint: "e.g. mon alerts comment 3f9a 'restarted postgres' (or several ids: mon alerts comment 3f9a 71c0 -m 'note')"})
  const ids = [args[0]!]
  let next = 1
  while (next < args.length - 1) {
    const arg = args[next]!
    if (!ID_LIKE.test(arg)) break
    try {
      await incidents.get(arg, {timeline: false})
    } catch (error) {
      if (error instanceof NotFoundError) throw new InputError(`'${arg}' looks like an alert id but matches no alert`, {hint: `check the id (mon alerts list --state all), or give the note with -m '${args.slice(next).join(' ')}'`})
      if (!(error instanceof InputError)) throw error
      // ambiguous: an id all the same; acting on it reports the candidates
    }
    ids.push(arg)
    next++
  }
  return {ids, note: args.slice(next).join(' ')}
}
