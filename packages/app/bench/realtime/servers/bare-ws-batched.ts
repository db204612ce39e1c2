/**
 * The bare `ws` broadcast server with the batching Chat4All's gateway does: frames for a socket are
 * queued and written corked once per turn of the event loop (`setImmediate`), so under load a socket
 * gets several messages in one system call. The limit for a server that batches. Prints `READY <url>`.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"

const rooms = new Map<string, Set<WebSocket>>()
const queued = new Map<WebSocket, Array<Buffer>>()
let scheduled = false

const flush = () => {
  scheduled = false
  for (const [ws, frames] of queued) {
    const socket = (ws as unknown as { _socket: { cork(): void; uncork(): void } })._socket
    socket.cork()
    for (const frame of frames) ws.send(frame, { binary: false })
    socket.uncork()
  }
  queued.clear()
}

const server = createServer((_req, res) => res.writeHead(404).end())
const wss = new WebSocketServer({ server, path: "/ws", maxPayload: 64 * 1024, perMessageDeflate: false })

wss.on("connection", (ws, req) => {
  const room = new URL(req.url ?? "/", "http://x").searchParams.get("room") ?? "lobby"
  let members = rooms.get(room)
  if (members === undefined) {
    members = new Set()
    rooms.set(room, members)
  }
  members.add(ws)
  ws.on("message", (data) => {
    const frame = Buffer.from(`{"type":"msg","body":${data.toString()}}`)
    for (const member of members) {
      let frames = queued.get(member)
      if (frames === undefined) {
        frames = []
        queued.set(member, frames)
      }
      frames.push(frame)
    }
    if (!scheduled) {
      scheduled = true
      setImmediate(flush)
    }
  })
  ws.on("close", () => {
    members.delete(ws)
    queued.delete(ws)
  })
  ws.on("error", () => ws.terminate())
})

server.listen(0, "127.0.0.1", () => {
  console.log(`READY ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`)
})
process.on("SIGTERM", () => process.exit(0))
// The bench asks for a full garbage collection (SIGUSR2) before it reads the RSS.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())
