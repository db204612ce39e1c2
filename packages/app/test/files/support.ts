import { createHash } from "node:crypto"
import { readdirSync, statSync } from "node:fs"
import * as Net from "node:net"
import * as NodePath from "node:path"
import { type HttpRequest, Upload } from "tus-js-client"
import type { Reply, TestServer } from "../support/TestServer.js"

export const sha256 = (data: Uint8Array) => createHash("sha256").update(data).digest("hex")
export const digest64 = (algorithm: string, data: Uint8Array) =>
  createHash(algorithm).update(data).digest("base64")

/** Deterministic pseudo-random bytes (xorshift), so that a failure is reproducible. */
export const bytes = (size: number, seed = 1) => {
  const out = Buffer.allocUnsafe(size)
  let x = seed >>> 0 || 1
  for (let i = 0; i < size; i++) {
    x ^= x << 13
    x ^= x >>> 17
    x ^= x << 5
    out[i] = x & 0xff
  }
  return out
}

export const b64 = (text: string) => Buffer.from(text, "utf8").toString("base64")
export const metadataHeader = (pairs: Record<string, string>) =>
  Object.entries(pairs)
    .map(([k, v]) => `${k} ${b64(v)}`)
    .join(",")

/** A raw tus request (what a client that gets things wrong sends), with `Tus-Resumable` unless told not to. */
export const tus = (
  server: TestServer,
  method: string,
  path: string,
  options: { token?: string; headers?: Record<string, string>; body?: Uint8Array; tus?: boolean } = {},
): Promise<Reply> =>
  server.request(method, path, {
    token: options.token,
    headers: { ...(options.tus === false ? {} : { "tus-resumable": "1.0.0" }), ...options.headers },
    raw: options.body,
  })

/** POST /v1/files: creates an upload and answers its path. */
export const create = async (
  server: TestServer,
  token: string,
  size: number,
  metadata: Record<string, string> = { filename: "data.bin" },
) => {
  const reply = await tus(server, "POST", "/v1/files", {
    token,
    headers: { "upload-length": String(size), "upload-metadata": metadataHeader(metadata) },
  })
  if (reply.status !== 201) throw new Error(`create answered ${reply.status}: ${reply.text}`)
  return reply.headers.get("location")!
}

export const patch = (
  server: TestServer,
  token: string,
  path: string,
  offset: number,
  body: Uint8Array,
  headers: Record<string, string> = {},
) =>
  tus(server, "PATCH", path, {
    token,
    body,
    headers: {
      "content-type": "application/offset+octet-stream",
      "upload-offset": String(offset),
      ...headers,
    },
  })

/** Where an upload is, by HEAD: its offset, or minus the status when it is not 200. */
export const offsetOf = async (server: TestServer, token: string, path: string) => {
  const reply = await tus(server, "HEAD", path, { token })
  return reply.status === 200 ? Number(reply.headers.get("upload-offset")) : -reply.status
}

export interface Sent {
  readonly method: string
  readonly offset: string | undefined
}

/** Uploads `data` with tus-js-client (a real tus client): the upload's URL once done, and what it sent. */
export const tusUpload = (
  endpoint: string,
  token: string,
  data: Buffer,
  options: {
    readonly metadata?: Record<string, string>
    readonly chunkSize?: number
    readonly uploadUrl?: string
    readonly onBeforeRequest?: (req: HttpRequest) => void
    readonly onProgress?: (upload: Upload, sent: number) => void
  } = {},
) => {
  const sent: Array<Sent> = []
  let upload: Upload | undefined
  const done = new Promise<string>((resolve, reject) => {
    upload = new Upload(data, {
      endpoint: `${endpoint}/v1/files`,
      ...(options.uploadUrl === undefined ? {} : { uploadUrl: options.uploadUrl }),
      headers: { authorization: `Bearer ${token}` },
      metadata: options.metadata ?? { filename: "data.bin", filetype: "application/octet-stream" },
      ...(options.chunkSize === undefined ? {} : { chunkSize: options.chunkSize }),
      retryDelays: [0, 50, 100, 200, 400, 800, 1600],
      storeFingerprintForResuming: false,
      onBeforeRequest: (req) => {
        sent.push({ method: req.getMethod(), offset: req.getHeader("Upload-Offset") })
        options.onBeforeRequest?.(req)
      },
      onProgress: (bytesSent) => options.onProgress?.(upload!, bytesSent),
      onSuccess: () => resolve(upload!.url!),
      onError: reject,
    })
    upload.start()
  })
  return { done, sent, upload: () => upload! }
}

/**
 * A TCP proxy in front of the server for a network failure in the middle of a request. After `holdAfter`
 * bytes from the client it stops forwarding (the request stalls, as on a dying link) until `cut()`: then
 * the client's side is reset and the server's side closed after what was forwarded. The test cuts once the
 * server has stored what it got, so how far the server got does not depend on timing.
 */
export const cuttingProxy = async (target: string, holdAfter: number) => {
  const { hostname, port } = new URL(target)
  let forwarded = 0
  let cuts = 0
  let hold: (() => void) | undefined
  const held = new Promise<void>((resolve) => {
    hold = resolve
  })
  let cutHeld = () => {}
  const sockets = new Set<Net.Socket>()
  const proxy = Net.createServer((client) => {
    const upstream = Net.connect(Number(port), hostname)
    sockets.add(client).add(upstream)
    const drop = () => {
      client.destroy()
      upstream.destroy()
    }
    client.on("data", (chunk: Buffer) => {
      if (cuts === 0 && forwarded + chunk.length > holdAfter) {
        // Forward up to the limit, then hold this connection until the test cuts it.
        const part = chunk.subarray(0, Math.max(0, holdAfter - forwarded))
        forwarded += part.length
        upstream.write(part)
        client.pause()
        client.removeAllListeners("data")
        cutHeld = () => {
          cuts++
          client.destroy()
          upstream.end()
        }
        hold?.()
        return
      }
      forwarded += chunk.length
      if (!upstream.write(chunk)) client.pause()
    })
    upstream.on("drain", () => client.resume())
    upstream.on("data", (chunk) => client.write(chunk))
    client.on("close", () => {
      if (cuts === 0) upstream.destroy()
    })
    upstream.on("close", () => client.destroy())
    client.on("error", drop)
    upstream.on("error", drop)
  })
  await new Promise<void>((resolve) => proxy.listen(0, "127.0.0.1", resolve))
  const address = proxy.address() as Net.AddressInfo
  return {
    url: `http://127.0.0.1:${address.port}`,
    /** Resolves when the proxy holds a request at `holdAfter` bytes. */
    held,
    cut: () => cutHeld(),
    cuts: () => cuts,
    close: () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy()
        proxy.close(() => resolve())
      }),
  }
}

/** Every file under `dir`, relative to it. */
export const filesUnder = (dir: string): Array<string> => {
  try {
    return readdirSync(dir, { withFileTypes: true }).flatMap((entry) =>
      entry.isDirectory()
        ? filesUnder(NodePath.join(dir, entry.name)).map((p) => `${entry.name}/${p}`)
        : [entry.name],
    )
  } catch {
    return []
  }
}

/** The size of the file `name` somewhere under `dir`, or -1. */
export const sizeUnder = (dir: string, name: string): number => {
  const found = filesUnder(dir).find((f) => f.endsWith(`/${name}`))
  return found === undefined ? -1 : statSync(NodePath.join(dir, found)).size
}
