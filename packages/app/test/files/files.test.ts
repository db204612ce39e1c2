import { mkdtempSync, rmSync } from "node:fs"
import { tmpdir } from "node:os"
import * as NodePath from "node:path"
import { afterAll, expect, it, vi } from "vitest"
import { eachBackend } from "../support/Backends.js"
import { expectProblem, group, isoPattern, tenant, unique } from "../support/Fixtures.js"
import type { TestServer } from "../support/TestServer.js"
import {
  bytes,
  create,
  cuttingProxy,
  digest64,
  filesUnder,
  metadataHeader,
  offsetOf,
  patch,
  sha256,
  sizeUnder,
  tus,
  tusUpload,
} from "./support.js"

// Megabytes go through real sockets and, for the embedded PostgreSQL, a database on the same thread: on a
// loaded machine that takes longer than vitest's default 5 s.
vi.setConfig({ testTimeout: 30_000 })

const dataDir = mkdtempSync(NodePath.join(tmpdir(), "chat4all-files-http-"))
afterAll(() => rmSync(dataDir, { recursive: true, force: true }))
const blobDir = NodePath.join(dataDir, "files")
const blobExists = (path: string) => filesUnder(blobDir).some((f) => f.endsWith(path.split("/").pop()!))

const sendFile = (server: TestServer, token: string, conversationId: string, fileId: string) =>
  server.request("POST", `/v1/conversations/${conversationId}/messages`, {
    token,
    body: { clientMessageId: unique("c"), content: { type: "file", fileId, caption: "see" } },
  })

const download = async (server: TestServer, path: string, init: { token?: string; range?: string } = {}) => {
  const headers: Record<string, string> = {}
  if (init.token !== undefined) headers.authorization = `Bearer ${init.token}`
  if (init.range !== undefined) headers.range = init.range
  const response = await fetch(`${server.url}${path}`, { headers })
  return {
    status: response.status,
    headers: response.headers,
    body: Buffer.from(await response.arrayBuffer()),
  }
}

const metaKeys = [
  "id",
  "name",
  "size",
  "mimeType",
  "sha256",
  "status",
  "offset",
  "conversationId",
  "createdAt",
  "expiresAt",
]

