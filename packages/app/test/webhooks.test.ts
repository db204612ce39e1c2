import * as Http from "node:http"
import type { AddressInfo } from "node:net"
import { Webhook } from "standardwebhooks"
import { afterAll, describe, expect, it } from "vitest"
import * as Storage from "../src/Storage.js"
import { eachBackend } from "./support/Backends.js"
import { expectProblem, group, isoPattern, send, tenant, unique } from "./support/Fixtures.js"
import { start, type TestServer } from "./support/TestServer.js"

interface Received {
  readonly url: string
  readonly headers: Record<string, string>
  readonly body: string
  readonly at: number
}

/**
 * A webhook receiver: a real HTTP server on loopback answering each request with `answer(n)` (or never,
 * for "hang"). `inFlight.most` is the most requests it held open at once.
 */
const receivers: Array<Http.Server> = []
const receiver = async (answer: (index: number) => number | "hang" = () => 204) => {
  const received: Array<Received> = []
  const inFlight = { now: 0, most: 0 }
  const server = Http.createServer((req, res) => {
    inFlight.now++
    inFlight.most = Math.max(inFlight.most, inFlight.now)
    res.on("close", () => {
      inFlight.now--
    })
    let body = ""
    req.setEncoding("utf8")
    req.on("data", (chunk) => {
      body += chunk
    })
    req.on("end", () => {
      received.push({
        url: req.url ?? "",
        headers: req.headers as Record<string, string>,
        body,
        at: Date.now(),
      })
      const status = answer(received.length - 1)
      if (status !== "hang") res.writeHead(status).end()
    })
  })
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve))
  receivers.push(server)
  const port = (server.address() as AddressInfo).port
  return { received, inFlight, url: `http://127.0.0.1:${port}/hooks/${unique("r")}` }
}
afterAll(async () => {
  for (const server of receivers) {
    server.closeAllConnections()
    await new Promise((resolve) => server.close(resolve))
  }
})

/** Waits until `check` holds (it throws until then), at most `ms`. */
const eventually = async <A>(check: () => A | Promise<A>, ms = 10_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 25))
    }
  }
}

const verify = (secret: string, r: Received) => new Webhook(secret).verify(r.body, r.headers)

const register = async (
  server: TestServer,
  token: string,
  body: { url: string; events: ReadonlyArray<string>; description?: string },
) => {
  const reply = await server.request("POST", "/v1/webhooks", { token, body })
  if (reply.status !== 201) throw new Error(`register answered ${reply.status}: ${reply.text}`)
  return reply.body as { id: string; secret: string; url: string; events: Array<string>; status: string }
}

const deliveries = async (server: TestServer, token: string, webhookId: string, query = "") => {
  const reply = await server.request("GET", `/v1/webhooks/${webhookId}/deliveries${query}`, { token })
  if (reply.status !== 200) throw new Error(`deliveries answered ${reply.status}: ${reply.text}`)
  return reply.body.items as Array<{
    id: string
    eventId: string
    eventType: string
    status: string
    attempts: Array<{ at: string; durationMs: number; statusCode?: number; error?: string }>
    nextAttemptAt?: string
  }>
}

/** The events of `conversationId` the sync API answers for `token` after `since`. */
const syncEvents = async (server: TestServer, token: string, since: string) => {
  const reply = await server.request("GET", `/v1/sync?since=${since}&limit=200`, { token })
  if (reply.status !== 200) throw new Error(`sync answered ${reply.status}: ${reply.text}`)
  return reply.body.events as Array<{ id: string; type: string }>
}

const cursorOf = async (server: TestServer, token: string) =>
  (await server.request("GET", "/v1/sync", { token })).body.nextCursor as string

/** Deliveries, retries and replays take a few seconds end to end; more on a loaded machine. */
const timeout = 30_000

const webhookEnv = { CHAT4ALL_WEBHOOKS_ALLOW_PRIVATE: "true", CHAT4ALL_WEBHOOKS_RETRY_SCALE: "0.001" }

