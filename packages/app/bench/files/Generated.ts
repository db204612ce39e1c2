import { createHash, randomFillSync } from "node:crypto"
import { Readable } from "node:stream"

/**
 * The bytes both benchmark uploads send, made on the fly (no fixture): 1 MiB of random bytes, repeated
 * with each MiB's index written into its first 8 bytes, so every MiB differs and any range can be
 * produced without the rest.
 */
export const blockBytes = 1024 * 1024

export const makeSource = () => {
  const block = Buffer.alloc(blockBytes)
  randomFillSync(block)

  /** A Readable of bytes [start, end), at most one block at a time. */
  const range = (start: number, end: number) => {
    let position = start
    return new Readable({
      highWaterMark: blockBytes,
      read() {
        if (position >= end) {
          this.push(null)
          return
        }
        const index = Math.floor(position / blockBytes)
        const within = position - index * blockBytes
        const piece = Buffer.from(block)
        piece.writeBigUInt64LE(BigInt(index), 0)
        const take = Math.min(blockBytes - within, end - position)
        position += take
        this.push(piece.subarray(within, within + take))
      },
    })
  }

  /** The sha256 of bytes [0, size), streamed. */
  const sha256 = async (size: number) => {
    const hash = createHash("sha256")
    for await (const chunk of range(0, size)) hash.update(chunk as Buffer)
    return hash.digest("hex")
  }

  return { range, sha256 }
}
