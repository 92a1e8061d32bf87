import {systemClock, type Clock} from '../clock.js'
import {formatDuration} from '../config/duration.js'
import {UserError} from '../errors.js'
import type {QueryDeadlineCheck} from '../store/types.js'

export const DEFAULT_QUERY_TIMEOUT_MS = 10_000

/** A query ran past its time budget (`query.timeout`, `mon query --timeout`): a runtime failure, exit 1. */
export class QueryTimeoutError extends UserError {
  constructor(readonly timeoutMs: number) {
    super(`query timed out after ${formatDuration(timeoutMs)}`, {
      hint: 'narrow the query (fewer series, a shorter --since) or raise the limit (mon query --timeout, config query.timeout)',
    })
    this.name = 'QueryTimeoutError'
  }
}

/**
 * The time budget of one query, on every query path (`mon query`, rules, `mon top`). The embedded
 * store works synchronously, so no timer can interrupt it: it calls {@link check} between series
 * and chunks. Work that waits on a server is raced against a timer instead ({@link bound}).
 */
export class QueryDeadline implements QueryDeadlineCheck {
  private readonly expiresAt: number

  constructor(
    readonly timeoutMs: number,
    private readonly clock: Clock = systemClock,
  ) {
    this.expiresAt = clock.now() + timeoutMs
  }

  check(): void {
    if (this.clock.now() >= this.expiresAt) throw new QueryTimeoutError(this.timeoutMs)
  }

  /** `work`, or a {@link QueryTimeoutError} when the budget runs out first. */
  async bound<T>(work: Promise<T>): Promise<T> {
    // no check() first: `work` is already running and a rejection of it must not go unhandled
    let timer: NodeJS.Timeout | undefined
    const expired = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new QueryTimeoutError(this.timeoutMs)), Math.max(0, this.expiresAt - this.clock.now()))
    })
    try {
      return await Promise.race([work, expired])
    } finally {
      clearTimeout(timer)
    }
  }
}
