import blessed from 'blessed'

/** The `?` overlay. */
export const HELP_TEXT = [
  '{bold}mon top — keys{/bold}',
  '',
  '  q, Ctrl-C   quit',
  '  Tab         move focus between the checks and alerts tables',
  '  ↑ ↓         select a row in the focused table',
  '  a           acknowledge the selected alert (asks for a comment)',
  '  s           silence the selected alert (asks for how long)',
  '  h           switch host (hosts that have metrics in the store)',
  '  /           filter checks, alerts and disks (empty clears)',
  '  c           CPU: total ↔ per core',
  '  + / -       refresh faster / slower',
  '  r           refresh now',
  '  ?, Esc      close this help',
  '',
  'Data comes from the store through the query language (docs/query.md);',
  'no data yet? run `mon collect` (or `mon daemon`) on the host.',
].join('\n')

export class HelpOverlay {
  readonly element: blessed.Widgets.BoxElement

  constructor(screen: blessed.Widgets.Screen) {
    this.element = blessed.box({
      parent: screen,
      top: 'center',
      left: 'center',
      width: 76,
      height: HELP_TEXT.split('\n').length + 2,
      tags: true,
      hidden: true,
      border: {type: 'line'},
      label: ' help ',
      content: HELP_TEXT,
      style: {border: {fg: 'yellow'}},
    })
  }

  get visible(): boolean {
    return !this.element.hidden
  }

  toggle(): void {
    if (this.visible) this.element.hide()
    else {
      this.element.setFront()
      this.element.show()
    }
  }
}
