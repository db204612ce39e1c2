import { expect, it } from "vitest"
import { eachBackend } from "../support/Backends.js"
import { expectProblem, group, isoPattern, send, tenant, unique } from "../support/Fixtures.js"

eachBackend("conversations over HTTP", (server) => {
  it("creates a group with the caller as owner, ISO times and no tenant on the wire", async () => {
    const { tokens } = await tenant(server())
    const reply = await server().request("POST", "/v1/conversations", {
      token: tokens.alice,
      body: { type: "group", members: ["bob"], title: "Launch", metadata: { project: "x" } },
    })
    expect(reply.status).toBe(201)
    const c = reply.body
    expect(c).toMatchObject({ type: "group", title: "Launch", metadata: { project: "x" }, lastSeq: 0 })
    expect(c.createdAt).toMatch(isoPattern)
    expect(c.updatedAt).toMatch(isoPattern)
    expect(c.tenantId).toBeUndefined()
    const roles = Object.fromEntries(
      c.members.map((m: { userId: string; role: string }) => [m.userId, m.role]),
    )
    expect(roles).toEqual({ alice: "owner", bob: "member" })
    for (const m of c.members) {
      expect(m.joinedAt).toMatch(isoPattern)
      expect(m).toMatchObject({ readSeq: 0, deliveredSeq: 0 })
    }
  })

  it("answers a direct conversation for an existing pair with 200 and the same conversation", async () => {
    const { tokens } = await tenant(server())
    const first = await server().request("POST", "/v1/conversations", {
      token: tokens.alice,
      body: { type: "direct", members: ["bob"] },
    })
    expect(first.status).toBe(201)
    const again = await server().request("POST", "/v1/conversations", {
      token: tokens.bob,
      body: { type: "direct", members: ["alice"] },
    })
    expect(again.status).toBe(200)
    expect(again.body.id).toBe(first.body.id)
  })

  it("refuses a direct conversation with a wrong member count, naming members", async () => {
    const { tokens } = await tenant(server())
    const reply = await server().request("POST", "/v1/conversations", {
      token: tokens.alice,
      body: { type: "direct", members: ["bob", "carol"] },
    })
    expectProblem(reply, 400, "invalid_request", "members")
  })

  it("lists the caller's conversations, latest activity first, with lastMessage and unreadCount", async () => {
    const { tokens } = await tenant(server())
    const older = await group(server(), tokens.alice, ["bob"], "older")
    const newer = await group(server(), tokens.alice, ["bob"], "newer")
    await send(server(), tokens.bob, older.id, "one")
    await send(server(), tokens.bob, older.id, "two")
    await send(server(), tokens.alice, older.id, "mine")
    const reply = await server().request("GET", "/v1/conversations", { token: tokens.alice })
    expect(reply.status).toBe(200)
    expect(reply.body.nextCursor).toBeNull()
    expect(reply.body.items.map((c: { id: string }) => c.id)).toEqual([older.id, newer.id])
    const [first, second] = reply.body.items
    expect(first.lastMessage).toMatchObject({
      seq: 3,
      senderId: "alice",
      content: { type: "text", text: "mine" },
    })
    expect(first.unreadCount).toBe(2)
    expect(second.lastMessage).toBeUndefined()
    expect(second.unreadCount).toBe(0)
    const bobs = await server().request("GET", "/v1/conversations", { token: tokens.bob })
    expect(bobs.body.items[0].unreadCount).toBe(1)
  })

  it("pages the list with an opaque cursor", async () => {
    const { tokens } = await tenant(server())
    const ids: Array<string> = []
    for (let i = 0; i < 5; i++) ids.push((await group(server(), tokens.alice, ["bob"], `g${i}`)).id)
    const seen: Array<string> = []
    let cursor: string | null = null
    let pages = 0
    do {
      const query: string = cursor === null ? "?limit=2" : `?limit=2&cursor=${encodeURIComponent(cursor)}`
      const page = await server().request("GET", `/v1/conversations${query}`, { token: tokens.alice })
      expect(page.status).toBe(200)
      expect(page.body.items.length).toBeLessThanOrEqual(2)
      seen.push(...page.body.items.map((c: { id: string }) => c.id))
      cursor = page.body.nextCursor
      pages++
    } while (cursor !== null && pages < 10)
    expect(pages).toBe(3)
    expect([...seen].sort()).toEqual([...ids].sort())
  })

  it("gets a conversation for members and services, 403 not_a_member for others, 404 across tenants", async () => {
    const { tokens, service } = await tenant(server())
    const other = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    expect((await server().request("GET", `/v1/conversations/${c.id}`, { token: tokens.bob })).status).toBe(
      200,
    )
    expect((await server().request("GET", `/v1/conversations/${c.id}`, { token: service })).status).toBe(200)
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}`, { token: tokens.carol }),
      403,
      "not_a_member",
    )
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}`, { token: other.tokens.alice }),
      404,
      "conversation_not_found",
    )
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}`, { token: other.service }),
      404,
      "conversation_not_found",
    )
    expectProblem(
      await server().request("GET", `/v1/conversations/${unique("missing")}`, { token: tokens.alice }),
      404,
      "conversation_not_found",
    )
  })

  it("adds and removes members: owners yes, members no, anyone may leave", async () => {
    const { tokens, service } = await tenant(server())
    const c = await group(server(), tokens.alice, ["bob"])
    const path = `/v1/conversations/${c.id}/members`
    const added = await server().request("POST", path, { token: tokens.alice, body: { userId: "carol" } })
    expect(added.status).toBe(201)
    expect(added.body).toMatchObject({ userId: "carol", role: "member", readSeq: 0, deliveredSeq: 0 })
    const again = await server().request("POST", path, { token: tokens.alice, body: { userId: "carol" } })
    expect(again.status).toBe(200)
    expectProblem(
      await server().request("POST", path, { token: tokens.bob, body: { userId: "dave" } }),
      403,
      "forbidden",
    )
    expect(
      (await server().request("POST", path, { token: service, body: { userId: "dave", role: "admin" } }))
        .status,
    ).toBe(201)
    expectProblem(await server().request("DELETE", `${path}/carol`, { token: tokens.bob }), 403, "forbidden")
    const left = await server().request("DELETE", `${path}/bob`, { token: tokens.bob })
    expect(left.status).toBe(204)
    expect(left.text).toBe("")
    expect((await server().request("DELETE", `${path}/carol`, { token: tokens.alice })).status).toBe(204)
    const now = await server().request("GET", `/v1/conversations/${c.id}`, { token: tokens.alice })
    expect(now.body.members.map((m: { userId: string }) => m.userId).sort()).toEqual(["alice", "dave"])
    expectProblem(
      await server().request("GET", `/v1/conversations/${c.id}`, { token: tokens.bob }),
      403,
      "not_a_member",
    )
  })

  it("refuses bad input with the field named, and changes nothing", async () => {
    const { tokens } = await tenant(server())
    const before = await server().request("GET", "/v1/conversations", { token: tokens.alice })
    const post = (body: unknown) =>
      server().request("POST", "/v1/conversations", { token: tokens.alice, body })
    const badType = await post({ type: "channel", members: [] })
    expectProblem(badType, 400, "invalid_request", "type")
    expect(badType.body.detail).toBe('type: Expected "direct" or "group", actual "channel"')
    expectProblem(await post({ type: "group", members: "bob" }), 400, "invalid_request", "members")
    expectProblem(await post({ type: "group", members: ["bad id!"] }), 400, "invalid_request", "members[0]")
    expectProblem(await post({ type: "group" }), 400, "invalid_request", "members")
    expectProblem(await post({ type: "group", members: [], title: 7 }), 400, "invalid_request", "title")
    expectProblem(await post([1, 2]), 400, "invalid_request", "body")
    expectProblem(
      await server().request("POST", "/v1/conversations", {
        token: tokens.alice,
        raw: '{"type": "group", "members": [',
        headers: { "content-type": "application/json" },
      }),
      400,
      "invalid_request",
      "body",
    )
    expectProblem(
      await server().request("POST", "/v1/conversations", {
        token: tokens.alice,
        raw: "type=group",
        headers: { "content-type": "application/x-www-form-urlencoded" },
      }),
      415,
      "unsupported_media_type",
    )
    expectProblem(
      await server().request("GET", "/v1/conversations?limit=abc", { token: tokens.alice }),
      400,
      "invalid_request",
      "limit",
    )
    expectProblem(
      await server().request("GET", "/v1/conversations/bad%20id", { token: tokens.alice }),
      400,
      "invalid_request",
      "conversationId",
    )
    const after = await server().request("GET", "/v1/conversations", { token: tokens.alice })
    expect(after.body).toEqual(before.body)
  })

  it("refuses bodies over 1 MiB with 413, cuts off a streamed one, and keeps serving", async () => {
    const { tokens } = await tenant(server())
    const big = JSON.stringify({
      type: "group",
      members: ["bob"],
      title: "x",
      metadata: { pad: "a".repeat(1_100_000) },
    })
    expectProblem(
      await server().request("POST", "/v1/conversations", {
        token: tokens.alice,
        raw: big,
        headers: { "content-type": "application/json" },
      }),
      413,
      "payload_too_large",
    )
    // Without a Content-Length the size is only known while reading: the connection is cut at 1 MiB.
    const chunks = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(big))
        controller.close()
      },
    })
    const streamed = await fetch(`${server().url}/v1/conversations`, {
      method: "POST",
      headers: { authorization: `Bearer ${tokens.alice}`, "content-type": "application/json" },
      body: chunks,
      duplex: "half",
    } as RequestInit).then(
      (response) => response.status,
      () => "closed",
    )
    expect([413, "closed"]).toContain(streamed)
    const list = await server().request("GET", "/v1/conversations", { token: tokens.alice })
    expect(list.status).toBe(200)
    expect(list.body.items).toEqual([])
  })
})
