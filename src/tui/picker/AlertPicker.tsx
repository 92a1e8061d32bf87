import {Box, Text, useInput} from 'ink'
import {useState} from 'react'

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

export function AlertPicker({rows, title, askComment, colors, height, onDone}: AlertPickerProps) {
  const [cursor, setCursor] = useState(0)
  const [selected, setSelected] = useState<ReadonlySet<string>>(new Set())
  const [phase, setPhase] = useState<'select' | 'comment' | 'done'>('select')
  const [comment, setComment] = useState('')
  const [chosen, setChosen] = useState<string[]>([])

  const finish = (result: PickerResult | undefined) => {
    setPhase('done')
    onDone(result)
  }

  useInput(
    (input, key) => {
      if (key.ctrl && input === 'c') return finish(undefined)
      if (phase === 'select') {
        if (key.upArrow || input === 'k') setCursor((c) => Math.max(0, c - 1))
        else if (key.downArrow || input === 'j') setCursor((c) => Math.min(rows.length - 1, c + 1))
        else if (key.pageUp) setCursor((c) => Math.max(0, c - height))
        else if (key.pageDown) setCursor((c) => Math.min(rows.length - 1, c + height))
        else if (input === ' ') {
          const k = rows[cursor]!.key
          setSelected((s) => {
            const next = new Set(s)
            if (next.has(k)) next.delete(k)
            else next.add(k)
            return next
          })
        } else if (input === 'a') setSelected((s) => (s.size === rows.length ? new Set() : new Set(rows.map((r) => r.key))))
        else if (key.return) {
          const keys = selected.size > 0 ? rows.filter((r) => selected.has(r.key)).map((r) => r.key) : [rows[cursor]!.key]
          if (!askComment) return finish({keys})
          setChosen(keys)
          setPhase('comment')
        } else if (key.escape || input === 'q') finish(undefined)
        return
      }
      if (phase === 'comment') {
        if (key.return) finish({keys: chosen, comment: comment.trim() || undefined})
        else if (key.escape) setPhase('select')
        else if (key.backspace || key.delete) setComment((t) => t.slice(0, -1))
        else if (input && !key.ctrl && !key.meta && !key.tab && !key.upArrow && !key.downArrow) setComment((t) => t + input)
      }
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
