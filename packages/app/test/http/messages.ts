import { expect, it } from "vitest"
import { eachBackend } from "../support/Backends.js"
import {
  expectProblem,
  group,
  isoPattern,
  messageIdPattern,
  send,
  tenant,
  unique,
} from "../support/Fixtures.js"

/** The token with one character of its signature changed (not the last, whose low bits may not count). */
const tamper = (token: string) => {
  const at = token.lastIndexOf(".") + 5
  return `${token.slice(0, at)}${token[at] === "A" ? "B" : "A"}${token.slice(at + 1)}`
}

eachBackend("messages over HTTP", (server) => {
  const messagesOf = async (token: string, conversationId: string, query = "") =>
    (await server().request("GET", `/v1/conversations/${conversationId}/messages${query}`, { token })).body

  it("sends: 201 with the server's id, seq, ISO time, default channels and status", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const reply = await server().request("POST", `/v1/conversations/${c.id}/messages`, {
      token: tokens.alice,
      body: { clientMessageId: "m-1", content: { type: "text", text: "hello" }, metadata: { k: 1 } },
    })
    expect(reply.status).toBe(201)
    expect(reply.headers.get("idempotent-replayed")).toBeNull()
    const m = reply.body
    expect(m.id).toMatch(messageIdPattern)
    expect(m).toMatchObject({
      conversationId: c.id,
      seq: 1,
      senderId: "alice",
      clientMessageId: "m-1",
      content: { type: "text", text: "hello" },
      channels: ["all"],
      metadata: { k: 1 },
      status: "sent",
    })
    expect(m.createdAt).toMatch(isoPattern)
    expect(m.tenantId).toBeUndefined()
  })

  it("replays the same send with 200 and Idempotent-Replayed, and refuses a different body with 409", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const path = `/v1/conversations/${c.id}/messages`
    const body = { clientMessageId: "same", content: { type: "text", text: "once" } }
    const first = await server().request("POST", path, { token: tokens.alice, body })
    const again = await server().request("POST", path, { token: tokens.alice, body })
    expect(first.status).toBe(201)
    expect(again.status).toBe(200)
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    expect(again.body).toEqual(first.body)
    expectProblem(
      await server().request("POST", path, {
        token: tokens.alice,
        body: { clientMessageId: "same", content: { type: "text", text: "twice" } },
      }),
      409,
      "idempotency_conflict",
    )
    // Another sender's key space is their own.
    expect((await server().request("POST", path, { token: tokens.bob, body })).status).toBe(201)
    const list = await messagesOf(tokens.alice, c.id)
    expect(list.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2])
  })

  it("takes the Idempotency-Key header for a missing clientMessageId", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const path = `/v1/conversations/${c.id}/messages`
    const body = { content: { type: "text", text: "keyed" } }
    const headers = { "idempotency-key": "key-1" }
    const first = await server().request("POST", path, { token: tokens.alice, body, headers })
    expect(first.status).toBe(201)
    expect(first.body.clientMessageId).toBe("key-1")
    const again = await server().request("POST", path, { token: tokens.alice, body, headers })
    expect(again.status).toBe(200)
    expect(again.headers.get("idempotent-replayed")).toBe("true")
    expectProblem(
      await server().request("POST", path, { token: tokens.alice, body }),
      400,
      "invalid_request",
      "clientMessageId",
    )
    expectProblem(
      await server().request("POST", path, {
        token: tokens.alice,
        body: { ...body, clientMessageId: "other" },
        headers,
      }),
      400,
      "invalid_request",
      "Idempotency-Key",
    )
    expectProblem(
      await server().request("POST", path, {
        token: tokens.alice,
        body,
        headers: { "idempotency-key": "bad key!" },
      }),
      400,
      "invalid_request",
      "idempotency-key",
    )
  })

  it("refuses bad sends with the field named, and changes nothing", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    await send(server(), tokens.alice, c.id, "kept")
    const path = `/v1/conversations/${c.id}/messages`
    const post = (body: unknown) => server().request("POST", path, { token: tokens.alice, body })
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: 5 } }),
      400,
      "invalid_request",
      "content.text",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: "" } }),
      400,
      "invalid_request",
      "content.text",
    )
    // Text no store can keep (PostgreSQL refuses U+0000) is the sender's mistake, not the server's.
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: "a\u0000b" } }),
      400,
      "invalid_request",
      "content.text",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: "a" }, metadata: { k: "\uD800" } }),
      400,
      "invalid_request",
      "metadata",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "video" } }),
      400,
      "invalid_request",
      "content.type",
    )
    expectProblem(await post({ clientMessageId: "x" }), 400, "invalid_request", "content")
    expectProblem(
      await post({ clientMessageId: "bad id!", content: { type: "text", text: "a" } }),
      400,
      "invalid_request",
      "clientMessageId",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: "a" }, replyTo: "123" }),
      400,
      "invalid_request",
      "replyTo",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: "a" }, channels: [] }),
      400,
      "invalid_request",
      "channels",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "text", text: "a" }, metadata: [1] }),
      400,
      "invalid_request",
      "metadata",
    )
    expectProblem(
      await post({
        clientMessageId: "x",
        content: { type: "text", text: "a" },
        replyTo: "1700000000000-550e8400-e29b-41d4-a716-446655440000",
      }),
      400,
      "invalid_request",
      "replyTo",
    )
    expectProblem(
      await post({ clientMessageId: "x", content: { type: "system", text: "sys" } }),
      403,
      "forbidden",
    )
    expectProblem(
      await server().request("POST", path, {
        token: tokens.alice,
        raw: "{not json",
        headers: { "content-type": "application/json" },
      }),
      400,
      "invalid_request",
      "body",
    )
    expectProblem(
      await server().request("POST", `/v1/conversations/bad%20id/messages`, {
        token: tokens.alice,
        body: { clientMessageId: "x", content: { type: "text", text: "a" } },
      }),
      400,
      "invalid_request",
      "conversationId",
    )
    const list = await messagesOf(tokens.alice, c.id)
    expect(list.items.map((m: { content: { text: string } }) => m.content.text)).toEqual(["kept"])
  })

  it("keeps non-members and other tenants out: 403 not_a_member, 404 across tenants", async () => {
    const { tokens } = await tenant(server())
    const other = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const m = await send(server(), tokens.alice, c.id, "secret")
    const body = { clientMessageId: "x", content: { type: "text", text: "intruder" } }
    const path = `/v1/conversations/${c.id}/messages`
    expectProblem(await server().request("POST", path, { token: tokens.carol, body }), 403, "not_a_member")
    expectProblem(await server().request("GET", path, { token: tokens.carol }), 403, "not_a_member")
    expectProblem(
      await server().request("GET", `/v1/messages/${m.id}`, { token: tokens.carol }),
      403,
      "not_a_member",
    )
    expectProblem(
      await server().request("POST", path, { token: other.tokens.alice, body }),
      404,
      "conversation_not_found",
    )
    expectProblem(
      await server().request("GET", path, { token: other.tokens.alice }),
      404,
      "conversation_not_found",
    )
    for (const suffix of ["", "/status", "/status/history", "/context"])
      expectProblem(
        await server().request("GET", `/v1/messages/${m.id}${suffix}`, { token: other.tokens.alice }),
        404,
        "message_not_found",
      )
    expectProblem(
      await server().request("POST", `/v1/conversations/${c.id}/receipts`, {
        token: other.tokens.alice,
        body: { type: "read", seq: 1 },
      }),
      404,
      "conversation_not_found",
    )
    const list = await messagesOf(tokens.alice, c.id)
    expect(list.items).toHaveLength(1)
  })

  it("lists by seq: latest page, after/before bounds, cursors both ways", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    for (let i = 1; i <= 7; i++) await send(server(), tokens.alice, c.id, `m${i}`)
    const seqs = (page: { items: Array<{ seq: number }> }) => page.items.map((m) => m.seq)
    expect(seqs(await messagesOf(tokens.bob, c.id))).toEqual([1, 2, 3, 4, 5, 6, 7])
    const latest = await messagesOf(tokens.bob, c.id, "?limit=3")
    expect(seqs(latest)).toEqual([5, 6, 7])
    const older = await messagesOf(tokens.bob, c.id, `?limit=3&cursor=${latest.nextCursor}`)
    expect(seqs(older)).toEqual([2, 3, 4])
    const oldest = await messagesOf(tokens.bob, c.id, `?limit=3&cursor=${older.nextCursor}`)
    expect(seqs(oldest)).toEqual([1])
    expect(oldest.nextCursor).toBeNull()
    const forward = await messagesOf(tokens.bob, c.id, "?after=2&limit=2")
    expect(seqs(forward)).toEqual([3, 4])
    expect(seqs(await messagesOf(tokens.bob, c.id, `?limit=2&cursor=${forward.nextCursor}`))).toEqual([5, 6])
    expect(seqs(await messagesOf(tokens.bob, c.id, "?before=3"))).toEqual([1, 2])
    expect(seqs(await messagesOf(tokens.bob, c.id, "?after=2&before=5"))).toEqual([3, 4])
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}/messages?after=-1`, { token: tokens.bob }),
      400,
      "invalid_request",
      "after",
    )
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}/messages?cursor=nonsense`, {
        token: tokens.bob,
      }),
      400,
      "invalid_request",
      "cursor",
    )
  })

  it("gets one message and its context", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const sent = []
    for (let i = 1; i <= 9; i++) sent.push(await send(server(), tokens.alice, c.id, `m${i}`))
    const middle = sent[4]!
    const one = await server().request("GET", `/v1/messages/${middle.id}`, { token: tokens.bob })
    expect(one.status).toBe(200)
    expect(one.body).toMatchObject({ id: middle.id, seq: 5, content: { type: "text", text: "m5" } })
    const around = await server().request("GET", `/v1/messages/${middle.id}/context?before=2&after=3`, {
      token: tokens.bob,
    })
    expect(around.body.items.map((m: { seq: number }) => m.seq)).toEqual([3, 4, 5, 6, 7, 8])
    const byDefault = await server().request("GET", `/v1/messages/${sent[0]!.id}/context`, {
      token: tokens.bob,
    })
    expect(byDefault.body.items.map((m: { seq: number }) => m.seq)).toEqual([1, 2, 3, 4, 5, 6])
    expectProblem(
      await server().request("GET", `/v1/messages/${middle.id}/context?before=101`, { token: tokens.bob }),
      400,
      "invalid_request",
      "before",
    )
    expectProblem(
      await server().request("GET", "/v1/messages/not-an-id", { token: tokens.bob }),
      400,
      "invalid_request",
      "messageId",
    )
    expectProblem(
      await server().request("GET", "/v1/messages/1700000000000-550e8400-e29b-41d4-a716-446655440000", {
        token: tokens.bob,
      }),
      404,
      "message_not_found",
    )
  })

  it("moves horizons with receipts: status, recipients, history and unread counts follow", async () => {
    const { tokens } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob", "carol"])
    const m1 = await send(server(), tokens.alice, c.id, "one")
    await send(server(), tokens.alice, c.id, "two")
    const receipts = `/v1/conversations/${c.id}/receipts`
    const delivered = await server().request("POST", receipts, {
      token: tokens.bob,
      body: { type: "delivered", seq: 2 },
    })
    expect(delivered.status).toBe(200)
    expect(delivered.body).toMatchObject({ userId: "bob", deliveredSeq: 2, readSeq: 0 })
    const read = await server().request("POST", receipts, {
      token: tokens.bob,
      body: { type: "read", seq: 1 },
    })
    expect(read.body).toMatchObject({ deliveredSeq: 2, readSeq: 1 })
    const lower = await server().request("POST", receipts, {
      token: tokens.bob,
      body: { type: "read", seq: 0 },
    })
    expect(lower.body).toMatchObject({ deliveredSeq: 2, readSeq: 1 })
    const status = await server().request("GET", `/v1/messages/${m1.id}/status`, { token: tokens.alice })
    expect(status.status).toBe(200)
    expect(status.body.messageId).toBe(m1.id)
    expect(status.body.status).toBe("sent")
    const byUser = Object.fromEntries(
      status.body.recipients.map(
        (r: { userId: string; status: string; channel: string; updatedAt: unknown }) => {
          expect(r.channel).toBe("app")
          expect(r.updatedAt).toBeNull()
          return [r.userId, r.status]
        },
      ),
    )
    expect(byUser).toEqual({ bob: "read", carol: "sent" })
    await server().request("POST", receipts, { token: tokens.carol, body: { type: "delivered", seq: 1 } })
    const after = await server().request("GET", `/v1/messages/${m1.id}`, { token: tokens.alice })
    expect(after.body.status).toBe("delivered")
    const history = await server().request("GET", `/v1/messages/${m1.id}/status/history`, {
      token: tokens.alice,
    })
    expect(history.status).toBe(200)
    expect(history.body.items.length).toBeGreaterThan(0)
    expect(history.body.items[0]).toMatchObject({ status: "sent" })
    expect(history.body.items[0].at).toMatch(isoPattern)
    const bobsList = await server().request("GET", "/v1/conversations", { token: tokens.bob })
    expect(bobsList.body.items[0].unreadCount).toBe(1)
    expectProblem(
      await server().request("POST", receipts, { token: tokens.bob, body: { type: "read", seq: 99 } }),
      400,
      "invalid_request",
      "seq",
    )
    expectProblem(
      await server().request("POST", receipts, { token: tokens.bob, body: { type: "seen", seq: 1 } }),
      400,
      "invalid_request",
      "type",
    )
    expectProblem(
      await server().request("POST", receipts, { token: tokens.bob, body: { type: "read", seq: 1.5 } }),
      400,
      "invalid_request",
      "seq",
    )
    expectProblem(
      await server().request("POST", receipts, {
        token: tamper(tokens.carol),
        body: { type: "read", seq: 1 },
      }),
      401,
      "unauthorized",
    )
    const final = await server().request("GET", `/v1/conversations/${c.id}`, { token: tokens.alice })
    const bob = final.body.members.find((m: { userId: string }) => m.userId === "bob")
    expect(bob).toMatchObject({ readSeq: 1, deliveredSeq: 2 })
  })

  it("lets a service act for a member and write system messages; a user may not act for another", async () => {
    const { tokens, service } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const path = `/v1/conversations/${c.id}/messages`
    const asBob = await server().request("POST", path, {
      token: service,
      headers: { "x-chat4all-user": "bob" },
      body: { clientMessageId: unique("c"), content: { type: "system", text: "bob joined" } },
    })
    expect(asBob.status).toBe(201)
    expect(asBob.body).toMatchObject({ senderId: "bob", content: { type: "system", text: "bob joined" } })
    expectProblem(
      await server().request("POST", path, {
        token: tokens.alice,
        headers: { "x-chat4all-user": "bob" },
        body: { clientMessageId: unique("c"), content: { type: "text", text: "as bob" } },
      }),
      403,
      "forbidden",
    )
    expectProblem(
      await server().request("POST", path, {
        token: service,
        headers: { "x-chat4all-user": "carol" },
        body: { clientMessageId: unique("c"), content: { type: "text", text: "not a member" } },
      }),
      403,
      "not_a_member",
    )
    expectProblem(
      await server().request("GET", path, { token: service, headers: { "x-chat4all-user": "bad user!" } }),
      400,
      "invalid_request",
      "X-Chat4All-User",
    )
    const list = await messagesOf(tokens.alice, c.id)
    expect(list.items).toHaveLength(1)
  })
})