eachBackend(
  "webhooks",
  (server) => {
    it(
      "registers, lists, reads, rotates and removes endpoints: service and admin tokens, per tenant",
      async () => {
        const t = await tenant(server())
        const other = await tenant(server())
        const admin = await server().token({ tid: t.tid, sub: "root", role: "admin" })
        const hook = await receiver()

        const byUser = await server().request("POST", "/v1/webhooks", {
          token: t.tokens.alice,
          body: { url: hook.url, events: ["*"] },
        })
        expectProblem(byUser, 403, "forbidden")
        expectProblem(
          await server().request("GET", "/v1/webhooks", { token: t.tokens.alice }),
          403,
          "forbidden",
        )

        const first = await register(server(), t.service, {
          url: hook.url,
          events: ["message.created", "message.created"],
          description: "CRM sync",
        })
        expect(first.id).toMatch(/^wh_[0-9]{13}-/)
        expect(first.secret).toMatch(/^whsec_[A-Za-z0-9+/]{43}=$/)
        expect(Buffer.from(first.secret.slice(6), "base64")).toHaveLength(32)
        expect(first).toMatchObject({ url: hook.url, events: ["message.created"], status: "active" })
        const second = await register(server(), admin, { url: hook.url, events: ["*"] })
        expect(second.secret).not.toBe(first.secret)

        const list = await server().request("GET", "/v1/webhooks?limit=1", { token: t.service })
        expect(list.status).toBe(200)
        expect(list.body.items.map((w: { id: string }) => w.id)).toEqual([second.id])
        expect(list.body.items[0].secret).toBeUndefined()
        const rest = await server().request("GET", `/v1/webhooks?cursor=${list.body.nextCursor}`, {
          token: admin,
        })
        expect(rest.body).toEqual({ items: [expect.objectContaining({ id: first.id })], nextCursor: null })

        const got = await server().request("GET", `/v1/webhooks/${first.id}`, { token: t.service })
        expect(got.status).toBe(200)
        expect(got.body).toEqual({
          id: first.id,
          url: hook.url,
          events: ["message.created"],
          description: "CRM sync",
          status: "active",
          createdAt: expect.stringMatching(isoPattern),
          updatedAt: expect.stringMatching(isoPattern),
        })

        // Another tenant's endpoint does not exist for the caller, whatever they ask of it.
        for (const [method, path] of [
          ["GET", `/v1/webhooks/${first.id}`],
          ["DELETE", `/v1/webhooks/${first.id}`],
          ["POST", `/v1/webhooks/${first.id}/rotate-secret`],
          ["GET", `/v1/webhooks/${first.id}/deliveries`],
          [
            "POST",
            `/v1/webhooks/${first.id}/deliveries/1700000000000-4a9e0c6e-6d1b-4c1f-9a55-3b0c1f2a7d10/retry`,
          ],
        ] as const)
          expectProblem(
            await server().request(method, path, { token: other.service }),
            404,
            "webhook_not_found",
          )
        expect((await server().request("GET", "/v1/webhooks", { token: other.service })).body.items).toEqual(
          [],
        )

        const rotated = await server().request("POST", `/v1/webhooks/${first.id}/rotate-secret`, {
          token: t.service,
        })
        expect(rotated.status).toBe(200)
        expect(rotated.body.secret).toMatch(/^whsec_/)
        expect(rotated.body.secret).not.toBe(first.secret)
        const overlapMs = Date.parse(rotated.body.previousSecretExpiresAt) - Date.now()
        expect(overlapMs).toBeGreaterThan(23.9 * 3600_000)
        expect(overlapMs).toBeLessThanOrEqual(24 * 3600_000)

        expect(
          (await server().request("DELETE", `/v1/webhooks/${first.id}`, { token: t.service })).status,
        ).toBe(204)
        expectProblem(
          await server().request("GET", `/v1/webhooks/${first.id}`, { token: t.service }),
          404,
          "webhook_not_found",
        )
        expectProblem(
          await server().request("DELETE", `/v1/webhooks/${first.id}`, { token: t.service }),
          404,
          "webhook_not_found",
        )
        await server().request("DELETE", `/v1/webhooks/${second.id}`, { token: admin })
      },
      timeout,
    )

    it(
      "refuses a bad registration with a 400 naming the field",
      async () => {
        const t = await tenant(server())
        const post = (body: unknown) => server().request("POST", "/v1/webhooks", { token: t.service, body })
        expectProblem(await post({ events: ["*"] }), 400, "invalid_request", "url")
        expectProblem(
          await post({ url: "ftp://hooks.example.com/x", events: ["*"] }),
          400,
          "invalid_request",
          "url",
        )
        expectProblem(
          await post({ url: "https://user:pw@hooks.example.com/x", events: ["*"] }),
          400,
          "invalid_request",
          "url",
        )
        expectProblem(await post({ url: "not a url", events: ["*"] }), 400, "invalid_request", "url")
        expectProblem(
          await post({ url: `https://h.example.com/${"x".repeat(2100)}`, events: ["*"] }),
          400,
          "invalid_request",
          "url",
        )
        // Private targets are allowed on this server, metadata services never.
        const metadata = await post({ url: "http://169.254.169.254/latest/meta-data/", events: ["*"] })
        expectProblem(metadata, 400, "invalid_request", "url")
        expect(metadata.body.detail).toMatch(/cloud metadata/)
        expectProblem(
          await post({ url: "http://127.0.0.1:9/h", events: [] }),
          400,
          "invalid_request",
          "events",
        )
        expectProblem(
          await post({ url: "http://127.0.0.1:9/h", events: ["message.deleted"] }),
          400,
          "invalid_request",
          "events[0]",
        )
        expectProblem(
          await post({ url: "http://127.0.0.1:9/h", events: ["*"], description: "d".repeat(513) }),
          400,
          "invalid_request",
          "description",
        )
        expectProblem(
          await server().request("GET", "/v1/webhooks?cursor=%20nope", { token: t.service }),
          400,
          "invalid_request",
          "cursor",
        )
      },
      timeout,
    )

    it(
      "retries a failing receiver with the same webhook-id, signed each time, and logs every attempt",
      async () => {
        const t = await tenant(server())
        const hook = await receiver((n) => (n < 2 ? 500 : 200))
        const conversation = await group(server(), t.tokens.alice, ["bob"])
        const since = await cursorOf(server(), t.tokens.alice)
        const made = await register(server(), t.service, { url: hook.url, events: ["message.created"] })
        const message = await send(server(), t.tokens.alice, conversation.id, "hello hooks")

        await eventually(() => expect(hook.received).toHaveLength(3))
        const [event] = (await syncEvents(server(), t.tokens.alice, since)).filter(
          (e) => e.type === "message.created",
        )
        expect(event).toBeDefined()
        for (const request of hook.received) {
          expect(request.headers["webhook-id"]).toBe(event!.id)
          expect(request.headers["content-type"]).toBe("application/json")
          // The body is the event exactly as the sync API sends it.
          expect(request.body).toBe(JSON.stringify(event))
          const payload = verify(made.secret, request) as { data: { message: { id: string; seq: number } } }
          expect(payload.data.message).toMatchObject({ id: message.id, seq: 1 })
          expect(Number(request.headers["webhook-timestamp"])).toBeCloseTo(request.at / 1000, -1)
        }
        // About 5 s and 5 min apart, scaled by 0.001, with 20% jitter.
        expect(hook.received[1]!.at - hook.received[0]!.at).toBeGreaterThanOrEqual(3)
        expect(hook.received[2]!.at - hook.received[1]!.at).toBeGreaterThanOrEqual(230)

        const log = await eventually(async () => {
          const items = await deliveries(server(), t.service, made.id)
          expect(items[0]?.status).toBe("succeeded")
          return items
        })
        expect(log).toHaveLength(1)
        expect(log[0]).toMatchObject({ id: event!.id, eventId: event!.id, eventType: "message.created" })
        expect(log[0]!.nextAttemptAt).toBeUndefined()
        expect(log[0]!.attempts.map((a) => a.statusCode)).toEqual([500, 500, 200])
        for (const attempt of log[0]!.attempts) {
          expect(attempt.at).toMatch(isoPattern)
          expect(attempt.durationMs).toBeGreaterThanOrEqual(0)
        }
        expect(await deliveries(server(), t.service, made.id, "?status=failed")).toEqual([])
        expect(await deliveries(server(), t.service, made.id, "?status=succeeded")).toHaveLength(1)
        expectProblem(
          await server().request("GET", `/v1/webhooks/${made.id}/deliveries?status=done`, {
            token: t.service,
          }),
          400,
          "invalid_request",
          "status",
        )

        // A replay goes out again under the same webhook-id, as one more attempt in the log.
        const replay = await server().request(
          "POST",
          `/v1/webhooks/${made.id}/deliveries/${event!.id}/retry`,
          {
            token: t.service,
          },
        )
        expect(replay.status).toBe(202)
        expect(replay.body).toMatchObject({ id: event!.id, status: "pending" })
        await eventually(() => expect(hook.received).toHaveLength(4))
        expect(hook.received[3]!.headers["webhook-id"]).toBe(event!.id)
        expect(verify(made.secret, hook.received[3]!)).toBeDefined()
        await eventually(async () =>
          expect(
            (await deliveries(server(), t.service, made.id))[0]!.attempts.map((a) => a.statusCode),
          ).toEqual([500, 500, 200, 200]),
        )
        expectProblem(
          await server().request(
            "POST",
            `/v1/webhooks/${made.id}/deliveries/1700000000000-4a9e0c6e-6d1b-4c1f-9a55-3b0c1f2a7d10/retry`,
            { token: t.service },
          ),
          404,
          "delivery_not_found",
        )
        expectProblem(
          await server().request("POST", `/v1/webhooks/${made.id}/deliveries/nonsense/retry`, {
            token: t.service,
          }),
          404,
          "delivery_not_found",
        )
        await server().request("DELETE", `/v1/webhooks/${made.id}`, { token: t.service })
      },
      timeout,
    )

    it(
      "sends each endpoint the event types it asked for, `*` all of them",
      async () => {
        const t = await tenant(server())
        const everything = await receiver()
        const joins = await receiver()
        const all = await register(server(), t.service, { url: everything.url, events: ["*"] })
        const members = await register(server(), t.service, { url: joins.url, events: ["member.added"] })
        const conversation = await group(server(), t.tokens.alice, ["bob"])
        const added = await server().request("POST", `/v1/conversations/${conversation.id}/members`, {
          token: t.tokens.alice,
          body: { userId: "carol" },
        })
        expect(added.status).toBe(201)
        await send(server(), t.tokens.alice, conversation.id, "hi")
        await eventually(() => expect(everything.received).toHaveLength(3))
        await eventually(() => expect(joins.received).toHaveLength(1))
        const types = (r: ReadonlyArray<Received>) =>
          r.map((x) => (JSON.parse(x.body) as { type: string }).type).sort()
        expect(types(everything.received)).toEqual([
          "conversation.created",
          "member.added",
          "message.created",
        ])
        expect(types(joins.received)).toEqual(["member.added"])
        expect(JSON.parse(joins.received[0]!.body)).toMatchObject({
          type: "member.added",
          tenantId: t.tid,
          conversationId: conversation.id,
          data: { userId: "carol", role: "member" },
        })
        for (const r of everything.received) expect(verify(all.secret, r)).toBeDefined()
        expect(verify(members.secret, joins.received[0]!)).toBeDefined()
        // Nothing of another tenant reaches this tenant's endpoints.
        const other = await tenant(server())
        await group(server(), other.tokens.alice, ["bob"])
        await new Promise((resolve) => setTimeout(resolve, 300))
        expect(everything.received).toHaveLength(3)
        await server().request("DELETE", `/v1/webhooks/${all.id}`, { token: t.service })
        await server().request("DELETE", `/v1/webhooks/${members.id}`, { token: t.service })
      },
      timeout,
    )

    it(
      "signs with both secrets after a rotation, each signature valid on its own",
      async () => {
        const t = await tenant(server())
        const hook = await receiver()
        const made = await register(server(), t.service, { url: hook.url, events: ["conversation.created"] })
        const rotated = await server().request("POST", `/v1/webhooks/${made.id}/rotate-secret`, {
          token: t.service,
        })
        const next = rotated.body.secret as string
        await group(server(), t.tokens.alice, ["bob"])
        await eventually(() => expect(hook.received).toHaveLength(1))
        const request = hook.received[0]!
        const signatures = request.headers["webhook-signature"]!.split(" ")
        expect(signatures).toHaveLength(2)
        expect(verify(next, request)).toBeDefined()
        expect(verify(made.secret, request)).toBeDefined()
        const only = (signature: string) => ({
          ...request,
          headers: { ...request.headers, "webhook-signature": signature },
        })
        expect(verify(next, only(signatures[0]!))).toBeDefined()
        expect(verify(made.secret, only(signatures[1]!))).toBeDefined()
        expect(() => verify(made.secret, only(signatures[0]!))).toThrow(/No matching signature/)
        await server().request("DELETE", `/v1/webhooks/${made.id}`, { token: t.service })
      },
      timeout,
    )

    it(
      "disables an endpoint that answers 410 Gone: that delivery fails and nothing more is sent",
      async () => {
        const t = await tenant(server())
        const hook = await receiver(() => 410)
        const made = await register(server(), t.service, { url: hook.url, events: ["conversation.created"] })
        await group(server(), t.tokens.alice, ["bob"])
        await eventually(async () => {
          const got = await server().request("GET", `/v1/webhooks/${made.id}`, { token: t.service })
          expect(got.body.status).toBe("disabled")
          expect(got.body.disabledReason).toMatch(/410 Gone/)
        })
        const [delivery] = await deliveries(server(), t.service, made.id)
        expect(delivery).toMatchObject({
          status: "failed",
          attempts: [expect.objectContaining({ statusCode: 410 })],
        })
        await group(server(), t.tokens.alice, ["carol"])
        await new Promise((resolve) => setTimeout(resolve, 400))
        expect(hook.received).toHaveLength(1)
        expect(await deliveries(server(), t.service, made.id)).toHaveLength(1)
        expectProblem(
          await server().request("POST", `/v1/webhooks/${made.id}/deliveries/${delivery!.id}/retry`, {
            token: t.service,
          }),
          409,
          "webhook_disabled",
        )
        await server().request("DELETE", `/v1/webhooks/${made.id}`, { token: t.service })
      },
      timeout,
    )

    it(
      "keeps delivering to other endpoints while one hangs with a backlog",
      async () => {
        const t = await tenant(server())
        const hanging = await receiver(() => "hang")
        const healthy = await receiver()
        const stuck = await register(server(), t.service, { url: hanging.url, events: ["message.created"] })
        const conversation = await group(server(), t.tokens.alice, ["bob"])
        // A backlog for the hanging endpoint first, then events for the healthy one behind it.
        for (let i = 0; i < 24; i++) await send(server(), t.tokens.alice, conversation.id, `backlog ${i}`)
        await eventually(() => expect(hanging.received.length).toBeGreaterThan(0))
        const fine = await register(server(), t.service, { url: healthy.url, events: ["message.created"] })
        const started = Date.now()
        for (let i = 0; i < 5; i++) await send(server(), t.tokens.alice, conversation.id, `fresh ${i}`)
        // Well within the 15 s the hanging sends wait: they hold a few senders, not all of them.
        await eventually(() => expect(healthy.received).toHaveLength(5), 8_000)
        expect(Date.now() - started).toBeLessThan(8_000)
        // perEndpoint: the hanging endpoint never held more than 4 senders at once.
        expect(hanging.inFlight.most).toBeGreaterThan(0)
        expect(hanging.inFlight.most).toBeLessThanOrEqual(4)
        await server().request("DELETE", `/v1/webhooks/${stuck.id}`, { token: t.service })
        await server().request("DELETE", `/v1/webhooks/${fine.id}`, { token: t.service })
      },
      timeout,
    )

    it(
      "documents the webhook endpoints in the OpenAPI document",
      async () => {
        const doc = (await server().request("GET", "/openapi.json")).body
        for (const path of [
          "/v1/webhooks",
          "/v1/webhooks/{webhookId}",
          "/v1/webhooks/{webhookId}/rotate-secret",
          "/v1/webhooks/{webhookId}/deliveries",
          "/v1/webhooks/{webhookId}/deliveries/{deliveryId}/retry",
        ])
          expect(Object.keys(doc.paths)).toContain(path)
        expect(Object.keys(doc.paths["/v1/webhooks"].post.responses)).toEqual(
          expect.arrayContaining(["201", "400", "403"]),
        )
        expect(doc.paths["/v1/webhooks"].post.description).toMatch(/webhook-signature/)
        expect(doc.components.schemas.WebhookWithSecret.properties.secret).toBeDefined()
      },
      timeout,
    )
  },
  webhookEnv,
)

