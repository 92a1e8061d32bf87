import blessed from 'blessed'
import {clockTime, formatInterval, truncate} from '../format.js'
import {escapeTags} from '../theme.js'
import {Drawn} from './monitor.js'

/**
 * The outage banner: shown over the top of the panels while the backend (or alert state) fails,
 * saying what failed, since when, and that it keeps retrying; the panels keep their last data.
 */
export interface Outage {
  problems: string[]
  since: number
  attempts: number
  refreshMs: number
}

export class BannerMonitor {
  readonly element: blessed.Widgets.BoxElement
  private readonly drawn = new Drawn()

  constructor(screen: blessed.Widgets.Screen) {
    this.element = blessed.box({
      parent: screen,
      top: 1,
      left: 'center',
      width: '90%',
      height: 4,
      tags: true,
      hidden: true,
      border: {type: 'line'},
      style: {fg: 'white', bg: 'red', bold: true, border: {fg: 'white', bg: 'red'}},
      label: ' backend unavailable ',
    })
  }

  get visible(): boolean {
    return !this.element.hidden
  }

  update(outage: Outage | undefined): boolean {
    const width = typeof this.element.width === 'number' ? this.element.width - 4 : 70
    const state = outage
      ? {
          first: truncate(outage.problems[0] ?? '', width),
          second: truncate(
            `${outage.problems.length > 1 ? `(+${outage.problems.length - 1} more) ` : ''}since ${clockTime(outage.since)}, ${outage.attempts} failed ${outage.attempts === 1 ? 'poll' : 'polls'} — retrying every ${formatInterval(outage.refreshMs)}; panels show the last data`,
            width,
          ),
        }
      : undefined
    if (!this.drawn.changed(state ?? null)) return false
    if (state) {
      this.element.setContent(`${escapeTags(state.first)}\n${escapeTags(state.second)}`)
      this.element.show()
    } else this.element.hide()
    return true
  }
}
