/**
 * Channel connectors over HTTP on loopback, against the connectors' provider stand-ins (real HTTP servers
 * that speak the providers' APIs and sign their webhooks as the providers do): identities, settings with
 * health, routing and delivery with retries, status callbacks in any order, inbound messages exactly once,
 * and bad signatures. No mocks: the app sends to the stand-ins and the stand-ins' webhooks come back
 * through the app's endpoint as raw bytes.
 */
import type { WebhookRequest } from "@chat4all/connectors"
import { type StandIn, TelegramStandIn, WhatsAppStandIn } from "@chat4all/connectors/stand-ins"
import { Effect, Exit, Scope } from "effect"
import { afterAll, beforeAll, expect, it } from "vitest"
import { eachBackend } from "./support/Backends.js"
import { expectProblem, isoPattern, tenant, unique } from "./support/Fixtures.js"
import type { TestServer } from "./support/TestServer.js"

const env = {
  CHAT4ALL_SECRETS_KEY: "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff",
  CHAT4ALL_CONNECTORS_RETRY_SCALE: "0.001",
}

/** Waits until `check` holds (it throws until then), at most `ms`. */
const eventually = async <A>(check: () => A | Promise<A>, ms = 15_000): Promise<A> => {
  const deadline = Date.now() + ms
  for (;;) {
    try {
      return await check()
    } catch (error) {
      if (Date.now() > deadline) throw error
      await new Promise((resolve) => setTimeout(resolve, 20))
    }
  }
}

/** The stand-ins live for the whole file; tests keep apart by fresh tenants and addresses. */
const scope = Effect.runSync(Scope.make())
let whatsapp: StandIn.StandIn
let telegram: StandIn.StandIn
beforeAll(async () => {
  whatsapp = await Effect.runPromise(Scope.extend(WhatsAppStandIn.make, scope))
  telegram = await Effect.runPromise(Scope.extend(TelegramStandIn.make, scope))
})
afterAll(() => Effect.runPromise(Scope.close(scope, Exit.void)))

const sentTo = async (standIn: StandIn.StandIn, address: string) =>
  (await Effect.runPromise(standIn.sent)).filter((s) => s.to === address)

const requestsWith = async (standIn: StandIn.StandIn, text: string) =>
  (await Effect.runPromise(standIn.requests)).filter((r) => r.method === "POST" && r.body.includes(text))

/** Posts a provider's webhook to the app as the provider would: the exact bytes, the provider's headers. */
const deliverWebhook = (
  server: TestServer,
  connector: string,
  tid: string,
  request: WebhookRequest.WebhookRequest,
) =>
  server.request(request.method, `/v1/connectors/${connector}/webhook?tenant=${encodeURIComponent(tid)}`, {
    raw: request.body,
    headers: { ...request.headers },
  })

const admin = (server: TestServer, tid: string) => server.token({ tid, sub: "root", role: "admin" })

const configure = async (
  server: TestServer,
  tid: string,
  name: string,
  settings: Record<string, unknown>,
): Promise<Record<string, unknown>> => {
  const reply = await server.request("PUT", `/v1/connectors/${name}`, {
    token: await admin(server, tid),
    body: settings,
  })
  if (reply.status !== 200)
    throw new Error(`PUT /v1/connectors/${name} answered ${reply.status}: ${reply.text}`)
  return reply.body
}

const setIdentity = async (
  server: TestServer,
  token: string,
  userId: string,
  channel: string,
  address: string,
) => {
  const reply = await server.request("PUT", `/v1/users/${userId}/channels/${channel}`, {
    token,
    body: { address },
  })
  if (reply.status !== 200) throw new Error(`PUT identity answered ${reply.status}: ${reply.text}`)
  return reply.body as { address: string }
}

const direct = async (server: TestServer, token: string, other: string) => {
  const reply = await server.request("POST", "/v1/conversations", {
    token,
    body: { type: "direct", members: [other] },
  })
  if (reply.status !== 201 && reply.status !== 200)
    throw new Error(`direct answered ${reply.status}: ${reply.text}`)
  return reply.body as { id: string }
}

