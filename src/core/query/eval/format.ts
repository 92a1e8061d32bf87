import {formatMatcher} from '../../model/matcher.js'
import type {AtModifier, PromExpr, VectorMatching, VectorSelector} from './ast.js'

/**
 * The PromQL text of an expression tree, parenthesised wherever precedence could matter, so the
 * same expression can be sent to a real Prometheus (differential tests) and shown in messages.
 */
export function formatPromExpr(expr: PromExpr): string {
  switch (expr.kind) {
    case 'number':
      return formatNumber(expr.value)
    case 'string':
      return JSON.stringify(expr.value)
    case 'vector':
      return formatSelector(expr, '')
    case 'matrix':
      return formatSelector(expr.selector, expr.range ? `[${formatDuration(expr.range)}]` : '')
    case 'subquery': {
      const step = expr.step === undefined ? '' : formatDuration(expr.step)
      const at = expr.at === undefined ? '' : ` @ ${formatAt(expr.at)}`
      const offset = expr.offset ? ` offset ${expr.offset < 0 ? '-' : ''}${formatDuration(Math.abs(expr.offset))}` : ''
      return `(${formatPromExpr(expr.expr)})[${formatDuration(expr.range)}:${step}]${at}${offset}`
    }

    case 'call':
      return `${expr.func}(${expr.args.map(formatPromExpr).join(', ')})`
    case 'aggregation': {
      const grouping = expr.grouping.length > 0 || expr.without ? ` ${expr.without ? 'without' : 'by'} (${expr.grouping.join(', ')})` : ''
      const args = expr.param === undefined ? formatPromExpr(expr.expr) : `${formatPromExpr(expr.param)}, ${formatPromExpr(expr.expr)}`
      return `${expr.op}${grouping} (${args})`
    }

    case 'binary': {
      const level = precedence(expr.op)
      // left-associative: a right operand of the same level needs parentheses (^ the other way round)
      const lhs = wrap(expr.lhs, expr.op === '^' ? level + 1 : level)
      const rhs = wrap(expr.rhs, expr.op === '^' ? level : level + 1)
      return `${lhs} ${expr.op}${expr.bool ? ' bool' : ''}${formatMatching(expr.matching)} ${rhs}`
    }

    case 'unary':
      return `${expr.op}${expr.expr.kind === 'binary' && expr.expr.op !== '^' ? `(${formatPromExpr(expr.expr)})` : formatPromExpr(expr.expr)}`
  }
}

const LEVELS: string[][] = [['or'], ['and', 'unless'], ['==', '!=', '>', '<', '>=', '<='], ['+', '-'], ['*', '/', '%', 'atan2'], ['^']]

function precedence(op: string): number {
  return LEVELS.findIndex((ops) => ops.includes(op))
}

/** An operand, parenthesised when it binds less tightly than `min` (or is a negative number). */
function wrap(e: PromExpr, min: number): string {
  const text = formatPromExpr(e)
  if (e.kind === 'binary' && precedence(e.op) < min) return `(${text})`
  if ((e.kind === 'unary' || (e.kind === 'number' && e.value < 0)) && min >= LEVELS.length - 1) return `(${text})`
  return text
}

function formatSelector(sel: VectorSelector, range: string): string {
  const matchers = sel.matchers.length > 0 || sel.name === undefined ? `{${sel.matchers.map(formatMatcher).join(', ')}}` : ''
  const at = sel.at === undefined ? '' : ` @ ${formatAt(sel.at)}`
  const offset = sel.offset ? ` offset ${sel.offset < 0 ? '-' : ''}${formatDuration(Math.abs(sel.offset))}` : ''
  return `${sel.split ? `${JSON.stringify(sel.split.measurement)}.${formatName(sel.split.field)}` : sel.name === undefined ? '' : formatName(sel.name)}${matchers}${range}${at}${offset}`
}

function formatAt(at: AtModifier): string {
  return typeof at === 'number' ? (at / 1000).toFixed(3) : `${at}()`
}

function formatMatching(matching: VectorMatching | undefined): string {
  if (!matching) return ''
  const group = matching.group ? ` group_${matching.group}(${(matching.include ?? []).join(', ')})` : ''
  return ` ${matching.on ? 'on' : 'ignoring'}(${matching.labels.join(', ')})${group}`
}

/** PromQL's duration syntax in the largest unit that divides it exactly. */
export function formatDuration(ms: number): string {
  for (const [unit, size] of [['w', 604_800_000], ['d', 86_400_000], ['h', 3_600_000], ['m', 60_000], ['s', 1000]] as const) {
    if (ms % size === 0 && ms >= size) return `${ms / size}${unit}`
  }

  return `${ms}ms`
}

function formatNumber(v: number): string {
  if (Number.isNaN(v)) return 'NaN'
  if (v === Number.POSITIVE_INFINITY) return '+Inf'
  if (v === Number.NEGATIVE_INFINITY) return '-Inf'
  return String(v)
}

/** A metric name as written: bare when it lexes as one (`cpu.usage_user`), else each part quoted. */
function formatName(name: string): string {
  if (/^[A-Za-z_:][\w:]*(?:\.[A-Za-z_][\w:]*)?$/.test(name)) return name
  const dot = name.indexOf('.')
  return dot < 0 ? JSON.stringify(name) : `${JSON.stringify(name.slice(0, dot))}.${JSON.stringify(name.slice(dot + 1))}`
}
