import { Content, Conversations, type Ids, Messages } from "@chat4all/domain"
import { Effect } from "effect"
import { afterAll, beforeAll, describe, expect, it } from "vitest"
import { Gateway } from "../../src/ws/index.js"
import { Client, type Harness, sleep, startHarness, text } from "./support.js"

const tenantOf = (name: string) =>
  `${name}.${Date.now().toString(36)}:${Math.random().toString(36).slice(2, 6)}`

describe("WebSocket gateway", () => {
  let h: Harness
  beforeAll(async () => {
    h = await startHarness({ typingTtlMs: 400, rateLimit: { perSecond: 50, burst: 100 } })
  })
  afterAll(() => h.close())

  describe("handshake", () => {
    it("closes with 4001 without a token, with an unknown one, and with an expired one", async () => {
      const none = Client.connect(h.url)
      expect((await none.closed).code).toBe(4001)
      expect(none.closeReason).toContain("no token")
      const bad = Client.connect(h.url, { token: "forged" })
      expect((await bad.closed).code).toBe(4001)
      const expired = Client.connect(h.url, { token: h.token("t", "ann", { expiresInMs: -1 }) })
      expect(await expired.closed).toEqual({ code: 4001, reason: "the token has expired" })
    })

    it("welcomes a user authenticated by header or by ?access_token=", async () => {
      const tenant = tenantOf("hs")
      for (const header of [true, false]) {
        const client = Client.connect(h.url, { token: h.token(tenant, "ann"), header })
        const welcome = await client.welcome()
        expect(welcome).toEqual({
          type: "welcome",
          sessionId: expect.stringMatching(/^[0-9a-f-]{36}$/),
          userId: "ann",
          heartbeatMs: Gateway.defaults.heartbeatMs,
          cursor: expect.stringMatching(/^[0-9]+$/),
        })
        expect(client.frames[0]?.type).toBe("welcome")
        await client.close()
      }
    })
  })

  describe("events", () => {
    it("delivers every event of the user's conversations in order, and nothing of others'", async () => {
      const tenant = tenantOf("ev")
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      const bob = Client.connect(h.url, { token: h.token(tenant, "bob") })
      const cid = Client.connect(h.url, { token: h.token(tenant, "cid") })
      await Promise.all([ann.welcome(), bob.welcome(), cid.welcome()])
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      const sent: Array<string> = []
      for (let i = 0; i < 20; i++) {
        const reply = await (i % 2 === 0 ? ann : bob).request({
          type: "send",
          conversationId: conversation.id,
          clientMessageId: `m${i}`,
          content: text(`hello ${i}`),
        })
        expect(reply.ok).toBe(true)
        sent.push((reply.result as { id: string }).id)
      }
      for (const client of [ann, bob]) {
        await client.waitFor(
          (f) =>
            f.type === "event" &&
            (f.event as { data: { message?: { id: string } } }).data.message?.id === sent[19],
        )
        expect(client.messageIds(conversation.id)).toEqual(sent)
        const created = client.events()[0]!
        expect(created.event.type).toBe("conversation.created")
        expect(created.event).toMatchObject({ tenantId: tenant, conversationId: conversation.id })
        expect((created.event as unknown as { at: string }).at).toMatch(
          /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/,
        )
        // Cursors grow with every event.
        const cursors = client.events().map((e) => Number(e.cursor))
        expect([...cursors].sort((a, b) => a - b)).toEqual(cursors)
      }
      await sleep(100)
      expect(cid.events()).toEqual([])
      await Promise.all([ann.close(), bob.close(), cid.close()])
    })

    it("follows membership changes: an added member starts receiving, a removed one gets the removal and then nothing", async () => {
      const tenant = tenantOf("mem")
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      const dan = Client.connect(h.url, { token: h.token(tenant, "dan") })
      await Promise.all([ann.welcome(), dan.welcome()])
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      await h.run(
        Conversations.addMember(h.caller(tenant, "ann"), conversation.id, "dan" as Ids.UserId, "member"),
      )
      await dan.waitFor((f) => f.type === "event" && (f.event as { type: string }).type === "member.added")
      const first = await ann.request({
        type: "send",
        conversationId: conversation.id,
        clientMessageId: "one",
        content: text("one"),
      })
      await dan.waitFor((f) => f.type === "event" && (f.event as { type: string }).type === "message.created")
      expect(dan.messageIds()).toEqual([(first.result as { id: string }).id])
      await h.run(Conversations.removeMember(h.caller(tenant, "ann"), conversation.id, "dan" as Ids.UserId))
      await dan.waitFor((f) => f.type === "event" && (f.event as { type: string }).type === "member.removed")
      await ann.request({
        type: "send",
        conversationId: conversation.id,
        clientMessageId: "two",
        content: text("two"),
      })
      await ann.waitFor(
        (f) =>
          f.type === "event" &&
          (f.event as { data: { message?: { clientMessageId: string } } }).data.message?.clientMessageId ===
            "two",
      )
      await sleep(100)
      expect(dan.messageIds()).toHaveLength(1)
      await Promise.all([ann.close(), dan.close()])
    })
  })

  it("frames events of any size: under 126 bytes, under 64 KiB and above", async () => {
    const tenant = tenantOf("size")
    const conversation = await h.createConversation(tenant, "ann", ["bob"])
    const bob = Client.connect(h.url, { token: h.token(tenant, "bob") })
    await bob.welcome()
    for (const size of [0, 60_000, 200_000]) {
      await h.run(
        Messages.sendMessage(h.caller(tenant, "ann"), conversation.id, {
          clientMessageId: `size${size}` as Ids.ClientMessageId,
          content: new Content.TextContent({ type: "text", text: "x" }),
          metadata: { blob: "y".repeat(size) },
        }),
      )
      const frame = await bob.waitFor(
        (f) =>
          f.type === "event" &&
          (f.event as { data: { message?: { clientMessageId: string } } }).data.message?.clientMessageId ===
            `size${size}`,
      )
      const metadata = (frame.event as { data: { message: { metadata: { blob: string } } } }).data.message
        .metadata
      expect(metadata.blob).toHaveLength(size)
    }
    // A pong is a tiny frame of its own.
    bob.send({ type: "ping" })
    expect(await bob.waitFor((f) => f.type === "pong")).toEqual({ type: "pong" })
    await bob.close()
  })

  describe("commands", () => {
    it("answers send like the HTTP send: new, replayed, conflicting, and refused", async () => {
      const tenant = tenantOf("send")
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      await ann.welcome()
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      const frame = {
        type: "send",
        conversationId: conversation.id,
        clientMessageId: "k1",
        content: text("hi"),
      }
      const first = await ann.request(frame)
      expect(first).toMatchObject({
        type: "reply",
        ok: true,
        result: { seq: 1, senderId: "ann", content: text("hi") },
      })
      const again = await ann.request(frame)
      expect((again.result as { id: string }).id).toBe((first.result as { id: string }).id)
      const conflict = await ann.request({ ...frame, content: text("other") })
      expect(conflict).toMatchObject({ ok: false, error: { code: "idempotency_conflict" } })
      const other = await h.createConversation(tenant, "bob", ["cid"])
      const refused = await ann.request({ ...frame, conversationId: other.id })
      expect(refused).toMatchObject({ ok: false, error: { code: "not_a_member" } })
      const missing = await ann.request({ ...frame, conversationId: "nope" })
      expect(missing).toMatchObject({ ok: false, error: { code: "conversation_not_found" } })
      const system = await ann.request({
        ...frame,
        clientMessageId: "k2",
        content: { type: "system", text: "x" },
      })
      expect(system).toMatchObject({ ok: false, error: { code: "forbidden" } })
      const replyTo = await ann.request({
        ...frame,
        clientMessageId: "k3",
        replyTo: "1700000000000-00000000-0000-4000-8000-000000000000",
      })
      expect(replyTo).toMatchObject({ ok: false, error: { code: "invalid_request" } })
      expect((replyTo.error as { message: string }).message).toMatch(/^replyTo: /)
      await ann.close()
    })

    it("records acks as delivered and reads as read, which the others see as receipts", async () => {
      const tenant = tenantOf("rcpt")
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      const bob = Client.connect(h.url, { token: h.token(tenant, "bob") })
      await Promise.all([ann.welcome(), bob.welcome()])
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      await ann.request({
        type: "send",
        conversationId: conversation.id,
        clientMessageId: "a",
        content: text("a"),
      })
      const ack = await bob.request({ type: "ack", conversationId: conversation.id, seq: 1 })
      expect(ack).toMatchObject({ ok: true, result: { seq: 1 } })
      bob.send({ type: "read", conversationId: conversation.id, seq: 1 })
      const delivered = await ann.waitFor(
        (f) => f.type === "event" && (f.event as { type: string }).type === "receipt.delivered",
      )
      expect((delivered.event as { data: unknown }).data).toEqual({ userId: "bob", seq: 1 })
      const read = await ann.waitFor(
        (f) => f.type === "event" && (f.event as { type: string }).type === "receipt.read",
      )
      expect((read.event as { data: unknown }).data).toEqual({ userId: "bob", seq: 1 })
      await Promise.all([ann.close(), bob.close()])
    })

    it("relays typing to the other members, and lets a start lapse", async () => {
      const tenant = tenantOf("typ")
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      const bob = Client.connect(h.url, { token: h.token(tenant, "bob") })
      await Promise.all([ann.welcome(), bob.welcome()])
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      await bob.waitFor((f) => f.type === "event")
      const reply = await ann.request({ type: "typing", conversationId: conversation.id, state: "start" })
      expect(reply).toMatchObject({ ok: true })
      const start = await bob.waitFor((f) => f.type === "typing")
      expect(start).toEqual({
        type: "typing",
        conversationId: conversation.id,
        userId: "ann",
        state: "start",
      })
      const startedAt = Date.now()
      await bob.waitFor((f) => f.type === "typing" && f.state === "stop")
      expect(Date.now() - startedAt).toBeGreaterThanOrEqual(250)
      expect(ann.frames.filter((f) => f.type === "typing")).toEqual([])
      const outsider = await ann.request({ type: "typing", conversationId: "elsewhere", state: "start" })
      expect(outsider).toMatchObject({ ok: false, error: { code: "not_a_member" } })
      await Promise.all([ann.close(), bob.close()])
    })

    it("answers ping with pong", async () => {
      const ann = Client.connect(h.url, { token: h.token(tenantOf("ping"), "ann") })
      await ann.welcome()
      ann.send({ type: "ping", t: 1234 })
      expect(await ann.waitFor((f) => f.type === "pong")).toEqual({ type: "pong", t: 1234 })
      await ann.close()
    })

    it("publishes presence to the members of the user's conversations", async () => {
      const tenant = tenantOf("pres")
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      await ann.welcome()
      await h.createConversation(tenant, "ann", ["bob"])
      await ann.waitFor((f) => f.type === "event")
      const bob = Client.connect(h.url, { token: h.token(tenant, "bob") })
      await bob.welcome()
      const online = await ann.waitFor((f) => f.type === "presence")
      expect(online).toEqual({
        type: "presence",
        userId: "bob",
        status: "online",
        lastSeen: expect.any(String),
      })
      await bob.close()
      const offline = await ann.waitFor((f) => f.type === "presence" && f.status === "offline")
      expect(offline.lastSeen).toMatch(/Z$/)
      await ann.close()
    })
  })

  describe("bad input", () => {
    it("answers a malformed frame with an error frame, and closes with 1008 when they repeat", async () => {
      const ann = Client.connect(h.url, { token: h.token(tenantOf("bad"), "ann") })
      await ann.welcome()
      ann.send("not json")
      expect(await ann.waitFor((f) => f.type === "error")).toEqual({
        type: "error",
        code: "invalid_request",
        message: "the frame is not JSON",
      })
      const reply = await ann.request({ type: "send", conversationId: "c", clientMessageId: "x" })
      expect(reply).toMatchObject({ ok: false, error: { code: "invalid_request" } })
      expect((reply.error as { message: string }).message).toContain("content")
      ann.send({ type: "dance" })
      ann.send({ type: "ack", conversationId: "c", seq: -1 })
      ann.send([1, 2])
      expect((await ann.closed).code).toBe(1008)
    })

    it("closes a frame over 64 KiB with 1009", async () => {
      const ann = Client.connect(h.url, { token: h.token(tenantOf("big"), "ann") })
      await ann.welcome()
      ann.send({ type: "ping", t: "x".repeat(70_000) })
      expect((await ann.closed).code).toBe(1009)
    })

    it("closes a connection over its rate limit with 4008", async () => {
      const ann = Client.connect(h.url, { token: h.token(tenantOf("rate"), "ann") })
      await ann.welcome()
      for (let i = 0; i < 300; i++) ann.send({ type: "ping", t: i })
      expect((await ann.closed).code).toBe(4008)
      expect(ann.closeReason).toContain("rate limit")
    })

    it("refuses a cursor it did not hand out", async () => {
      const ann = Client.connect(h.url, { token: h.token(tenantOf("cur"), "ann"), cursor: "99999999" })
      await ann.welcome()
      const error = await ann.waitFor((f) => f.type === "error")
      expect(error.code).toBe("invalid_request")
      expect((await ann.closed).code).toBe(1008)
    })
  })

  describe("resume", () => {
    it("replays exactly what was missed, then resumed, then live: no gap and no repeat at the switch", async () => {
      const tenant = tenantOf("res")
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      const ann = Client.connect(h.url, { token: h.token(tenant, "ann") })
      await ann.welcome()
      const send = (i: number) =>
        h.run(
          Messages.sendMessage(h.caller(tenant, "bob"), conversation.id, {
            clientMessageId: `r${i}` as Ids.ClientMessageId,
            content: new Content.TextContent({ type: "text", text: `r${i}` }),
          }),
        )
      for (let i = 0; i < 5; i++) await send(i)
      await ann.waitFor((f) => f.type === "event" && ann.messageIds().length === 5)
      const cursor = ann.lastCursor()!
      const seen = ann.messageIds()
      await ann.close()
      for (let i = 5; i < 15; i++) await send(i)
      // Keep sending while the client resumes, so the switch from replay to live is exercised.
      const more = (async () => {
        for (let i = 15; i < 60; i++) {
          await send(i)
          if (i % 5 === 0) await sleep(1)
        }
      })()
      const again = Client.connect(h.url, { token: h.token(tenant, "ann"), cursor })
      const welcome = await again.welcome()
      expect(welcome.cursor).toBe(cursor)
      await more
      await again.waitFor(() => again.messageIds().length >= 55, 0, 10_000)
      await sleep(100)
      const all = [...seen, ...again.messageIds()]
      expect(all).toHaveLength(60)
      expect(new Set(all).size).toBe(60)
      const expected = (
        await h.run(Messages.listMessages(h.caller(tenant, "ann"), conversation.id, { after: 0, limit: 100 }))
      ).map((m) => m.id)
      expect(all).toEqual(expected)
      const resumedAt = again.frames.findIndex((f) => f.type === "resumed")
      expect(resumedAt).toBeGreaterThan(0)
      expect(again.frames.slice(1, resumedAt).every((f) => f.type === "event")).toBe(true)
      await again.close()
    })
  })
})