describe("webhooks that keep failing [memory]", () => {
  let server: TestServer
  afterAll(() => server?.close())

  it("are tried 8 times over the schedule, then marked failed", async () => {
    // 0.00001: the whole 28-hour schedule in about a second.
    server = await start(Storage.memory, { ...webhookEnv, CHAT4ALL_WEBHOOKS_RETRY_SCALE: "0.00001" })
    const t = await tenant(server)
    const hook = await receiver(() => 503)
    const made = await register(server, t.service, { url: hook.url, events: ["conversation.created"] })
    await group(server, t.tokens.alice, ["bob"])
    const [failed] = await eventually(async () => {
      const items = await deliveries(server, t.service, made.id)
      expect(items[0]?.status).toBe("failed")
      return items
    }, 20_000)
    expect(failed!.attempts.map((a) => a.statusCode)).toEqual(Array(8).fill(503))
    expect(new Set(hook.received.map((r) => r.headers["webhook-id"])).size).toBe(1)
    await new Promise((resolve) => setTimeout(resolve, 300))
    expect(hook.received).toHaveLength(8)
    // The last waits of the schedule (10 h, 10 h) are the longest, scaled: 360 ms each, give or take 20%.
    const gaps = hook.received.slice(1).map((r, i) => r.at - hook.received[i]!.at)
    expect(gaps[6]).toBeGreaterThanOrEqual(280)
  }, 30_000)
})

