import blessed from 'blessed'
import {escapeTags} from './theme.js'

/**
 * Modal prompts behind functions (a promise of the answer; undefined when cancelled with Esc).
 * While one is open the screen's own key bindings are held back (`grabKeys`), except Ctrl-C,
 * so typing "q" into a comment does not quit.
 */
export function askText(screen: blessed.Widgets.Screen, opts: {title: string; question: string; initial?: string}): Promise<string | undefined> {
  return new Promise((resolve) => {
    const box = blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width: '80%',
      height: 7,
      border: {type: 'line'},
      label: ` ${opts.title} `,
      tags: true,
      content: `${escapeTags(opts.question)}\n\n\nEnter to confirm, Esc to cancel`,
      style: {border: {fg: 'yellow'}},
    })
    const input = blessed.textbox({parent: box, top: 2, left: 0, width: '100%-2', height: 1, value: opts.initial ?? '', style: {bg: 'blue', fg: 'white'}})
    box.setFront()
    screen.render()
    input.readInput((_err, value) => {
      box.destroy()
      screen.render()
      resolve(value === null || value === undefined ? undefined : String(value))
    })
  })
}

export function pick(screen: blessed.Widgets.Screen, opts: {title: string; items: string[]; selected?: number}): Promise<number | undefined> {
  return new Promise((resolve) => {
    const height = Math.min(opts.items.length + 2, Math.max(5, (typeof screen.height === 'number' ? screen.height : 24) - 6))
    const label = ` ${opts.title} (Enter, Esc) `
    const list = blessed.list({
      parent: screen,
      top: 'center',
      left: 'center',
      width: Math.min(Math.max(20, Number(screen.width) - 4), Math.max(label.length + 4, ...opts.items.map((i) => i.length + 6))),
      height,
      border: {type: 'line'},
      label,
      keys: true,
      items: opts.items.map(escapeTags),
      tags: true,
      style: {border: {fg: 'yellow'}, selected: {bg: 'blue', fg: 'white', bold: true}},
    })
    const saved = screen.focused
    const grabbed = screen.grabKeys
    let finished = false
    const done = (index: number | undefined) => {
      if (finished) return
      finished = true
      screen.grabKeys = grabbed
      list.destroy()
      if (saved) saved.focus()
      screen.render()
      resolve(index)
    }

    list.select(opts.selected ?? 0)
    list.once('select', (_item, index) => done(index))
    list.once('cancel', () => done(undefined))
    list.setFront()
    list.focus()
    // hold back the screen's keys until the choice is made (the list itself still gets them)
    screen.grabKeys = true
    screen.render()
  })
}
