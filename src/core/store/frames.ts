import type {Frame} from './types.js'

/** Frames in the order every backend returns them: by their sorted tag pairs (each key computed once). */
export function sortFrames(frames: Frame[]): Frame[] {
  if (frames.length < 2) return frames
  const keyed = frames.map((f) => ({f, key: JSON.stringify(Object.entries(f.tags).sort())}))
  keyed.sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0))
  return keyed.map((k) => k.f)
}
