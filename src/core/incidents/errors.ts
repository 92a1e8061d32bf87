import {InputError, UserError} from '../errors.js'

/** The ways an incident action can be refused; the API maps them to 404 / 400 / 409. */

/** No alert (or silence) has this id (exit 2). */
export class NotFoundError extends InputError {
  constructor(message: string, opts: {hint?: string} = {}) {
    super(message, opts)
    this.name = 'NotFoundError'
  }
}

export interface IdCandidate {
  id: string
  fingerprint: string
  alertname: string
  state: string
  labels: Record<string, string>
}

/** The id prefix matches several alerts; `candidates` lists them (exit 2). */
export class AmbiguousIdError extends InputError {
  constructor(
    message: string,
    readonly candidates: IdCandidate[],
    opts: {hint?: string; details?: string} = {},
  ) {
    super(message, opts)
    this.name = 'AmbiguousIdError'
  }
}

/**
 * The alert is not in a state that allows the action: already acknowledged by someone else (the
 * losing side of two terminals acking at once), resolved, not acknowledged … (exit 1).
 */
export class IncidentConflictError extends UserError {
  constructor(message: string, opts: {hint?: string} = {}) {
    super(message, opts)
    this.name = 'IncidentConflictError'
  }
}