const sendText = async (
  server: TestServer,
  token: string,
  conversationId: string,
  text: string,
  channels?: string[],
) => {
  const reply = await server.request("POST", `/v1/conversations/${conversationId}/messages`, {
    token,
    body: {
      clientMessageId: unique("c"),
      content: { type: "text", text },
      ...(channels ? { channels } : {}),
    },
  })
  if (reply.status !== 201) throw new Error(`send answered ${reply.status}: ${reply.text}`)
  return reply.body as { id: string }
}

interface Recipient {
  userId: string
  channel: string
  status: string
  updatedAt: string | null
}
const statusOf = async (server: TestServer, token: string, messageId: string) => {
  const reply = await server.request("GET", `/v1/messages/${messageId}/status`, { token })
  if (reply.status !== 200) throw new Error(`status answered ${reply.status}: ${reply.text}`)
  return reply.body as { status: string; recipients: Array<Recipient> }
}
const channelStatus = async (
  server: TestServer,
  token: string,
  messageId: string,
  userId: string,
  channel: string,
) =>
  (await statusOf(server, token, messageId)).recipients.find(
    (r) => r.userId === userId && r.channel === channel,
  )?.status

const historyOf = async (server: TestServer, token: string, messageId: string) => {
  const reply = await server.request("GET", `/v1/messages/${messageId}/status/history`, { token })
  if (reply.status !== 200) throw new Error(`history answered ${reply.status}: ${reply.text}`)
  return reply.body.items as Array<{
    status: string
    userId?: string
    channel?: string
    at: string
    detail?: string
  }>
}

const rank: Record<string, number> = { pending: 0, sent: 1, failed: 2, delivered: 3, read: 4 }

/** A tenant with WhatsApp configured against the stand-in, and bob reachable on WhatsApp. */
const whatsappTenant = async (server: TestServer) => {
  const t = await tenant(server)
  await configure(server, t.tid, "whatsapp", whatsapp.settings())
  const bob = whatsapp.newAddress()
  await setIdentity(server, t.service, "bob", "whatsapp", `+${bob}`)
  const conversation = await direct(server, t.tokens.alice, "bob")
  return { ...t, bob, conversation }
}

