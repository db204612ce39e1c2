import { createServer, type Server } from "node:http"
import type { AddressInfo } from "node:net"
import { exportJWK, generateKeyPair, SignJWT } from "jose"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import * as Jwt from "../../src/auth/Jwt.js"
import * as Storage from "../../src/Storage.js"
import { eachBackend } from "../support/Backends.js"
import { expectProblem, group, tenant } from "../support/Fixtures.js"
import { secret, start, type TestServer } from "../support/TestServer.js"

type PrivateKey = Awaited<ReturnType<typeof generateKeyPair>>["privateKey"]

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString("base64url")
const inAnHour = () => Math.floor(Date.now() / 1000) + 3600

const hs = (claims: Record<string, unknown>, key = secret, alg = "HS256") =>
  new SignJWT(claims).setProtectedHeader({ alg }).sign(new TextEncoder().encode(key))

eachBackend("authentication", (server) => {
  const list = (headers: Record<string, string>) => server().request("GET", "/v1/conversations", { headers })
  const bearer = (token: string) => list({ authorization: `Bearer ${token}` })

  it("refuses a missing, malformed or foreign-scheme token with 401 and a challenge", async () => {
    const missing = await list({})
    expectProblem(missing, 401, "unauthorized")
    expect(missing.headers.get("www-authenticate")).toMatch(/^Bearer/)
    expectProblem(await bearer("not.a.token"), 401, "unauthorized")
    expectProblem(await bearer("garbage"), 401, "unauthorized")
    expectProblem(await list({ authorization: "Basic YWxpY2U6c2VjcmV0" }), 401, "unauthorized")
  })

  it("refuses expired, alg none, wrongly keyed and other-algorithm tokens", async () => {
    const claims = { sub: "alice", tid: "acme" }
    const expired = await hs({ ...claims, exp: Math.floor(Date.now() / 1000) - 60 })
    const reply = await bearer(expired)
    expectProblem(reply, 401, "unauthorized")
    expect(reply.body.detail).toMatch(/expired/)
    const none = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, exp: inAnHour() })}.`
    expectProblem(await bearer(none), 401, "unauthorized")
    const noneSigned = `${b64({ alg: "none", typ: "JWT" })}.${b64({ ...claims, exp: inAnHour() })}.c2ln`
    expectProblem(await bearer(noneSigned), 401, "unauthorized")
    const wrongKey = await hs({ ...claims, exp: inAnHour() }, "another-secret-of-sufficient-length-xx")
    const wrong = await bearer(wrongKey)
    expectProblem(wrong, 401, "unauthorized")
    expect(wrong.body.detail).toMatch(/signature/)
    const hs512 = await hs({ ...claims, exp: inAnHour() }, secret, "HS512")
    const other = await bearer(hs512)
    expectProblem(other, 401, "unauthorized")
    expect(other.body.detail).toMatch(/algorithm/)
    const { privateKey } = await generateKeyPair("RS256")
    const rs = await new SignJWT({ ...claims, exp: inAnHour() })
      .setProtectedHeader({ alg: "RS256" })
      .sign(privateKey)
    expectProblem(await bearer(rs), 401, "unauthorized")
  })

  it("refuses tokens whose claims are missing or malformed", async () => {
    const exp = inAnHour()
    for (const claims of [
      { tid: "acme", exp },
      { sub: "alice", exp },
      { sub: "alice", tid: "acme" },
      { sub: "bad user!", tid: "acme", exp },
      { sub: "alice", tid: "a/b", exp },
      { sub: "alice", tid: "acme", role: "root", exp },
    ])
      expectProblem(await bearer(await hs(claims)), 401, "unauthorized")
  })

  it("accepts a good token, role user by default, and takes the tenant from it", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const token = await hs({ sub: "alice", tid: "elsewhere", exp: inAnHour() })
    const reply = await bearer(token)
    expect(reply.status).toBe(200)
    expect(reply.body.items).toEqual([])
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}`, { token }),
      404,
      "conversation_not_found",
    )
  })
})

describe("authentication with a JWKS (RS256/ES256)", () => {
  let jwksServer: Server
  let server: TestServer
  let rsa: PrivateKey
  let ec: PrivateKey

  beforeAll(async () => {
    const rsaPair = await generateKeyPair("RS256")
    const ecPair = await generateKeyPair("ES256")
    rsa = rsaPair.privateKey
    ec = ecPair.privateKey
    const keys = [
      { ...(await exportJWK(rsaPair.publicKey)), kid: "rsa-1", alg: "RS256", use: "sig" },
      { ...(await exportJWK(ecPair.publicKey)), kid: "ec-1", alg: "ES256", use: "sig" },
    ]
    jwksServer = createServer((_, res) => {
      res.writeHead(200, { "content-type": "application/json" })
      res.end(JSON.stringify({ keys }))
    })
    await new Promise<void>((resolve) => jwksServer.listen(0, "127.0.0.1", resolve))
    const port = (jwksServer.address() as AddressInfo).port
    server = await start(Storage.memory, {}, Jwt.jwks(new URL(`http://127.0.0.1:${port}/jwks.json`)))
  })
  afterAll(async () => {
    await server.close()
    await new Promise((resolve) => jwksServer.close(resolve))
  })

  const claims = { sub: "alice", tid: "jwks-tenant" }

  it("accepts RS256 and ES256 tokens signed by keys of the set", async () => {
    const rs = await new SignJWT({ ...claims, exp: inAnHour() })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
      .sign(rsa)
    const es = await new SignJWT({ ...claims, exp: inAnHour() })
      .setProtectedHeader({ alg: "ES256", kid: "ec-1" })
      .sign(ec)
    expect((await server.request("GET", "/v1/conversations", { token: rs })).status).toBe(200)
    expect((await server.request("GET", "/v1/conversations", { token: es })).status).toBe(200)
  })

  it("refuses HS256 (even with the key set's material), unknown keys and alg none", async () => {
    expectProblem(
      await server.request("GET", "/v1/conversations", { token: await hs({ ...claims, exp: inAnHour() }) }),
      401,
      "unauthorized",
    )
    const { privateKey } = await generateKeyPair("RS256")
    const stranger = await new SignJWT({ ...claims, exp: inAnHour() })
      .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
      .sign(privateKey)
    expectProblem(await server.request("GET", "/v1/conversations", { token: stranger }), 401, "unauthorized")
    const none = `${b64({ alg: "none" })}.${b64({ ...claims, exp: inAnHour() })}.`
    expectProblem(await server.request("GET", "/v1/conversations", { token: none }), 401, "unauthorized")
  })

  it("answers 503 when the key set cannot be read", async () => {
    const closed = createServer()
    await new Promise<void>((resolve) => closed.listen(0, "127.0.0.1", resolve))
    const port = (closed.address() as AddressInfo).port
    await new Promise((resolve) => closed.close(resolve))
    const unreachable = await start(
      Storage.memory,
      {},
      Jwt.jwks(new URL(`http://127.0.0.1:${port}/jwks.json`)),
    )
    try {
      const rs = await new SignJWT({ ...claims, exp: inAnHour() })
        .setProtectedHeader({ alg: "RS256", kid: "rsa-1" })
        .sign(rsa)
      expectProblem(
        await unreachable.request("GET", "/v1/conversations", { token: rs }),
        503,
        "identity_provider_unavailable",
      )
    } finally {
      await unreachable.close()
    }
  })
})
