import { randomBytes } from "node:crypto"
import * as Net from "node:net"

/**
 * A minimal WebSocket client for the load generator: a TCP socket, the HTTP upgrade, then server frames
 * parsed in place. Text frames are handed over as (chunk, start, end) without copying or decoding, so a
 * thousand subscribers cost the generator little more than the reads themselves, and the servers, not
 * the generator, set the pace. It answers pings, masks what it sends (RFC 6455 requires it of clients)
 * and nothing more: no extensions, no fragmented messages (none of the servers under test sends them).
 */
export class LeanSocket {
  private socket: Net.Socket | undefined
  private pending: Buffer | undefined
  private upgraded = false
  closed = false

  constructor(
    private readonly options: {
      readonly port: number
      readonly host: string
      readonly path: string
      readonly localAddress?: string | undefined
      readonly headers?: Record<string, string> | undefined
      readonly onText: (chunk: Buffer, start: number, end: number) => void
      readonly onClose?: ((code: number) => void) | undefined
    },
  ) {}

  connect(): Promise<void> {
    return new Promise((resolve, reject) => {
      const socket = Net.connect({
        port: this.options.port,
        host: this.options.host,
        ...(this.options.localAddress === undefined ? {} : { localAddress: this.options.localAddress }),
      })
      this.socket = socket
      socket.setNoDelay(true)
      socket.on("error", (error) => {
        if (!this.upgraded) reject(error)
        this.finish(1006)
      })
      socket.on("close", () => this.finish(1006))
      socket.on("connect", () => {
        const key = randomBytes(16).toString("base64")
        const headers = Object.entries(this.options.headers ?? {})
          .map(([k, v]) => `${k}: ${v}\r\n`)
          .join("")
        socket.write(
          `GET ${this.options.path} HTTP/1.1\r\nHost: ${this.options.host}:${this.options.port}\r\n` +
            `Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\n` +
            `Sec-WebSocket-Version: 13\r\n${headers}\r\n`,
        )
      })
      socket.on("data", (chunk: Buffer) => {
        if (this.upgraded) return this.frames(chunk)
        const buffer = this.pending === undefined ? chunk : Buffer.concat([this.pending, chunk])
        const end = buffer.indexOf("\r\n\r\n")
        if (end < 0) {
          this.pending = buffer
          return
        }
        this.pending = undefined
        const status = buffer.subarray(0, buffer.indexOf("\r\n")).toString()
        if (!status.startsWith("HTTP/1.1 101")) {
          reject(new Error(`upgrade refused: ${status}`))
          socket.destroy()
          return
        }
        this.upgraded = true
        resolve()
        if (buffer.length > end + 4) this.frames(buffer.subarray(end + 4))
      })
    })
  }

  private frames(chunk: Buffer) {
    let buffer = chunk
    if (this.pending !== undefined) {
      buffer = Buffer.concat([this.pending, chunk])
      this.pending = undefined
    }
    let offset = 0
    while (offset + 2 <= buffer.length) {
      const opcode = buffer[offset]! & 0x0f
      let length = buffer[offset + 1]! & 0x7f
      let header = 2
      if (length === 126) {
        if (offset + 4 > buffer.length) break
        length = buffer.readUInt16BE(offset + 2)
        header = 4
      } else if (length === 127) {
        if (offset + 10 > buffer.length) break
        length = Number(buffer.readBigUInt64BE(offset + 2))
        header = 10
      }
      if (offset + header + length > buffer.length) break
      const start = offset + header
      const end = start + length
      if (opcode === 1) this.options.onText(buffer, start, end)
      else if (opcode === 9) this.write(10, buffer.subarray(start, end))
      else if (opcode === 8) {
        const code = length >= 2 ? buffer.readUInt16BE(start) : 1005
        this.write(8, buffer.subarray(start, Math.min(end, start + 2)))
        this.finish(code)
        this.socket?.end()
        return
      }
      offset = end
    }
    if (offset < buffer.length) this.pending = Buffer.from(buffer.subarray(offset))
  }

  /** A masked frame of one piece. */
  private write(opcode: number, payload: Buffer) {
    const socket = this.socket
    if (socket === undefined || this.closed) return
    const length = payload.length
    const header = length < 126 ? 2 : length < 65536 ? 4 : 10
    const frame = Buffer.allocUnsafe(header + 4 + length)
    frame[0] = 0x80 | opcode
    if (header === 2) frame[1] = 0x80 | length
    else if (header === 4) {
      frame[1] = 0x80 | 126
      frame.writeUInt16BE(length, 2)
    } else {
      frame[1] = 0x80 | 127
      frame.writeBigUInt64BE(BigInt(length), 2)
    }
    const mask = randomBytes(4)
    mask.copy(frame, header)
    for (let i = 0; i < length; i++) frame[header + 4 + i] = payload[i]! ^ mask[i & 3]!
    socket.write(frame)
  }

  sendText(text: string) {
    this.write(1, Buffer.from(text))
  }

  private finish(code: number) {
    if (this.closed) return
    this.closed = true
    this.options.onClose?.(code)
  }

  close() {
    this.finish(1000)
    this.socket?.destroy()
  }
}
