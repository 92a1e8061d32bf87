import type {Point} from '../model/point.js'

/**
 * Thrown by a collector that got some points but not all (one of several scrape targets down,
 * some unparsable lines): the pipeline keeps `points` and reports `errors` as the input's error.
 */
export class PartialCollectError extends Error {
  constructor(
    readonly points: Point[],
    readonly errors: string[],
  ) {
    super(errors.length === 1 ? errors[0]! : `${errors[0]} (and ${errors.length - 1} more problem${errors.length === 2 ? '' : 's'})`)
    this.name = 'PartialCollectError'
  }
}

/** Returns `points`, or throws a {@link PartialCollectError} carrying them when there were errors. */
export function pointsOrPartial(points: Point[], errors: string[]): Point[] {
  if (errors.length > 0) throw new PartialCollectError(points, errors)
  return points
}
