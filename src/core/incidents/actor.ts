import {hostname, userInfo} from 'node:os'
import {InputError} from '../errors.js'

/** Who does something when nobody says: `$USER@hostname` (what an on-call engineer's terminal is). */
export function defaultActor(env: NodeJS.ProcessEnv = process.env): string {
  let user = env.USER || env.LOGNAME || env.USERNAME || ''
  if (!user) {
    try {
      user = userInfo().username
    } catch {
      user = 'unknown'
    }
  }
  return `${user}@${hostname()}`
}

const MAX_ACTOR = 200
const MAX_COMMENT = 4000

/** Actor names and comments as they are stored: trimmed, bounded, no control characters. */
export function checkActor(by: string | undefined, fallback: string): string {
  const actor = (by ?? '').trim() || fallback
  if (actor.length > MAX_ACTOR) throw new InputError(`the actor name is too long (${actor.length} characters, at most ${MAX_ACTOR})`)
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(actor)) throw new InputError('the actor name must not contain control characters')
  return actor
}

export function checkComment(comment: string | undefined): string | undefined {
  const text = comment?.trim()
  if (!text) return undefined
  if (text.length > MAX_COMMENT) throw new InputError(`the comment is too long (${text.length} characters, at most ${MAX_COMMENT})`)
  return text
}
