/** Time is injected so alerting, escalation, scheduling and retention are tested without sleeping. */
export interface Clock {
  /** milliseconds since the epoch */
  now(): number
}

export const systemClock: Clock = {now: () => Date.now()}

/** A clock stopped at `t`: one-shot runs evaluated "as of" a given time. */
export function fixedClock(t: number): Clock {
  return {now: () => t}
}

/** A clock tests move by hand. */
export class ManualClock implements Clock {
  constructor(private t: number) {}

  now(): number {
    return this.t
  }

  set(t: number): void {
    this.t = t
  }

  advance(ms: number): void {
    this.t += ms
  }
}
