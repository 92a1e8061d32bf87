import type {Widgets} from 'blessed'

/**
 * Colours of the dashboard, or none: with NO_COLOR (decided by the command, see
 * src/cli/render/color.ts) every colour is dropped at the one place blessed turns attributes into
 * escape codes, and backgrounds become reverse video so gauges, the selection and the banner stay
 * visible in monochrome.
 */
export type Tone = 'ok' | 'warn' | 'bad' | 'info' | 'dim' | 'plain'

export interface Theme {
  color: boolean
  border: string
  focusBorder: string
  /** line colours of multi-series charts, in order */
  lines: string[]
  /** an ANSI-coloured string (table cells, which measure width without escape codes) */
  ansi(text: string, tone: Tone, bold?: boolean): string
  /** a blessed-tag-coloured string (boxes with `tags: true`) */
  tag(text: string, tone: Tone, bold?: boolean): string
}

// no grey: on 8-colour terminals (TERM=screen, the tmux default) blessed turns it into black
const TONE_COLOR: Record<Tone, string | undefined> = {ok: 'green', warn: 'yellow', bad: 'red', info: 'cyan', dim: undefined, plain: undefined}
const ANSI_FG: Record<string, number> = {red: 31, green: 32, yellow: 33, cyan: 36}

export function makeTheme(color: boolean): Theme {
  return {
    color,
    border: 'cyan',
    focusBorder: 'yellow',
    lines: ['yellow', 'cyan', 'green', 'magenta', 'red', 'blue', 'white'],
    ansi(text, tone, bold = false) {
      const c = TONE_COLOR[tone]
      if (!color) return bold ? `\u001B[1m${text}\u001B[22m` : text
      const open = `${bold ? '\u001B[1m' : ''}${c ? `\u001B[${ANSI_FG[c]}m` : ''}`
      return open ? `${open}${text}\u001B[39m${bold ? '\u001B[22m' : ''}` : text
    },
    tag(text, tone, bold = false) {
      const escaped = escapeTags(text)
      const c = color ? TONE_COLOR[tone] : undefined
      const inner = c ? `{${c}-fg}${escaped}{/${c}-fg}` : escaped
      return bold ? `{bold}${inner}{/bold}` : inner
    },
  }
}

/** Text from data (labels, paths) shown in a `tags: true` box must not be read as tags. */
export function escapeTags(text: string): string {
  return text.replace(/[{}]/g, (c) => (c === '{' ? '{open}' : '{close}'))
}

/**
 * Monochrome output: just before blessed writes changed lines to the terminal, every cell keeps
 * bold/underline/blink/inverse and loses both colours, and a coloured background becomes reverse
 * video. Patched on the screen instance only; content escape codes (the charts' canvases, the
 * tables' rows) are covered too because they are already cell attributes by then.
 */
export function monochrome(screen: Widgets.Screen): void {
  const s = screen as unknown as {draw(start: number, end: number): void; lines: Array<Array<[number, string]> & {dirty?: boolean}>}
  const draw = s.draw.bind(screen)
  s.draw = (start: number, end: number) => {
    for (let y = start; y <= end; y++) {
      const line = s.lines[y]
      if (!line?.dirty) continue
      for (const cell of line) cell[0] = withoutColor(cell[0])
    }

    draw(start, end)
  }
}

/** An attribute code (flags << 18 | fg << 9 | bg, 0x1ff = default) without colours. */
export function withoutColor(code: number): number {
  let flags = (code >> 18) & 0x1ff
  if ((code & 0x1ff) !== 0x1ff) flags |= 8
  return (flags << 18) | (0x1ff << 9) | 0x1ff
}
