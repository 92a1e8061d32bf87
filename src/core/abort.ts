/**
 * A signal that aborts when `parent` does or after `ms`, whichever comes first.
 *
 * Not `AbortSignal.any([parent, AbortSignal.timeout(ms)])`: on Node 20 the composite holds its
 * sources weakly, so under garbage-collection pressure the timeout signal can be collected and
 * never fire (seen here as an HTTP check to a server that never answers hanging past its timeout).
 * The timer below keeps everything alive until it fires or `dispose()` clears it.
 */
export interface Deadline {
  signal: AbortSignal
  /** true when the time ran out (not the parent) */
  readonly timedOut: boolean
  dispose(): void
}

export function deadline(parent: AbortSignal | undefined, ms: number): Deadline {
  const ac = new AbortController()
  let timedOut = false
  const onParent = () => ac.abort(parent!.reason)
  const timer = setTimeout(() => {
    timedOut = true
    ac.abort(new DOMException(`timed out after ${ms} ms`, 'TimeoutError'))
  }, ms)
  timer.unref?.()
  if (parent?.aborted) onParent()
  else parent?.addEventListener('abort', onParent, {once: true})
  return {
    signal: ac.signal,
    get timedOut() {
      return timedOut
    },
    dispose() {
      clearTimeout(timer)
      parent?.removeEventListener('abort', onParent)
    },
  }
}
