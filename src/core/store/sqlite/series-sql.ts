/** Series selection as SQL: tag matchers compiled to a WHERE over the series table. */
import type {Matcher} from '../../model/matcher.js'

export function sqlString(s: string): string {
  return `'${s.replace(/'/g, "''")}'`
}

/** Tag matchers compiled to SQL over the series table (regexes anchored, missing tags as ''). */
export function compileSeriesSql(measurement: string, matchers: Matcher[]): {sql: string; params: unknown[]; jsMatchers: Matcher[]} {
  const where = ['measurement = ?']
  const params: unknown[] = [measurement]
  const jsMatchers: Matcher[] = []
  for (const m of matchers) {
    if (/["\\]/.test(m.name)) {
      jsMatchers.push(m)
      continue
    }

    const tag = `coalesce(json_extract(tags, '$."${m.name.replace(/'/g, "''")}"'), '')`
    switch (m.op) {
      case '=':
        where.push(`${tag} = ?`)
        params.push(m.value)
        break
      case '!=':
        where.push(`${tag} != ?`)
        params.push(m.value)
        break
      case '=~':
        where.push(`${tag} REGEXP ?`)
        params.push(`^(?:${m.value})$`)
        break
      case '!~':
        where.push(`NOT (${tag} REGEXP ?)`)
        params.push(`^(?:${m.value})$`)
        break
    }
  }

  return {sql: `SELECT id, tags FROM series WHERE ${where.join(' AND ')} ORDER BY key`, params, jsMatchers}
}
