/** `eq`, `lt` … of both template dialects: each converts its values, then compares them here. */
/** Go's comparison of two numbers: -1, 0 or 1, NaN when either is NaN (no order). */
export function compareNumbers(x: number, y: number): number {
  return x < y ? -1 : x > y ? 1 : x === y ? 0 : Number.NaN
}

/** Go's comparison of two strings: -1, 0 or 1. */
export function compareStrings(x: string, y: string): number {
  return x < y ? -1 : x > y ? 1 : 0
}
