/**
 * The baseline of the HTTP bench: a bare node:http server that reads each request's body and answers one
 * fixed JSON body (argv[2], with status argv[3]). Prints `READY <url>` when it listens.
 */
import { createServer } from "node:http"
import type { AddressInfo } from "node:net"

const body = process.argv[2] ?? "{}"
const status = Number(process.argv[3] ?? "200")
const server = createServer((request, response) => {
  request.resume()
  request.on("end", () => {
    response.writeHead(status, {
      "content-type": "application/json",
      "content-length": Buffer.byteLength(body),
    })
    response.end(body)
  })
})
server.listen(0, "127.0.0.1", () => {
  console.log(`READY http://127.0.0.1:${(server.address() as AddressInfo).port}`)
})
process.on("SIGTERM", () => server.close(() => process.exit(0)))