eachBackend(
  "files over tus",
  (server) => {
    it("answers OPTIONS with its tus capabilities, without a token", async () => {
      const reply = await tus(server(), "OPTIONS", "/v1/files", { tus: false })
      expect(reply.status).toBe(204)
      expect(Object.fromEntries([...reply.headers].filter(([k]) => k.startsWith("tus-")))).toEqual({
        "tus-resumable": "1.0.0",
        "tus-version": "1.0.0",
        "tus-extension": "creation,creation-with-upload,checksum,expiration,termination",
        "tus-max-size": "2147483648",
        "tus-checksum-algorithm": "sha1,sha256,md5",
      })
    })

    it("documents the tus and file endpoints in /openapi.json, and answers 405 to other methods", async () => {
      const spec = (await server().request("GET", "/openapi.json")).body
      expect(Object.keys(spec.paths["/v1/files"]).sort()).toEqual(["options", "post"])
      expect(Object.keys(spec.paths["/v1/files/{fileId}"]).sort()).toEqual(["delete", "get", "head", "patch"])
      expect(Object.keys(spec.paths["/v1/files/{fileId}/content"])).toEqual(["get"])
      expect(Object.keys(spec.paths["/v1/files/{fileId}"].patch.responses)).toEqual(
        expect.arrayContaining(["204", "409", "413", "460"]),
      )
      const { tokens } = await tenant(server())
      const put = await server().request("PUT", "/v1/files", { token: tokens.alice })
      expectProblem(put, 405, "method_not_allowed")
    })

    it("uploads with tus-js-client in chunks: ready, its metadata exactly, its bytes whole and by range", async () => {
      const { tokens } = await tenant(server())
      const c = await group(server(), tokens.alice, ["bob"])
      const data = bytes(300 * 1024 + 7, 7)
      const { done, sent } = tusUpload(server().url, tokens.alice, data, {
        chunkSize: 64 * 1024,
        metadata: {
          filename: "relatório final.pdf",
          filetype: "application/pdf",
          conversationId: c.id,
          sha256: sha256(data),
        },
      })
      const path = new URL(await done).pathname
      expect(sent.filter((r) => r.method === "PATCH").map((r) => Number(r.offset))).toEqual([
        0, 65536, 131072, 196608, 262144,
      ])
      const meta = await server().request("GET", path, { token: tokens.alice })
      expect(meta.status).toBe(200)
      expect(Object.keys(meta.body).sort()).toEqual([...metaKeys].sort())
      expect(meta.body).toMatchObject({
        id: path.split("/").pop(),
        name: "relatório final.pdf",
        size: data.length,
        mimeType: "application/pdf",
        sha256: sha256(data),
        status: "ready",
        offset: data.length,
        conversationId: c.id,
        expiresAt: null,
      })
      expect(meta.body.createdAt).toMatch(isoPattern)

      const whole = await download(server(), `${path}/content`, { token: tokens.alice })
      expect(whole.status).toBe(200)
      expect(whole.body.equals(data)).toBe(true)
      expect(whole.headers.get("content-type")).toBe("application/pdf")
      expect(whole.headers.get("content-length")).toBe(String(data.length))
      expect(whole.headers.get("accept-ranges")).toBe("bytes")
      expect(whole.headers.get("etag")).toBe(`"${sha256(data)}"`)
      expect(whole.headers.get("content-disposition")).toContain(
        "filename*=UTF-8''relat%C3%B3rio%20final.pdf",
      )

      const part = await download(server(), `${path}/content`, {
        token: tokens.alice,
        range: "bytes=100-1099",
      })
      expect(part.status).toBe(206)
      expect(part.headers.get("content-range")).toBe(`bytes 100-1099/${data.length}`)
      expect(part.body.equals(data.subarray(100, 1100))).toBe(true)
      const tail = await download(server(), `${path}/content`, { token: tokens.alice, range: "bytes=-10" })
      expect([tail.status, tail.headers.get("content-range")]).toEqual([
        206,
        `bytes ${data.length - 10}-${data.length - 1}/${data.length}`,
      ])
      expect(tail.body.equals(data.subarray(data.length - 10))).toBe(true)
      const open = await download(server(), `${path}/content`, {
        token: tokens.alice,
        range: "bytes=307000-",
      })
      expect(open.body.equals(data.subarray(307000))).toBe(true)
      const past = await download(server(), `${path}/content`, {
        token: tokens.alice,
        range: `bytes=${data.length}-`,
      })
      expect(past.status).toBe(416)
      expect(past.headers.get("content-range")).toBe(`bytes */${data.length}`)
      const head = await fetch(`${server().url}${path}/content`, {
        method: "HEAD",
        headers: { authorization: `Bearer ${tokens.alice}` },
      })
      expect([head.status, head.headers.get("content-length")]).toEqual([200, String(data.length)])
      // A download link: the token in the query string.
      const linked = await download(server(), `${path}/content?access_token=${tokens.alice}`)
      expect(linked.status).toBe(200)
      expect(linked.body.equals(data)).toBe(true)
    })

    it("resumes after the connection is cut mid-chunk, from where the server got to, to the right sha256", async () => {
      const { tokens } = await tenant(server())
      const data = bytes(6 * 1024 * 1024, 11)
      const proxy = await cuttingProxy(server().url, 2 * 1024 * 1024)
      try {
        const { done, sent, upload } = tusUpload(proxy.url, tokens.alice, data, {
          metadata: { filename: "big.bin", sha256: sha256(data) },
        })
        // The PATCH stalls at 2 MiB: once the server has written what it got, the link is cut.
        await proxy.held
        const id = upload().url!.split("/").pop()!
        let stored = -1
        for (let i = 0; i < 500; i++) {
          const now = sizeUnder(blobDir, id)
          if (now > 0 && now === stored) break
          stored = now
          await new Promise((r) => setTimeout(r, 20))
        }
        expect(stored).toBeGreaterThan(1024 * 1024)
        proxy.cut()
        const path = new URL(await done).pathname
        expect(proxy.cuts()).toBe(1)
        const offsets = sent.filter((r) => r.method === "PATCH").map((r) => Number(r.offset))
        expect(offsets[0]).toBe(0)
        // After the cut it went on from where the server had got to, not from 0 again.
        expect(offsets[offsets.length - 1]).toBe(stored)
        const meta = await server().request("GET", path, { token: tokens.alice })
        expect([meta.body.status, meta.body.sha256]).toEqual(["ready", sha256(data)])
        const whole = await download(server(), `${path}/content`, { token: tokens.alice })
        expect(sha256(whole.body)).toBe(sha256(data))
      } finally {
        await proxy.close()
      }
    })

    it("resumes an aborted upload with a new client from its URL", async () => {
      const { tokens } = await tenant(server())
      const data = bytes(4 * 1024 * 1024, 13)
      const first = tusUpload(server().url, tokens.alice, data, {
        metadata: { filename: "again.bin", sha256: sha256(data) },
        onProgress: (upload) => void upload.abort(),
      })
      let url: string | null = null
      for (let i = 0; i < 200 && url === null; i++) {
        await new Promise((r) => setTimeout(r, 10))
        url = first.upload().url
      }
      expect(url).not.toBeNull()
      const path = new URL(url!).pathname
      // Until the server has let go of the broken request, HEAD may still move.
      let kept = await offsetOf(server(), tokens.alice, path)
      for (let i = 0; i < 50; i++) {
        await new Promise((r) => setTimeout(r, 20))
        const now = await offsetOf(server(), tokens.alice, path)
        if (now === kept) break
        kept = now
      }
      expect(kept).toBeGreaterThanOrEqual(0)
      expect(kept).toBeLessThan(data.length)
      const second = tusUpload(server().url, tokens.alice, data, { uploadUrl: url! })
      await second.done
      // It asked where the upload was, and sent only what was missing from there.
      expect(second.sent[0]?.method).toBe("HEAD")
      expect(second.sent.filter((r) => r.method === "POST")).toEqual([])
      const meta = await server().request("GET", path, { token: tokens.alice })
      expect([meta.body.status, meta.body.sha256]).toEqual(["ready", sha256(data)])
    })

    it("checks every chunk's Upload-Checksum (sha1, sha256, md5) sent by tus-js-client", async () => {
      const { tokens } = await tenant(server())
      const data = bytes(200 * 1024, 17)
      const chunkSize = 48 * 1024
      const algorithms = ["sha1", "sha256", "md5"]
      let n = 0
      const { done } = tusUpload(server().url, tokens.alice, data, {
        chunkSize,
        onBeforeRequest: (req) => {
          if (req.getMethod() !== "PATCH") return
          const offset = Number(req.getHeader("Upload-Offset"))
          const algorithm = algorithms[n++ % 3]!
          req.setHeader(
            "Upload-Checksum",
            `${algorithm} ${digest64(algorithm, data.subarray(offset, offset + chunkSize))}`,
          )
        },
      })
      const path = new URL(await done).pathname
      expect(n).toBe(5)
      const meta = await server().request("GET", path, { token: tokens.alice })
      expect([meta.body.status, meta.body.sha256]).toEqual(["ready", sha256(data)])
    })

    it("answers each failure with its status and changes nothing", async () => {
      const { tokens } = await tenant(server())
      const data = bytes(1000, 19)
      const path = await create(server(), tokens.alice, data.length)
      expect(path).toMatch(/^\/v1\/files\/[0-9]{13}-[0-9a-f-]{36}$/)
      expect((await patch(server(), tokens.alice, path, 0, data.subarray(0, 400))).status).toBe(204)
      const meta = async () => (await server().request("GET", path, { token: tokens.alice })).body
      const before = await meta()
      const unchanged = async () => {
        expect(await meta()).toEqual(before)
        expect(await offsetOf(server(), tokens.alice, path)).toBe(400)
      }

      const wrongOffset = await patch(server(), tokens.alice, path, 300, data.subarray(300, 500))
      expectProblem(wrongOffset, 409, "upload_offset_mismatch")
      expect(wrongOffset.headers.get("tus-resumable")).toBe("1.0.0")
      await unchanged()

      const badChunk = await patch(server(), tokens.alice, path, 400, data.subarray(400, 600), {
        "upload-checksum": `sha256 ${digest64("sha256", Buffer.from("something else"))}`,
      })
      expectProblem(badChunk, 460, "checksum_mismatch")
      await unchanged()

      for (const checksum of ["crc32 AAAAAA==", "sha1 AAAA", "sha1"])
        expectProblem(
          await patch(server(), tokens.alice, path, 400, data.subarray(400, 600), {
            "upload-checksum": checksum,
          }),
          400,
          "invalid_request",
          "Upload-Checksum",
        )
      expectProblem(await patch(server(), tokens.alice, path, 400, bytes(601, 3)), 413, "payload_too_large")
      expectProblem(
        await tus(server(), "PATCH", path, {
          token: tokens.alice,
          body: data.subarray(400, 600),
          headers: { "content-type": "application/json", "upload-offset": "400" },
        }),
        415,
        "unsupported_media_type",
      )
      const noVersion = await tus(server(), "PATCH", path, {
        token: tokens.alice,
        tus: false,
        body: data.subarray(400, 600),
        headers: { "content-type": "application/offset+octet-stream", "upload-offset": "400" },
      })
      expectProblem(noVersion, 412, "unsupported_tus_version")
      expect(noVersion.headers.get("tus-version")).toBe("1.0.0")
      expectProblem(
        await patch(server(), tokens.alice, path, -1, data.subarray(400, 600)),
        400,
        "invalid_request",
        "Upload-Offset",
      )
      expectProblem(
        await patch(server(), "not-a-token", path, 400, data.subarray(400, 600)),
        401,
        "unauthorized",
      )
      // Someone else's upload, in the tenant or out of it, does not exist for them.
      const other = await tenant(server())
      for (const token of [tokens.bob, other.tokens.alice]) {
        expectProblem(await patch(server(), token, path, 400, data.subarray(400, 600)), 404, "file_not_found")
        expect((await tus(server(), "HEAD", path, { token })).status).toBe(404)
        expectProblem(await tus(server(), "DELETE", path, { token }), 404, "file_not_found")
        expectProblem(await server().request("GET", path, { token }), 404, "file_not_found")
      }
      await unchanged()

      // The right bytes from where it is complete it: nothing of the refused chunks was kept.
      expect((await patch(server(), tokens.alice, path, 400, data.subarray(400))).status).toBe(204)
      const done = await meta()
      expect([done.status, done.sha256]).toEqual(["ready", sha256(data)])
      expectProblem(await patch(server(), tokens.alice, path, 1000, bytes(1, 1)), 409, "upload_finished")
    })

    it("refuses bad creations: too large, no length, bad metadata, names and ids that look like paths", async () => {
      const { tokens } = await tenant(server())
      const post = (headers: Record<string, string>) =>
        tus(server(), "POST", "/v1/files", { token: tokens.alice, headers })
      const named = (pairs: Record<string, string>) => ({
        "upload-length": "10",
        "upload-metadata": metadataHeader(pairs),
      })
      const filesBefore = filesUnder(blobDir).length
      expectProblem(
        await post({
          "upload-length": "2147483649",
          "upload-metadata": metadataHeader({ filename: "huge" }),
        }),
        413,
        "payload_too_large",
      )
      expectProblem(
        await post({ "upload-metadata": metadataHeader({ filename: "x" }) }),
        400,
        "invalid_request",
        "Upload-Length",
      )
      expectProblem(await post({ "upload-defer-length": "1" }), 400, "invalid_request", "Upload-Defer-Length")
      expectProblem(await post({ "upload-length": "10" }), 400, "invalid_request", "Upload-Metadata.filename")
      for (const name of ["../../etc/passwd", "a/b", "..", "c:\\evil", "nul\u0000byte"])
        expectProblem(
          await post(named({ filename: name })),
          400,
          "invalid_request",
          "Upload-Metadata.filename",
        )
      expectProblem(
        await post({ "upload-length": "10", "upload-metadata": "filename !!notbase64" }),
        400,
        "invalid_request",
        "Upload-Metadata.filename",
      )
      expectProblem(
        await post(named({ filename: "x", sha256: "abc" })),
        400,
        "invalid_request",
        "Upload-Metadata.sha256",
      )
      expectProblem(
        await post(named({ filename: "x", filetype: "not a type" })),
        400,
        "invalid_request",
        "Upload-Metadata.filetype",
      )
      expectProblem(
        await post(named({ filename: "x", conversationId: "nope" })),
        404,
        "conversation_not_found",
      )
      const c = await group(server(), tokens.bob, ["carol"])
      expectProblem(await post(named({ filename: "x", conversationId: c.id })), 403, "not_a_member")
      // Ids are the server's: one that tries to climb out of the store is simply not found.
      for (const id of ["..%2F..%2Fetc%2Fpasswd", "..", "%2E%2E", "..%5C..%5Cx"]) {
        const reply = await tus(server(), "HEAD", `/v1/files/${id}`, { token: tokens.alice })
        expect([400, 404]).toContain(reply.status)
        const content = await download(server(), `/v1/files/${id}/content`, { token: tokens.alice })
        expect([400, 404]).toContain(content.status)
      }
      expect(filesUnder(blobDir).length).toBe(filesBefore)
    })

    it("creates with the first chunk (creation-with-upload), and refuses a first chunk that fails its checksum", async () => {
      const { tokens } = await tenant(server())
      const data = bytes(5000, 23)
      const headers = {
        "upload-length": String(data.length),
        "upload-metadata": metadataHeader({ filename: "first.bin", sha256: sha256(data) }),
        "content-type": "application/offset+octet-stream",
      }
      const created = await tus(server(), "POST", "/v1/files", {
        token: tokens.alice,
        headers,
        body: data.subarray(0, 2000),
      })
      expect(created.status).toBe(201)
      expect(created.headers.get("upload-offset")).toBe("2000")
      expect(created.headers.get("upload-expires")).toMatch(/GMT$/)
      const path = created.headers.get("location")!
      expect((await patch(server(), tokens.alice, path, 2000, data.subarray(2000))).status).toBe(204)
      expect((await server().request("GET", path, { token: tokens.alice })).body.status).toBe("ready")

      const filesBefore = filesUnder(blobDir).length
      const refused = await tus(server(), "POST", "/v1/files", {
        token: tokens.alice,
        headers: { ...headers, "upload-checksum": `md5 ${digest64("md5", Buffer.from("nope"))}` },
        body: data.subarray(0, 2000),
      })
      expectProblem(refused, 460, "checksum_mismatch")
      expect(refused.headers.get("location")).toBeNull()
      expect(filesUnder(blobDir).length).toBe(filesBefore)
    })

    it("fails an upload whose bytes do not match the declared sha256: 460, failed, not readable", async () => {
      const { tokens } = await tenant(server())
      const data = bytes(3000, 29)
      const path = await create(server(), tokens.alice, data.length, {
        filename: "x.bin",
        sha256: sha256(bytes(3000, 30)),
      })
      expect((await patch(server(), tokens.alice, path, 0, data.subarray(0, 1000))).status).toBe(204)
      expectProblem(
        await patch(server(), tokens.alice, path, 1000, data.subarray(1000)),
        460,
        "checksum_mismatch",
      )
      const meta = await server().request("GET", path, { token: tokens.alice })
      expect(meta.body).toMatchObject({ status: "failed", offset: 3000 })
      expect(meta.body.expiresAt).toMatch(isoPattern)
      expect((await tus(server(), "HEAD", path, { token: tokens.alice })).status).toBe(410)
      expectProblem(
        await server().request("GET", `${path}/content`, { token: tokens.alice }),
        409,
        "file_not_ready",
      )
      expect(blobExists(path)).toBe(false)
    })

    it("lets the members of the conversations a file was sent to read it, and nobody else", async () => {
      const { tokens, service } = await tenant(server())
      const c = await group(server(), tokens.alice, ["bob"])
      const data = bytes(2048, 31)
      const path = await create(server(), tokens.alice, data.length, {
        filename: "shared.bin",
        conversationId: c.id,
      })
      const fileId = path.split("/").pop()!
      // Not ready yet: it cannot be sent.
      expectProblem(
        await sendFile(server(), tokens.alice, c.id, fileId),
        400,
        "invalid_request",
        "content.fileId",
      )
      expect((await patch(server(), tokens.alice, path, 0, data)).status).toBe(204)
      // Not sent yet: only the uploader (and services of the tenant) read it.
      expectProblem(await server().request("GET", path, { token: tokens.bob }), 404, "file_not_found")
      expect((await server().request("GET", path, { token: service })).status).toBe(200)

      const sent = await sendFile(server(), tokens.alice, c.id, fileId)
      expect(sent.status).toBe(201)
      expect(sent.body.content).toEqual({ type: "file", fileId, caption: "see" })
      expect((await server().request("GET", path, { token: tokens.bob })).body.status).toBe("ready")
      const bobReads = await download(server(), `${path}/content?access_token=${tokens.bob}`)
      expect(bobReads.body.equals(data)).toBe(true)

      const other = await tenant(server())
      for (const token of [tokens.carol, other.tokens.alice, other.tokens.bob]) {
        expectProblem(await server().request("GET", path, { token }), 404, "file_not_found")
        expect((await download(server(), `${path}/content`, { token })).status).toBe(404)
      }
      expect((await download(server(), `${path}/content`)).status).toBe(401)
      expect((await download(server(), `${path}/content?access_token=garbage`)).status).toBe(401)
      // Another tenant cannot send it, nor can a member of this tenant who cannot read it.
      const theirs = await group(server(), other.tokens.alice, ["bob"])
      expectProblem(
        await sendFile(server(), other.tokens.alice, theirs.id, fileId),
        400,
        "invalid_request",
        "content.fileId",
      )
      const carols = await group(server(), tokens.carol, ["dave"])
      expectProblem(
        await sendFile(server(), tokens.carol, carols.id, fileId),
        400,
        "invalid_request",
        "content.fileId",
      )
      expectProblem(
        await sendFile(server(), tokens.alice, c.id, "no-such-file"),
        400,
        "invalid_request",
        "content.fileId",
      )
    })

    it("terminates an upload: 204, then gone with its bytes", async () => {
      const { tokens } = await tenant(server())
      const path = await create(server(), tokens.alice, 100)
      expect((await patch(server(), tokens.alice, path, 0, bytes(50, 2))).status).toBe(204)
      expect(blobExists(path)).toBe(true)
      const gone = await tus(server(), "DELETE", path, { token: tokens.alice })
      expect(gone.status).toBe(204)
      expect(gone.headers.get("tus-resumable")).toBe("1.0.0")
      expect((await tus(server(), "HEAD", path, { token: tokens.alice })).status).toBe(404)
      expect(blobExists(path)).toBe(false)
    })
  },
  { DATA_DIR: dataDir },
)

