import * as zlib from 'node:zlib'

type Crc32 = (data: Uint8Array, initial?: number) => number

/**
 * CRC-32 (IEEE, as zlib and gzip), continuing from `initial` (the CRC of the bytes before):
 * zlib's native one where Node has it (≥ 20.15), else a table.
 */
export const crc32: Crc32 = typeof (zlib as {crc32?: unknown}).crc32 === 'function' ? (zlib as unknown as {crc32: Crc32}).crc32 : tableCrc32

let table: Uint32Array | undefined

export function tableCrc32(data: Uint8Array, initial = 0): number {
  if (!table) {
    table = new Uint32Array(256)
    for (let n = 0; n < 256; n++) {
      let c = n
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1
      table[n] = c >>> 0
    }
  }
  let crc = (initial ^ 0xffffffff) >>> 0
  for (let i = 0; i < data.length; i++) crc = table[(crc ^ data[i]!) & 0xff]! ^ (crc >>> 8)
  return (crc ^ 0xffffffff) >>> 0
}
