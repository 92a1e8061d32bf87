import {Box, Text, useInput, type Key} from 'ink'
import {useEffect, useReducer} from 'react'

/**
 * A multi-select list of alerts, then an optional one-line comment:
 *
 *   up/down (or k/j) move · space selects · a selects all · enter confirms (the alert under the cursor
 *   when none is selected) · esc or q cancels; in the comment: type, backspace, enter confirms,
 *   esc goes back to the list.
 *
 * Pure presentation: it gets rows and reports the choice through `onDone`; the caller acts on it.
 */
export interface PickerRow {
  key: string
  id: string
  severity: string | null
  alertname: string
  labels: string
  state: string
  age: string
}

export interface PickerResult {
  keys: string[]
  comment?: string
}

export interface AlertPickerProps {
  rows: PickerRow[]
  title: string
  /** ask for a comment after the selection */
  askComment: boolean
  /** colour on (NO_COLOR and non-TTY already decided by the caller) */
  colors: boolean
  /** visible rows of the list (it scrolls) */
  height: number
  onDone(result: PickerResult | undefined): void
}

const SEVERITY_COLOR: Record<string, string> = {critical: 'red', page: 'red', error: 'red', high: 'red', warning: 'yellow', warn: 'yellow', info: 'cyan'}

interface State {
  cursor: number
  selected: ReadonlySet<string>
  phase: 'select' | 'comment' | 'done'
  comment: string
  chosen: string[]
  result?: PickerResult
}

type KeyInfo = Pick<Key, 'upArrow' | 'downArrow' | 'pageUp' | 'pageDown' | 'return' | 'escape' | 'ctrl' | 'meta' | 'tab' | 'backspace' | 'delete'>

/**
 * Keys can arrive several in one read (a paste, a fast typist, tmux send-keys), so each key is a
 * step of this reducer on the latest state — never on what the last render saw.
 */
export function pickerStep(rows: readonly PickerRow[], s: State, input: string, key: KeyInfo, opts: {askComment: boolean; height: number}): State {
  if (s.phase === 'done') return s
  if (key.ctrl && input === 'c') return {...s, phase: 'done', result: undefined}
  const move = (by: number): State => ({...s, cursor: Math.min(rows.length - 1, Math.max(0, s.cursor + by))})
  if (s.phase === 'select') {
    if (key.upArrow || input === 'k') return move(-1)
    if (key.downArrow || input === 'j') return move(1)
    if (key.pageUp) return move(-opts.height)
    if (key.pageDown) return move(opts.height)
    if (input === ' ') {
      const k = rows[s.cursor]!.key
      const selected = new Set(s.selected)
      if (selected.has(k)) selected.delete(k)
      else selected.add(k)
      return {...s, selected}
    }
    if (input === 'a') return {...s, selected: s.selected.size === rows.length ? new Set() : new Set(rows.map((r) => r.key))}
    if (key.return) {
      const keys = s.selected.size > 0 ? rows.filter((r) => s.selected.has(r.key)).map((r) => r.key) : [rows[s.cursor]!.key]
      return opts.askComment ? {...s, phase: 'comment', chosen: keys} : {...s, phase: 'done', chosen: keys, result: {keys}}
    }
    if (key.escape || input === 'q') return {...s, phase: 'done', result: undefined}
    return s
  }
  if (key.return) return {...s, phase: 'done', result: {keys: s.chosen, comment: s.comment.trim() || undefined}}
  if (key.escape) return {...s, phase: 'select'}
  if (key.backspace || key.delete) return {...s, comment: s.comment.slice(0, -1)}
  if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow) return {...s, comment: s.comment + input.replace(/[\r\n]+/g, ' ')}
  return s
}

const NO_KEY: KeyInfo = {upArrow: false, downArrow: false, pageUp: false, pageDown: false, return: false, escape: false, ctrl: false, meta: false, tab: false, backspace: false, delete: false}