eachBackend(
  "connectors",
  (server) => {
    it("keeps channel identities: normalized by the connector, own for users, anyone's for services", async () => {
      const t = await tenant(server())
      const other = await tenant(server())
      const put = (token: string, userId: string, channel: string, body: unknown) =>
        server().request("PUT", `/v1/users/${userId}/channels/${channel}`, { token, body })

      // No WhatsApp settings yet: the shipped connector's address rules apply all the same.
      const mine = await put(t.tokens.alice, "alice", "whatsapp", {
        address: " +55 (11) 99999-0000 ",
        displayName: "Alice",
      })
      expect(mine.status).toBe(200)
      expect(mine.body).toEqual({
        userId: "alice",
        channel: "whatsapp",
        address: "5511999990000",
        displayName: "Alice",
        updatedAt: expect.stringMatching(isoPattern),
      })
      expect((await put(t.service, "bob", "telegram", { address: "123456789" })).status).toBe(200)
      // A channel no connector knows is kept as given.
      expect((await put(t.tokens.carol, "carol", "sms", { address: "+1 555 0100" })).body.address).toBe(
        "+1 555 0100",
      )

      expectProblem(
        await put(t.tokens.alice, "bob", "whatsapp", { address: "+5511988887777" }),
        403,
        "forbidden",
      )
      expectProblem(
        await put(t.tokens.alice, "alice", "whatsapp", { address: "call me" }),
        400,
        "invalid_request",
        "address",
      )
      expectProblem(
        await put(t.tokens.alice, "alice", "telegram", { address: "@alice" }),
        400,
        "invalid_request",
        "address",
      )
      expectProblem(
        await put(t.tokens.alice, "alice", "app", { address: "x" }),
        400,
        "invalid_request",
        "channel",
      )
      expectProblem(
        await put(t.tokens.alice, "alice", "What'sApp", { address: "x" }),
        400,
        "invalid_request",
        "channel",
      )
      expectProblem(await put(t.tokens.alice, "alice", "whatsapp", {}), 400, "invalid_request", "address")
      // One address, one user: bob cannot take alice's number, in whatever form he writes it.
      const taken = await put(t.tokens.bob, "bob", "whatsapp", { address: "+55 11 99999 0000" })
      expectProblem(taken, 409, "identity_conflict")
      expect(taken.body.detail).toContain("alice")

      const list = await server().request("GET", "/v1/users/alice/channels", { token: t.tokens.alice })
      expect(list.body.items.map((i: { channel: string }) => i.channel)).toEqual(["whatsapp"])
      const got = await server().request("GET", "/v1/users/bob/channels/telegram", { token: t.service })
      expect(got.body).toMatchObject({ userId: "bob", channel: "telegram", address: "123456789" })
      expectProblem(
        await server().request("GET", "/v1/users/bob/channels", { token: t.tokens.alice }),
        403,
        "forbidden",
      )
      expectProblem(
        await server().request("GET", "/v1/users/alice/channels/instagram", { token: t.tokens.alice }),
        404,
        "identity_not_found",
      )
      // Another tenant's alice has nothing.
      expect(
        (await server().request("GET", "/v1/users/alice/channels", { token: other.service })).body.items,
      ).toEqual([])

      expect(
        (await server().request("DELETE", "/v1/users/alice/channels/whatsapp", { token: t.tokens.alice }))
          .status,
      ).toBe(204)
      expectProblem(
        await server().request("DELETE", "/v1/users/alice/channels/whatsapp", { token: t.tokens.alice }),
        404,
        "identity_not_found",
      )
      // Freed, the number can go to bob.
      expect((await put(t.tokens.bob, "bob", "whatsapp", { address: "+5511999990000" })).status).toBe(200)
    })

    it("stores connector settings per tenant for admins, shows them redacted with health", async () => {
      const t = await tenant(server())
      const root = await admin(server(), t.tid)
      const listed = await server().request("GET", "/v1/connectors", { token: t.service })
      expect(listed.status).toBe(200)
      expect(listed.body.items.map((c: { name: string }) => c.name)).toEqual([
        "instagram",
        "telegram",
        "whatsapp",
      ])
      expect(listed.body.items[2]).toMatchObject({
        configured: false,
        settings: null,
        health: { status: "not_configured" },
        webhookPath: `/v1/connectors/whatsapp/webhook?tenant=${t.tid}`,
      })
      expectProblem(
        await server().request("GET", "/v1/connectors", { token: t.tokens.alice }),
        403,
        "forbidden",
      )
      expectProblem(
        await server().request("PUT", "/v1/connectors/whatsapp", {
          token: t.service,
          body: whatsapp.settings(),
        }),
        403,
        "forbidden",
      )

      const put = (name: string, body: unknown) =>
        server().request("PUT", `/v1/connectors/${name}`, { token: root, body })
      const saved = await put("whatsapp", { ...whatsapp.settings(), inboxUserId: "desk" })
      expect(saved.status).toBe(200)
      expect(saved.body).toMatchObject({
        name: "whatsapp",
        configured: true,
        enabled: true,
        inboxUserId: "desk",
        receipts: ["delivered", "read", "failed"],
        health: { status: "ok", checkedAt: expect.stringMatching(isoPattern) },
        settings: { accessToken: "<redacted>", appSecret: "<redacted>", verifyToken: "<redacted>" },
      })
      for (const secret of whatsapp.secrets) expect(saved.text).not.toContain(secret)

      // Refused credentials are stored (the admin may be rotating them), and health says so.
      const revoked = await put("telegram", telegram.settings({ credentials: "invalid" }))
      expect(revoked.body.health).toMatchObject({ status: "failing", reason: "unauthorized" })
      expect(revoked.body.inboxUserId).toBe("inbox")
      const off = await put("telegram", { ...telegram.settings(), enabled: false })
      expect(off.body).toMatchObject({ enabled: false, health: { status: "disabled" } })

      expectProblem(
        await put("whatsapp", { ...whatsapp.settings(), acessToken: "x" }),
        400,
        "invalid_request",
        "acessToken",
      )
      expectProblem(
        await put("whatsapp", { ...whatsapp.settings(), baseUrl: "ftp://x" }),
        400,
        "invalid_request",
        "baseUrl",
      )
      expectProblem(
        await put("whatsapp", { ...whatsapp.settings(), accessToken: "<redacted>" }),
        400,
        "invalid_request",
        "accessToken",
      )
      expectProblem(
        await put("whatsapp", { ...whatsapp.settings(), inboxUserId: "no spaces" }),
        400,
        "invalid_request",
        "inboxUserId",
      )
      expectProblem(await put("sms", {}), 404, "connector_not_found")
      expectProblem(await put("whatsapp", ["not", "an", "object"]), 400, "invalid_request")

      const all = await server().request("GET", "/v1/connectors", { token: root })
      const byName = Object.fromEntries(all.body.items.map((c: { name: string }) => [c.name, c]))
      expect(byName.whatsapp).toMatchObject({ inboxUserId: "desk", health: { status: "ok" } })
      expect(byName.telegram).toMatchObject({ enabled: false, health: { status: "disabled" } })
      expect(byName.instagram.configured).toBe(false)
      for (const secret of [...whatsapp.secrets, ...telegram.secrets]) expect(all.text).not.toContain(secret)
      // A setting keeps its inbox user when a PUT leaves it out.
      expect((await put("whatsapp", whatsapp.settings())).body.inboxUserId).toBe("desk")
      // Another tenant sees none of it.
      const other = await tenant(server())
      const theirs = await server().request("GET", "/v1/connectors", { token: other.service })
      expect(theirs.body.items.every((c: { configured: boolean }) => !c.configured)).toBe(true)
    })

    it("delivers a message to the WhatsApp stand-in and moves its status with shuffled, repeated callbacks", async () => {
      const t = await whatsappTenant(server())
      const id = unique("wa")
      const text = `Olá ${id} 👋🏽`
      const message = await sendText(server(), t.tokens.alice, t.conversation.id, text)

      const [sent] = await eventually(async () => {
        const found = await sentTo(whatsapp, t.bob)
        expect(found.map((s) => s.text)).toEqual([text])
        return found
      })
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, message.id, "bob", "whatsapp")).toBe("sent"),
      )

      // The provider reports sent, delivered and read, out of order and twice over.
      const status = (s: "sent" | "delivered" | "read", second: number) => ({
        kind: "status" as const,
        providerMessageId: sent!.providerMessageId,
        status: s,
        recipient: t.bob,
        at: (Math.floor(Date.now() / 1000) + second) * 1000,
      })
      const callbacks = [status("read", 3), status("sent", 1), status("delivered", 2), status("read", 3)]
      for (const event of callbacks)
        for (const request of whatsapp.webhooks([event])) {
          const reply = await deliverWebhook(server(), "whatsapp", t.tid, request)
          expect(reply.status).toBe(200)
          expect(reply.text).toBe("ok")
        }
      // A late delivered after read, redelivered as a batch: nothing moves.
      for (const request of whatsapp.webhooks([status("delivered", 2), status("sent", 1)]))
        expect((await deliverWebhook(server(), "whatsapp", t.tid, request)).status).toBe(200)

      const view = await statusOf(server(), t.tokens.alice, message.id)
      expect(view.recipients).toContainEqual({
        userId: "bob",
        channel: "whatsapp",
        status: "read",
        updatedAt: expect.stringMatching(isoPattern),
      })
      expect(view.status).toBe("read")
      const history = (await historyOf(server(), t.tokens.alice, message.id)).filter(
        (h) => h.channel === "whatsapp",
      )
      expect(history.map((h) => h.status)).toEqual(["pending", "sent", "read"])
      for (let i = 1; i < history.length; i++)
        expect(rank[history[i]!.status]!).toBeGreaterThan(rank[history[i - 1]!.status]!)
      expect(history.every((h) => h.userId === "bob")).toBe(true)
      // Exactly one send reached the provider.
      expect(await requestsWith(whatsapp, id)).toHaveLength(1)
    })

    it("routes by the message's channels: a list without WhatsApp sends nothing there", async () => {
      const t = await whatsappTenant(server())
      const skipped = `only telegram ${unique("ch")}`
      const routed = `whatsapp too ${unique("ch")}`
      const first = await sendText(server(), t.tokens.alice, t.conversation.id, skipped, ["telegram"])
      const second = await sendText(server(), t.tokens.alice, t.conversation.id, routed, [
        "whatsapp",
        "telegram",
      ])
      await eventually(async () =>
        expect((await sentTo(whatsapp, t.bob)).map((s) => s.text)).toEqual([routed]),
      )
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, second.id, "bob", "whatsapp")).toBe("sent"),
      )
      const firstView = await statusOf(server(), t.tokens.alice, first.id)
      expect(firstView.recipients.map((r) => r.channel)).toEqual(["app"])
    })

    it("retries a provider that fails twice with 5xx, and delivers once it answers", async () => {
      const t = await whatsappTenant(server())
      const text = `retry me ${unique("r")}`
      await Effect.runPromise(whatsapp.failNext({ _tag: "Status", status: 503 }))
      await Effect.runPromise(whatsapp.failNext({ _tag: "Status", status: 500 }))
      const message = await sendText(server(), t.tokens.alice, t.conversation.id, text)
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, message.id, "bob", "whatsapp")).toBe("sent"),
      )
      expect((await requestsWith(whatsapp, text)).length).toBe(3)
      expect((await sentTo(whatsapp, t.bob)).map((s) => s.text)).toEqual([text])
      const history = (await historyOf(server(), t.tokens.alice, message.id)).filter(
        (h) => h.channel === "whatsapp",
      )
      expect(history.map((h) => h.status)).toEqual(["pending", "sent"])
    })

    it("ends a send the provider refuses with a 4xx as failed, with the error in the history, unretried", async () => {
      const t = await whatsappTenant(server())
      const text = `refused ${unique("f")}`
      await Effect.runPromise(whatsapp.failNext({ _tag: "Status", status: 400 }))
      const message = await sendText(server(), t.tokens.alice, t.conversation.id, text)
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, message.id, "bob", "whatsapp")).toBe("failed"),
      )
      const failed = (await historyOf(server(), t.tokens.alice, message.id)).find(
        (h) => h.status === "failed",
      )
      expect(failed).toMatchObject({ userId: "bob", channel: "whatsapp" })
      expect(failed?.detail).toMatch(/^whatsapp: rejected \(HTTP 400\)/)
      await new Promise((resolve) => setTimeout(resolve, 150))
      expect((await requestsWith(whatsapp, text)).length).toBe(1)
      // The next message goes out normally.
      const next = await sendText(server(), t.tokens.alice, t.conversation.id, `after ${text}`)
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, next.id, "bob", "whatsapp")).toBe("sent"),
      )
    })

    it("turns an inbound Telegram message into one message from a new contact, however often it comes", async () => {
      const t = await tenant(server())
      await configure(server(), t.tid, "telegram", { ...telegram.settings(), inboxUserId: "desk" })
      const chat = telegram.newAddress()
      const inbound = telegram.inboundMessage({ from: chat, text: `Oi! ${unique("in")}`, at: Date.now() })
      const [request] = telegram.webhooks([inbound])
      // Delivered, then redelivered, then twice at once.
      for (const reply of [
        await deliverWebhook(server(), "telegram", t.tid, request!),
        await deliverWebhook(server(), "telegram", t.tid, request!),
        ...(await Promise.all([1, 2].map(() => deliverWebhook(server(), "telegram", t.tid, request!)))),
      ])
        expect(reply.status).toBe(200)

      const desk = { token: t.service, headers: { "x-chat4all-user": "desk" } }
      const conversations = (await server().request("GET", "/v1/conversations", desk)).body.items as Array<{
        id: string
        type: string
        members: Array<{ userId: string }>
      }>
      expect(conversations).toHaveLength(1)
      const [conversation] = conversations
      expect(conversation!.type).toBe("direct")
      const contact = conversation!.members.map((m) => m.userId).find((u) => u !== "desk")!
      expect(contact).toMatch(/^contact:telegram:[0-9a-f]{24}$/)
      const messages = (await server().request("GET", `/v1/conversations/${conversation!.id}/messages`, desk))
        .body.items as Array<{
        senderId: string
        content: { text: string }
        clientMessageId: string
        metadata: Record<string, unknown>
      }>
      expect(messages).toHaveLength(1)
      expect(messages[0]).toMatchObject({
        senderId: contact,
        content: { type: "text", text: inbound.text },
        clientMessageId: inbound.providerMessageId,
        metadata: {
          inbound: { connector: "telegram", providerMessageId: inbound.providerMessageId, from: chat },
        },
      })
      const identity = await server().request("GET", `/v1/users/${contact}/channels/telegram`, {
        token: t.service,
      })
      expect(identity.body).toMatchObject({ address: chat, displayName: expect.any(String) })

      // The next message of the same person lands in the same conversation; the desk's answer goes back out.
      const later = telegram.inboundMessage({ from: chat, text: "Tudo bem?", at: Date.now() })
      for (const r of telegram.webhooks([later]))
        expect((await deliverWebhook(server(), "telegram", t.tid, r)).status).toBe(200)
      const after = (await server().request("GET", `/v1/conversations/${conversation!.id}/messages`, desk))
        .body.items
      expect(after.map((m: { content: { text: string } }) => m.content.text)).toEqual([
        inbound.text,
        "Tudo bem?",
      ])
      const answer = `Olá, aqui é a central ${unique("desk")}`
      const answered = await server().request("POST", `/v1/conversations/${conversation!.id}/messages`, {
        ...desk,
        body: { clientMessageId: unique("c"), content: { type: "text", text: answer } },
      })
      expect(answered.status).toBe(201)
      await eventually(async () =>
        expect((await sentTo(telegram, chat)).map((s) => s.text)).toEqual([answer]),
      )
    })

    it("gives a WhatsApp message from a known address to that user: a reply in its thread, the rest to the inbox", async () => {
      const t = await whatsappTenant(server())
      const outbound = await sendText(server(), t.tokens.alice, t.conversation.id, `hello ${unique("o")}`)
      const [sent] = await eventually(async () => {
        const found = await sentTo(whatsapp, t.bob)
        expect(found).toHaveLength(1)
        return found
      })
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, outbound.id, "bob", "whatsapp")).toBe("sent"),
      )
      // Bob answers alice's message on WhatsApp (Meta's reply context names it), twice delivered.
      const reply = whatsapp.inboundMessage({ from: t.bob, text: "Obrigado!", at: Date.now() })
      const body = JSON.parse(new TextDecoder().decode(whatsapp.webhooks([reply])[0]!.body))
      body.entry[0].changes[0].value.messages[0].context = { from: "15550100", id: sent!.providerMessageId }
      const request = whatsapp.signedRequest(new TextEncoder().encode(JSON.stringify(body)))
      expect((await deliverWebhook(server(), "whatsapp", t.tid, request)).status).toBe(200)
      expect((await deliverWebhook(server(), "whatsapp", t.tid, request)).status).toBe(200)
      const thread = (
        await server().request("GET", `/v1/conversations/${t.conversation.id}/messages`, {
          token: t.tokens.alice,
        })
      ).body.items
      expect(thread.map((m: { senderId: string }) => m.senderId)).toEqual(["alice", "bob"])
      expect(thread[1]).toMatchObject({ content: { text: "Obrigado!" }, replyTo: outbound.id })
      expect(thread[1].clientMessageId).toBe(reply.providerMessageId)
      // Bob's own message to him on WhatsApp is not sent back to him.
      expect(await sentTo(whatsapp, t.bob)).toHaveLength(1)

      // A message that answers nothing goes to the inbox, from bob.
      const plain = whatsapp.inboundMessage({ from: t.bob, text: "Outra coisa", at: Date.now() })
      for (const r of whatsapp.webhooks([plain]))
        expect((await deliverWebhook(server(), "whatsapp", t.tid, r)).status).toBe(200)
      const inbox = { token: t.service, headers: { "x-chat4all-user": "inbox" } }
      const conversations = (await server().request("GET", "/v1/conversations", inbox)).body.items
      expect(conversations).toHaveLength(1)
      expect(conversations[0].members.map((m: { userId: string }) => m.userId).sort()).toEqual([
        "bob",
        "inbox",
      ])
      const messages = (
        await server().request("GET", `/v1/conversations/${conversations[0].id}/messages`, inbox)
      ).body.items
      expect(
        messages.map((m: { senderId: string; content: { text: string } }) => [m.senderId, m.content.text]),
      ).toEqual([["bob", "Outra coisa"]])
    })

    it("refuses a bad signature with 401 and changes nothing; answers the handshake; names the tenant", async () => {
      const t = await whatsappTenant(server())
      const message = await sendText(server(), t.tokens.alice, t.conversation.id, `sig ${unique("s")}`)
      const [sent] = await eventually(async () => {
        const found = await sentTo(whatsapp, t.bob)
        expect(found).toHaveLength(1)
        return found
      })
      await eventually(async () =>
        expect(await channelStatus(server(), t.tokens.alice, message.id, "bob", "whatsapp")).toBe("sent"),
      )
      const read = {
        kind: "status" as const,
        providerMessageId: sent!.providerMessageId,
        status: "read" as const,
        recipient: t.bob,
        at: Date.now(),
      }
      const stranger = whatsapp.inboundMessage({
        from: whatsapp.newAddress(),
        text: "forged",
        at: Date.now(),
      })
      for (const signing of ["wrong-secret", "missing"] as const)
        for (const request of whatsapp.webhooks([read, stranger], signing)) {
          const reply = await deliverWebhook(server(), "whatsapp", t.tid, request)
          expectProblem(reply, 401, "invalid_signature")
        }
      // A correctly signed body, altered by one byte on the way.
      const [good] = whatsapp.webhooks([read, stranger])
      const tampered = new Uint8Array(good!.body)
      tampered[tampered.length - 2]! ^= 1
      expectProblem(
        await deliverWebhook(server(), "whatsapp", t.tid, { ...good!, body: tampered }),
        401,
        "invalid_signature",
      )
      expect(await channelStatus(server(), t.tokens.alice, message.id, "bob", "whatsapp")).toBe("sent")
      const inbox = { token: t.service, headers: { "x-chat4all-user": "inbox" } }
      expect((await server().request("GET", "/v1/conversations", inbox)).body.items).toEqual([])

      // Meta's subscription handshake, with the tenant's verify token only.
      const challenge = "1158201444"
      const handshake = (token: "valid" | "wrong") => {
        const request = whatsapp.handshake!({ token, challenge })
        const query = new URLSearchParams({ ...request.query, tenant: t.tid })
        return server().request("GET", `/v1/connectors/whatsapp/webhook?${query}`)
      }
      const ok = await handshake("valid")
      expect(ok.status).toBe(200)
      expect(ok.text).toBe(challenge)
      expectProblem(await handshake("wrong"), 403, "handshake_rejected")

      // The URL names the tenant; without a configured connector there is nothing to verify with.
      const post = (query: string) =>
        server().request("POST", `/v1/connectors/whatsapp/webhook${query}`, {
          raw: good!.body,
          headers: { ...good!.headers },
        })
      expectProblem(await post(""), 400, "invalid_request", "tenant")
      expectProblem(await post("?tenant=no%20such"), 400, "invalid_request", "tenant")
      expectProblem(await post(`?tenant=${unique("t")}`), 404, "connector_not_found")
      expectProblem(
        await server().request("POST", `/v1/connectors/telegram/webhook?tenant=${t.tid}`, {
          raw: "{}",
          headers: { "content-type": "application/json" },
        }),
        404,
        "connector_not_found",
      )
    })

    it("documents the endpoints in the OpenAPI document", async () => {
      const doc = (await server().request("GET", "/openapi.json")).body
      for (const path of [
        "/v1/users/{userId}/channels",
        "/v1/users/{userId}/channels/{channel}",
        "/v1/connectors",
        "/v1/connectors/{name}",
        "/v1/connectors/{name}/webhook",
      ])
        expect(Object.keys(doc.paths)).toContain(path)
      const webhook = doc.paths["/v1/connectors/{name}/webhook"]
      expect(Object.keys(webhook)).toEqual(expect.arrayContaining(["get", "post"]))
      expect(webhook.post.security ?? []).toEqual([])
      expect(webhook.post.parameters.map((p: { name: string }) => p.name)).toContain("tenant")
      expect(Object.keys(webhook.post.responses)).toEqual(expect.arrayContaining(["200", "401"]))
    })
  },
  env,
)
