import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { type AppServer, startApp, WsClient } from "./support.js"

const tenantOf = (name: string) =>
  `${name}-${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}`

describe("the app's WebSocket gateway (/v1/ws)", () => {
  let app: AppServer
  beforeAll(async () => {
    app = await startApp({ CHAT4ALL_RATE_LIMIT_SENDS_BURST: "5", CHAT4ALL_RATE_LIMIT_SENDS_PER_S: "1" })
  })
  afterAll(() => app.close())

  it("authenticates with the API's JWTs: a good one is welcomed, a forged or expired one closed with 4001", async () => {
    const tenant = tenantOf("auth")
    const good = WsClient.connect(app.wsUrl, await app.token(tenant, "ann"))
    expect(await good.waitFor((f) => f.type === "welcome")).toMatchObject({ userId: "ann", cursor: "0" })
    await good.close()
    const forged = WsClient.connect(app.wsUrl, `${await app.token(tenant, "ann")}x`)
    expect((await forged.closed).code).toBe(4001)
    const expired = WsClient.connect(app.wsUrl, await app.token(tenant, "ann", -60))
    const closed = await expired.closed
    expect(closed.code).toBe(4001)
    expect(closed.reason).toContain("expired")
  })

  it("sends every event as the HTTP API renders it: the frame's event equals the one sync returns", async () => {
    const tenant = tenantOf("wire")
    const annToken = await app.token(tenant, "ann")
    const bobToken = await app.token(tenant, "bob")
    const bob = WsClient.connect(app.wsUrl, bobToken)
    const welcome = await bob.waitFor((f) => f.type === "welcome")
    const created = await app.http("POST", "/v1/conversations", annToken, {
      type: "group",
      members: ["bob"],
      title: "t",
    })
    expect(created.status).toBe(201)
    const sent = await app.http("POST", `/v1/conversations/${created.body.id}/messages`, annToken, {
      clientMessageId: "c1",
      content: { type: "text", text: "hello over HTTP" },
      metadata: { k: 1 },
    })
    expect(sent.status).toBe(201)
    await bob.waitFor((f) => f.type === "event" && f.event.type === "message.created")
    const sync = await app.http("GET", `/v1/sync?since=${welcome.cursor}`, bobToken)
    expect(sync.status).toBe(200)
    const live = bob.events().map((f) => f.event)
    expect(live).toEqual(sync.body.events)
    expect(live[1].data.message).toEqual(sent.body)
    expect(bob.events().at(-1)?.cursor).toBe(sync.body.nextCursor)
    await bob.close()
  })

  it("answers a send with the message the HTTP API serves, under the same per-user rate limit", async () => {
    const tenant = tenantOf("send")
    const annToken = await app.token(tenant, "ann")
    const created = await app.http("POST", "/v1/conversations", annToken, {
      type: "direct",
      members: ["bob"],
    })
    const ann = WsClient.connect(app.wsUrl, annToken)
    await ann.waitFor((f) => f.type === "welcome")
    const reply = await ann.request({
      type: "send",
      conversationId: created.body.id,
      clientMessageId: "w1",
      content: { type: "text", text: "hello over WebSocket" },
    })
    expect(reply.ok).toBe(true)
    const fetched = await app.http("GET", `/v1/messages/${reply.result.id}`, annToken)
    expect(fetched.body).toEqual(reply.result)
    const outcomes = []
    for (let i = 0; i < 8; i++)
      outcomes.push(
        await ann.request({
          type: "send",
          conversationId: created.body.id,
          clientMessageId: `burst${i}`,
          content: { type: "text", text: `${i}` },
        }),
      )
    const refused = outcomes.filter((o) => !o.ok)
    expect(refused.length).toBeGreaterThan(0)
    expect(refused[0]?.error.code).toBe("rate_limited")
    await ann.close()
  })
})

describe("the app shutting down", () => {
  it("closes its WebSocket sessions with 1012", async () => {
    const app = await startApp()
    const client = WsClient.connect(app.wsUrl, await app.token(tenantOf("down"), "ann"))
    await client.waitFor((f) => f.type === "welcome")
    await app.close()
    expect((await client.closed).code).toBe(1012)
  })
})