describe("WebSocket gateway limits", () => {
  it("closes a slow consumer with 4008 and keeps its send buffer bounded; it resumes with its cursor", async () => {
    const h = await startHarness({ maxBufferedBytes: 256 * 1024, rateLimit: undefined })
    try {
      const tenant = tenantOf("slow")
      const conversation = await h.createConversation(tenant, "ann", ["bob"])
      const bob = Client.connect(h.url, { token: h.token(tenant, "bob") })
      await bob.welcome()
      await bob.waitFor((f) => f.type === "event" || true)
      const slow = bob.ws as unknown as { _socket: { pause: () => void; resume: () => void } }
      slow._socket.pause()
      const body = "x".repeat(16_000)
      let peak = 0
      for (let i = 0; i < 2_000; i++) {
        await h.run(
          Messages.sendMessage(h.caller(tenant, "ann"), conversation.id, {
            clientMessageId: `s${i}` as Ids.ClientMessageId,
            content: new Content.TextContent({ type: "text", text: `${i} ${body}` }),
          }),
        )
        if (i % 10 !== 0) continue
        const sessions = await h.run(Effect.flatMap(Gateway.Gateway, (g) => g.sessions))
        for (const s of sessions) peak = Math.max(peak, s.bufferedBytes)
        if (sessions.every((s) => s.userId !== "bob")) break
      }
      expect(bob.closeCode === undefined || bob.closeCode === 4008).toBe(true)
      expect(peak).toBeLessThanOrEqual(256 * 1024)
      slow._socket.resume()
      const { code } = await bob.closed
      expect(code).toBe(4008)
      const cursor = bob.lastCursor()!
      const got = bob.messageIds()
      const again = Client.connect(h.url, { token: h.token(tenant, "bob"), cursor })
      await again.waitFor((f) => f.type === "resumed", 0, 10_000)
      const all = [...got, ...again.messageIds()]
      expect(new Set(all).size).toBe(all.length)
      expect(all.length).toBeGreaterThanOrEqual(got.length)
      // Every message of the conversation, in order, exactly once across the two sessions.
      const stored: Array<string> = []
      for (;;) {
        const page = await h.run(
          Messages.listMessages(h.caller(tenant, "bob"), conversation.id, {
            after: stored.length,
            limit: 200,
          }),
        )
        stored.push(...page.map((m) => m.id))
        if (page.length < 200) break
      }
      expect(all).toEqual(stored)
      await again.close()
    } finally {
      await h.close()
    }
  }, 60_000)

  it("pings, and cuts a peer that misses two pongs", async () => {
    const h = await startHarness({ heartbeatMs: 150 })
    try {
      const tenant = tenantOf("hb")
      const alive = Client.connect(h.url, { token: h.token(tenant, "ann") })
      const dead = Client.connect(h.url, { token: h.token(tenant, "bob"), autoPong: false })
      await Promise.all([alive.welcome(), dead.welcome()])
      const { code } = await dead.closed
      expect(code).toBe(1006)
      await sleep(400)
      expect(alive.closeCode).toBeUndefined()
      const sessions = await h.run(Effect.flatMap(Gateway.Gateway, (g) => g.sessions))
      expect(sessions.map((s) => s.userId)).toEqual(["ann"])
      expect(sessions[0]?.rttMs).toBeTypeOf("number")
      await alive.close()
    } finally {
      await h.close()
    }
  })

  it("closes every session with 1012 when the node shuts down", async () => {
    const h = await startHarness()
    const clients = [0, 1, 2].map((i) => Client.connect(h.url, { token: h.token(tenantOf("down"), `u${i}`) }))
    await Promise.all(clients.map((c) => c.welcome()))
    await h.close()
    for (const c of clients) expect((await c.closed).code).toBe(1012)
  })
})
