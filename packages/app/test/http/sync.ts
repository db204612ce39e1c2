import { expect, it } from "vitest"
import { eachBackend } from "../support/Backends.js"
import { expectProblem, group, isoPattern, send, tenant } from "../support/Fixtures.js"

eachBackend("sync over HTTP", (server) => {
  const sync = (token: string, query: string) => server().request("GET", `/v1/sync${query}`, { token })

  it("starts with a cursor and no events, then returns every change since it as Event envelopes", async () => {
    const { tid, tokens } = await tenant(server())
    const start = await sync(tokens.bob, "")
    expect(start.status).toBe(200)
    expect(start.body).toMatchObject({ events: [], hasMore: false })
    expect(typeof start.body.nextCursor).toBe("string")
    const c = await group(server(), tokens.alice, ["bob"])
    const m = await send(server(), tokens.alice, c.id, "hi")
    await server().request("POST", `/v1/conversations/${c.id}/receipts`, {
      token: tokens.bob,
      body: { type: "read", seq: 1 },
    })
    const changes = await sync(tokens.bob, `?since=${encodeURIComponent(start.body.nextCursor)}`)
    expect(changes.status).toBe(200)
    const types = changes.body.events.map((e: { type: string }) => e.type)
    expect(types).toEqual(["conversation.created", "message.created", "receipt.read"])
    for (const event of changes.body.events) {
      expect(Object.keys(event).sort()).toEqual(["at", "conversationId", "data", "id", "tenantId", "type"])
      expect(event).toMatchObject({ tenantId: tid, conversationId: c.id })
      expect(event.at).toMatch(isoPattern)
    }
    const [created, message, receipt] = changes.body.events
    expect(created.data.conversation.id).toBe(c.id)
    expect(created.data.conversation.createdAt).toMatch(isoPattern)
    expect(message.data.message).toMatchObject({ id: m.id, seq: 1, content: { type: "text", text: "hi" } })
    expect(message.data.message.createdAt).toMatch(isoPattern)
    expect(receipt.data).toEqual({ userId: "bob", seq: 1 })
    const nothing = await sync(tokens.bob, `?since=${encodeURIComponent(changes.body.nextCursor)}`)
    expect(nothing.body.events).toEqual([])
    const carol = await sync(tokens.carol, `?since=${encodeURIComponent(start.body.nextCursor)}`)
    expect(carol.body.events).toEqual([])
  })

  it("pages with limit and hasMore", async () => {
    const { tokens } = await tenant(server())
    const start = await sync(tokens.alice, "")
    const c = await group(server(), tokens.alice, ["bob"])
    for (let i = 0; i < 4; i++) await send(server(), tokens.alice, c.id, `m${i}`)
    const first = await sync(tokens.alice, `?since=${encodeURIComponent(start.body.nextCursor)}&limit=2`)
    expect(first.body.events).toHaveLength(2)
    expect(first.body.hasMore).toBe(true)
    const rest = await sync(tokens.alice, `?since=${encodeURIComponent(first.body.nextCursor)}&limit=50`)
    expect(rest.body.events).toHaveLength(3)
    expect(rest.body.hasMore).toBe(false)
  })

  it("long-polls: waits for the next event and answers as soon as it is committed", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const start = await sync(tokens.bob, "")
    const began = Date.now()
    const waiting = sync(tokens.bob, `?since=${encodeURIComponent(start.body.nextCursor)}&timeoutMs=10000`)
    await new Promise((resolve) => setTimeout(resolve, 300))
    await send(server(), tokens.alice, c.id, "wake up")
    const woke = await waiting
    const elapsed = Date.now() - began
    expect(woke.status).toBe(200)
    expect(woke.body.events.map((e: { type: string }) => e.type)).toEqual(["message.created"])
    expect(elapsed).toBeGreaterThanOrEqual(250)
    expect(elapsed).toBeLessThan(5000)
  })

  it("long-polls until the timeout when nothing comes, ignoring other tenants' events", async () => {
    const { tokens } = await tenant(server())
    const other = await tenant(server())
    const start = await sync(tokens.bob, "")
    const began = Date.now()
    const waiting = sync(tokens.bob, `?since=${encodeURIComponent(start.body.nextCursor)}&timeoutMs=700`)
    const elsewhere = await group(server(), other.tokens.alice, ["bob"])
    await send(server(), other.tokens.alice, elsewhere.id, "not for you")
    const reply = await waiting
    expect(reply.status).toBe(200)
    expect(reply.body.events).toEqual([])
    expect(Date.now() - began).toBeGreaterThanOrEqual(650)
  })

  it("refuses a foreign cursor, a long timeout and a bad limit", async () => {
    const { tokens } = await tenant(server())
    expectProblem(await sync(tokens.alice, "?since=not-a-cursor"), 400, "invalid_request", "since")
    expectProblem(await sync(tokens.alice, "?since=0&timeoutMs=30001"), 400, "invalid_request", "timeoutMs")
    expectProblem(await sync(tokens.alice, "?limit=0"), 400, "invalid_request", "limit")
    expectProblem(await server().request("GET", "/v1/sync"), 401, "unauthorized")
  })
})