eachBackend(
  "upload expiry",
  (server) => {
    it("answers Upload-Expires, and removes an abandoned upload with its bytes when it expires", async () => {
      const { tokens } = await tenant(server())
      const created = await tus(server(), "POST", "/v1/files", {
        token: tokens.alice,
        headers: { "upload-length": "100", "upload-metadata": metadataHeader({ filename: "late.bin" }) },
      })
      expect(Date.parse(created.headers.get("upload-expires")!) - Date.now()).toBeLessThan(6_000)
      const path = created.headers.get("location")!
      expect((await patch(server(), tokens.alice, path, 0, bytes(10, 5))).status).toBe(204)
      expect(blobExists(path)).toBe(true)
      let status = 200
      for (let i = 0; i < 300 && status !== 404; i++) {
        await new Promise((r) => setTimeout(r, 50))
        status = (await tus(server(), "HEAD", path, { token: tokens.alice })).status
      }
      expect(status).toBe(404)
      expect(blobExists(path)).toBe(false)
    })
  },
  // Long enough for the PATCH to land first on a loaded machine; the sweep runs every 100 ms.
  { DATA_DIR: dataDir, CHAT4ALL_UPLOAD_EXPIRY: "3 seconds", CHAT4ALL_UPLOAD_SWEEP_INTERVAL: "100 millis" },
)
