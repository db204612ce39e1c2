/**
 * The baseline: a bare node:http server that streams a PUT body into a file under DIR and syncs it, and
 * nothing else (no protocol, no auth, no checksum). It prints its port on stdout.
 */
import { createWriteStream } from "node:fs"
import { open } from "node:fs/promises"
import { createServer } from "node:http"
import * as NodePath from "node:path"
import { pipeline } from "node:stream/promises"

const dir = process.env.DIR
if (dir === undefined) throw new Error("set DIR to the directory to write into")
let uploads = 0
const server = createServer(async (req, res) => {
  if (req.method !== "PUT") {
    res.writeHead(405).end()
    return
  }
  const path = NodePath.join(dir, `upload-${++uploads}`)
  try {
    await pipeline(req, createWriteStream(path))
    const handle = await open(path, "r+")
    await handle.datasync()
    await handle.close()
    res.writeHead(204).end()
  } catch (error) {
    res.writeHead(500).end(String(error))
  }
})
server.listen(0, "127.0.0.1", () => {
  const address = server.address()
  if (address !== null && typeof address === "object") process.stdout.write(`${address.port}\n`)
})
