/**
 * The limit: a bare `ws` broadcast server. `/ws?room=R` joins a room; every text frame a client sends is
 * wrapped once as `{"type":"msg","body":<frame>}` and sent to everyone in the room. No auth, no storage,
 * no limits. Prints `READY <url>`.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { type WebSocket, WebSocketServer } from "ws"

const rooms = new Map<string, Set<WebSocket>>()
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
    for (const member of members) member.send(frame, { binary: false })
  })
  ws.on("close", () => members.delete(ws))
  ws.on("error", () => ws.terminate())
})

server.listen(0, "127.0.0.1", () => {
  console.log(`READY ws://127.0.0.1:${(server.address() as AddressInfo).port}/ws`)
})
process.on("SIGTERM", () => process.exit(0))
// The bench asks for a full garbage collection (SIGUSR2) before it reads the RSS.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())