/**
 * ink hands a run of plain characters over as one input (`" \r"` when space and enter come in one
 * read): split it into the keys it is, so each is a step of its own.
 */
export function splitKeys(input: string, key: KeyInfo): Array<{input: string; key: KeyInfo}> {
  if (input.length <= 1 || key.ctrl || key.meta || key.escape) return [{input, key}]
  return [...input].map((ch) => {
    if (ch === '\r' || ch === '\n') return {input: '', key: {...NO_KEY, return: true}}
    if (ch === '\x7f' || ch === '\b') return {input: '', key: {...NO_KEY, backspace: true}}
    if (ch === '\x03') return {input: 'c', key: {...NO_KEY, ctrl: true}}
    if (ch === '\t') return {input: '', key: {...NO_KEY, tab: true}}
    return {input: ch, key: NO_KEY}
  })
}

export const INITIAL_PICKER: State = {cursor: 0, selected: new Set<string>(), phase: 'select', comment: '', chosen: []}

export function AlertPicker({rows, title, askComment, colors, height, onDone}: AlertPickerProps) {
  const [state, dispatch] = useReducer((s: State, a: {input: string; key: KeyInfo}) => pickerStep(rows, s, a.input, a.key, {askComment, height}), INITIAL_PICKER)
  const {cursor, selected, phase, comment, chosen} = state

  useEffect(() => {
    if (state.phase === 'done') onDone(state.result)
  }, [state.phase])

  useInput(
    (input, key) => {
      for (const k of splitKeys(input, key)) dispatch(k)
    },
    {isActive: phase !== 'done'},
  )

  const paint = (name: string | undefined) => (colors ? name : undefined)
  if (phase === 'done') return null

  if (phase === 'comment') {
    return (
      <Box flexDirection="column">
        <Text bold>
          Acknowledge {chosen.length} alert{chosen.length === 1 ? '' : 's'}: {rows.filter((r) => chosen.includes(r.key)).map((r) => r.id).join(' ')}
        </Text>
        <Text>
          Comment (optional): {comment}
          <Text inverse={colors}>{colors ? ' ' : '_'}</Text>
        </Text>
        <Text dimColor={colors}>enter: confirm   esc: back to the list   ctrl-c: cancel</Text>
      </Box>
    )
  }

  const top = Math.min(Math.max(0, cursor - height + 1), Math.max(0, rows.length - height))
  const shown = rows.slice(top, top + height)
  const width = (pick: (r: PickerRow) => string) => Math.max(...rows.map((r) => pick(r).length))
  const w = {id: width((r) => r.id), sev: width((r) => r.severity ?? '-'), name: width((r) => r.alertname), labels: Math.min(50, width((r) => r.labels)), state: width((r) => r.state)}
  return (
    <Box flexDirection="column">
      <Text bold>{title}</Text>
      <Text dimColor={colors}>up/down: move   space: select   a: all   enter: confirm   esc: cancel</Text>
      {top > 0 ? <Text dimColor={colors}>  ({top} more above)</Text> : null}
      {shown.map((r, i) => {
        const index = top + i
        const here = index === cursor
        const mark = selected.has(r.key) ? '[x]' : '[ ]'
        const labels = r.labels.length > w.labels ? r.labels.slice(0, w.labels - 3) + '...' : r.labels
        return (
          <Text key={r.key} inverse={here && colors}>
            {here ? '>' : ' '} {mark} <Text bold={colors}>{r.id.padEnd(w.id)}</Text>  <Text color={paint(SEVERITY_COLOR[r.severity ?? ''])}>{(r.severity ?? '-').padEnd(w.sev)}</Text>  {r.alertname.padEnd(w.name)}  {labels.padEnd(w.labels)}  {r.state.padEnd(w.state)}  {r.age}
          </Text>
        )
      })}
      {top + height < rows.length ? <Text dimColor={colors}>  ({rows.length - top - height} more below)</Text> : null}
      <Text dimColor={colors}>
        {selected.size} selected of {rows.length}
      </Text>
    </Box>
  )
}