describe("webhook targets the server must not call [memory]", () => {
  let server: TestServer
  afterAll(() => server?.close())

  it("refuses every loopback, private, link-local, unique-local and metadata form with a 400 naming url", async () => {
    server = await start(Storage.memory, {})
    const t = await tenant(server)
    const forms = [
      "http://127.0.0.1/h",
      "http://127.0.0.1:8080/h",
      "http://0x7f000001/h",
      "http://2130706433/h",
      "http://0177.0.0.1/h",
      "http://127.1/h",
      "http://[::1]/h",
      "http://[::ffff:127.0.0.1]/h",
      "http://[::ffff:7f00:1]/h",
      "http://[::127.0.0.1]/h",
      "http://10.0.0.1/h",
      "http://172.16.5.4/h",
      "http://192.168.0.1/h",
      "http://100.64.0.1/h",
      "http://169.254.10.10/h",
      "http://[fe80::1]/h",
      "http://[fc00::1]/h",
      "http://[fd00::1]/h",
      "http://0.0.0.0/h",
      "http://[::]/h",
      "http://224.0.0.1/h",
      "http://255.255.255.255/h",
      "http://169.254.169.254/latest/meta-data/",
      "http://[fd00:ec2::254]/latest/meta-data/",
      "http://metadata.google.internal/computeMetadata/v1/",
      "http://localhost/h",
      "http://localhost:3000/h",
    ]
    for (const url of forms) {
      const reply = await server.request("POST", "/v1/webhooks", {
        token: t.service,
        body: { url, events: ["*"] },
      })
      expectProblem(reply, 400, "invalid_request", "url")
      expect(reply.body.detail, url).toMatch(
        /^url: .*(loopback|private|link-local|unique-local|unspecified|multicast|broadcast|metadata)/,
      )
    }
    expect((await server.request("GET", "/v1/webhooks", { token: t.service })).body.items).toEqual([])
  })
})
