/**
 * Socket.IO rooms: a client emits `join` with a room, then every `pub` it emits goes to the room as `msg`
 * (`io.to(room).emit`). WebSocket transport only. Prints `READY <url>`.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"
import { Server } from "socket.io"

const server = createServer((_req, res) => res.writeHead(404).end())
const io = new Server(server, { transports: ["websocket"], serveClient: false, perMessageDeflate: false })

io.on("connection", (socket) => {
  let room = "lobby"
  socket.on("join", (name: string, ack?: () => void) => {
    room = name
    void socket.join(name)
    ack?.()
  })
  socket.on("pub", (body: unknown) => {
    io.to(room).emit("msg", body)
  })
})

server.listen(0, "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.on("SIGTERM", () => process.exit(0))
// The bench asks for a full garbage collection (SIGUSR2) before it reads the RSS.
process.on("SIGUSR2", () => (globalThis as { gc?: () => void }).gc?.())
