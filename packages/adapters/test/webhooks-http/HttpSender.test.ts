import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import type { Webhook as DomainWebhook, WebhookSender } from "@chat4all/domain"
import { Effect } from "effect"
import { Webhook } from "standardwebhooks"
import { afterEach, describe, expect, it } from "vitest"
import { HttpSender, Signature, type SsrfGuard } from "../../src/webhooks-http/index.js"

interface Received {
  readonly method: string
  readonly url: string
  readonly headers: Http.IncomingHttpHeaders
  readonly body: string
}

/** A real HTTP server on loopback that records what it gets and answers as `answer` says. */
const receiver = async (answer: (request: Received, index: number) => number | "hang" = () => 204) => {
  const received: Array<Received> = []
  const server = Http.createServer((req, res) => {
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk) => {
      body += chunk
    })
    req.on("end", () => {
      const request = { method: req.method ?? "", url: req.url ?? "", headers: req.headers, body }
      received.push(request)
      const status = answer(request, received.length - 1)
      if (status === "hang") return
      res.writeHead(status, status >= 300 && status < 400 ? { location: "/elsewhere" } : {})
      res.end("ok")
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  const port = (server.address() as AddressInfo).port
  servers.push(server)
  return { received, port, url: `http://127.0.0.1:${port}/hook` }
}

const servers: Array<Http.Server> = []
afterEach(async () => {
  for (const server of servers.splice(0)) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

const secret = Signature.newSecret()
const body = JSON.stringify({
  id: "1700000000000-4a9e0c6e-6d1b-4c1f-9a55-3b0c1f2a7d10",
  type: "message.created",
})
const request = (url: string, secrets: ReadonlyArray<DomainWebhook.WebhookSecret> = [secret]) => ({
  url,
  webhookId: "1700000000000-4a9e0c6e-6d1b-4c1f-9a55-3b0c1f2a7d10",
  timestamp: Math.floor(Date.now() / 1000),
  body,
  secrets,
})

const send = (sender: WebhookSender.WebhookSender["Type"], req: WebhookSender.SendRequest) =>
  Effect.runPromise(sender.send(req))

/** Verifies with the reference implementation; throws when no signature matches. */
const verify = (key: string, received: Received) =>
  new Webhook(key).verify(received.body, received.headers as Record<string, string>)

describe("HttpSender", () => {
  it("POSTs the body with Standard Webhooks headers that the reference library verifies", async () => {
    const hook = await receiver()
    const outcome = await send(HttpSender.make({ allowPrivate: true }), request(hook.url))
    expect(outcome).toMatchObject({ _tag: "Answered", statusCode: 204 })
    expect(outcome.durationMs).toBeGreaterThanOrEqual(0)
    const [got] = hook.received
    expect(got?.method).toBe("POST")
    expect(got?.url).toBe("/hook")
    expect(got?.body).toBe(body)
    expect(got?.headers["content-type"]).toBe("application/json")
    expect(got?.headers["webhook-id"]).toBe("1700000000000-4a9e0c6e-6d1b-4c1f-9a55-3b0c1f2a7d10")
    expect(got?.headers["webhook-timestamp"]).toMatch(/^\d{10}$/)
    expect(got?.headers["webhook-signature"]).toMatch(/^v1,[A-Za-z0-9+/]{43}=$/)
    expect(verify(secret, got!)).toEqual(JSON.parse(body))
    expect(() => verify(Signature.newSecret(), got!)).toThrow(/No matching signature/)
  })

  it("signs with both secrets during a rotation, each signature valid on its own", async () => {
    const hook = await receiver()
    const next = Signature.newSecret()
    await send(HttpSender.make({ allowPrivate: true }), request(hook.url, [next, secret]))
    const got = hook.received[0]!
    const signatures = String(got.headers["webhook-signature"]).split(" ")
    expect(signatures).toHaveLength(2)
    expect(verify(next, got)).toEqual(JSON.parse(body))
    expect(verify(secret, got)).toEqual(JSON.parse(body))
    const [first, second] = signatures
    expect(verify(next, { ...got, headers: { ...got.headers, "webhook-signature": first } })).toBeDefined()
    expect(verify(secret, { ...got, headers: { ...got.headers, "webhook-signature": second } })).toBeDefined()
    expect(() =>
      verify(secret, { ...got, headers: { ...got.headers, "webhook-signature": first } }),
    ).toThrow()
  })

  it("answers the receiver's status; does not follow redirects", async () => {
    const hook = await receiver((r) => (r.url === "/hook" ? 302 : 200))
    const outcome = await send(HttpSender.make({ allowPrivate: true }), request(hook.url))
    expect(outcome).toMatchObject({
      _tag: "Answered",
      statusCode: 302,
      note: "redirect to /elsewhere not followed",
    })
    expect(hook.received.map((r) => r.url)).toEqual(["/hook"])
    const failing = await receiver(() => 503)
    expect(await send(HttpSender.make({ allowPrivate: true }), request(failing.url))).toMatchObject({
      _tag: "Answered",
      statusCode: 503,
    })
  })

  it("gives up on a receiver that does not answer in time, and says so", async () => {
    const hook = await receiver(() => "hang")
    const started = Date.now()
    const outcome = await send(
      HttpSender.make({ allowPrivate: true, timeout: "300 millis" }),
      request(hook.url),
    )
    expect(outcome).toMatchObject({ _tag: "NoAnswer", error: "no answer within 300ms" })
    expect(Date.now() - started).toBeLessThan(3_000)
    expect(hook.received).toHaveLength(1)
  })

  it("reports a refused connection", async () => {
    const hook = await receiver()
    servers.pop()?.close()
    const outcome = await send(HttpSender.make({ allowPrivate: true }), request(hook.url))
    expect(outcome._tag).toBe("NoAnswer")
    expect(outcome._tag === "NoAnswer" && outcome.error).toMatch(/ECONNREFUSED/)
  })

  it("refuses at send time a name that resolves privately now, though it passed at registration", async () => {
    const hook = await receiver()
    let calls = 0
    // The name was public when registered; by the time of the send its DNS answer is the loopback.
    const rebinding: SsrfGuard.Resolver = async () => {
      calls++
      return [{ address: calls === 1 ? "93.184.215.14" : "127.0.0.1", family: 4 }]
    }
    const sender = HttpSender.make({ allowPrivate: false, resolver: rebinding })
    const url = `http://hooks.example.test:${hook.port}/hook`
    expect(await Effect.runPromise(sender.check(url))).toBe(url)
    const outcome = await send(sender, request(url))
    expect(outcome).toMatchObject({ _tag: "NoAnswer" })
    expect(outcome._tag === "NoAnswer" && outcome.error).toMatch(
      /^refused: host hooks\.example\.test resolves to 127\.0\.0\.1, which is a loopback address/,
    )
    expect(hook.received).toHaveLength(0)
    // And a literal private address is refused at send time too (a URL stored before the rules tightened).
    const literal = await send(sender, request(hook.url))
    expect(literal._tag === "NoAnswer" && literal.error).toMatch(/^refused: 127\.0\.0\.1 is a loopback/)
    expect(hook.received).toHaveLength(0)
  })

  it("connects to the address it checked, once resolved: DNS is not asked again for the connection", async () => {
    const hook = await receiver()
    const asked: Array<string> = []
    // The first answer is the receiver; any later answer would be an address nobody listens on.
    const resolver: SsrfGuard.Resolver = async (hostname) => {
      asked.push(hostname)
      return [{ address: asked.length === 1 ? "127.0.0.1" : "127.0.0.9", family: 4 }]
    }
    const sender = HttpSender.make({ allowPrivate: true, resolver })
    const outcome = await send(sender, request(`http://rebind.example.test:${hook.port}/hook`))
    expect(outcome).toMatchObject({ _tag: "Answered", statusCode: 204 })
    expect(asked).toEqual(["rebind.example.test"])
    expect(hook.received[0]?.headers.host).toBe(`rebind.example.test:${hook.port}`)
  })

  it("makes secrets of whsec_ and 32 random bytes", () => {
    const a = Signature.newSecret()
    expect(a).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
    expect(Buffer.from(a.slice(6), "base64")).toHaveLength(32)
    expect(Signature.newSecret()).not.toBe(a)
    expect(Effect.runSync(HttpSender.make({ allowPrivate: false }).newSecret)).toMatch(/^whsec_/)
  })
})