eachBackend(
  "send rate limits",
  (server) => {
    it("answers 429 with Retry-After after the burst, per user per conversation", async () => {
      const { tokens } = await tenant(server())
      const c = await group(server(), tokens.alice, ["bob"])
      const other = await group(server(), tokens.alice, ["bob"])
      const post = (token: string, conversationId: string) =>
        server().request("POST", `/v1/conversations/${conversationId}/messages`, {
          token,
          body: { clientMessageId: unique("c"), content: { type: "text", text: "x" } },
        })
      for (let i = 0; i < 3; i++) expect((await post(tokens.alice, c.id)).status).toBe(201)
      const limited = await post(tokens.alice, c.id)
      expectProblem(limited, 429, "rate_limited")
      const retryAfter = Number(limited.headers.get("retry-after"))
      expect(retryAfter).toBeGreaterThanOrEqual(1)
      expect(limited.body.retryAfter).toBe(retryAfter)
      expect((await post(tokens.bob, c.id)).status).toBe(201)
      expect((await post(tokens.alice, other.id)).status).toBe(201)
      const list = await server().request("GET", `/v1/conversations/${c.id}/messages`, {
        token: tokens.alice,
      })
      expect(list.body.items).toHaveLength(4)
    })
  },
  { CHAT4ALL_RATE_LIMIT_SENDS_BURST: "3", CHAT4ALL_RATE_LIMIT_SENDS_PER_S: "0.5" },
)
