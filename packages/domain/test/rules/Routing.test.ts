import { ChannelIdentity, type Message, Routing } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import * as fc from "fast-check"
import { file, member, message, numRuns, propertyTimeout, system, tenantId, text, user } from "./support.js"

const identity = (userId: string, channel: string, address = `${userId}@${channel}`) =>
  new ChannelIdentity.ChannelIdentity({ tenantId, userId: user(userId), channel, address, updatedAt: 0 })

const connector = (
  channel: string,
  options: Partial<Omit<ChannelIdentity.ConnectorCapabilities, "channel">> = {},
): ChannelIdentity.ConnectorCapabilities => ({
  channel,
  enabled: options.enabled ?? true,
  contentTypes: options.contentTypes ?? ["text", "file"],
  maxTextLength: options.maxTextLength ?? 4096,
})

const members = [member("alice"), member("bob"), member("carol")]
const identities = [
  identity("alice", "whatsapp"),
  identity("bob", "whatsapp"),
  identity("bob", "telegram"),
  identity("carol", "instagram"),
  identity("mallory", "whatsapp"), // not a member
]
const connectors = [connector("whatsapp"), connector("telegram"), connector("instagram")]

const pairs = (plan: Routing.RoutingPlan) => ({
  deliveries: plan.deliveries.map((d) => `${d.userId}/${d.channel}`).sort(),
  skipped: plan.skipped.map((s) => `${s.userId}/${s.channel}:${s.reason}`).sort(),
})

describe("Routing.plan", () => {
  it('["all"] goes to every channel identity of every recipient, never the sender or a non-member', () => {
    const plan = Routing.plan(message("alice"), members, identities, connectors)
    expect(pairs(plan)).toEqual({
      deliveries: ["bob/telegram", "bob/whatsapp", "carol/instagram"],
      skipped: [],
    })
    expect(plan.deliveries.find((d) => d.userId === "bob" && d.channel === "telegram")).toEqual({
      messageId: message("alice").id,
      userId: "bob",
      channel: "telegram",
      address: "bob@telegram",
    })
  })

  it("a list of channels goes only to those channels", () => {
    const plan = Routing.plan(message("alice", { channels: ["whatsapp"] }), members, identities, connectors)
    expect(pairs(plan)).toEqual({ deliveries: ["bob/whatsapp"], skipped: [] })
    const two = Routing.plan(
      message("bob", { channels: ["whatsapp", "instagram"] }),
      members,
      identities,
      connectors,
    )
    expect(pairs(two)).toEqual({ deliveries: ["alice/whatsapp", "carol/instagram"], skipped: [] })
  })

  it('"all" anywhere in the list means every channel', () => {
    const plan = Routing.plan(
      message("alice", { channels: ["whatsapp", "all"] }),
      members,
      identities,
      connectors,
    )
    expect(pairs(plan).deliveries).toEqual(["bob/telegram", "bob/whatsapp", "carol/instagram"])
  })

  it("reports a missing or disabled connector in skipped", () => {
    const plan = Routing.plan(message("alice"), members, identities, [
      connector("whatsapp", { enabled: false }),
      connector("instagram"),
    ])
    expect(pairs(plan)).toEqual({
      deliveries: ["carol/instagram"],
      skipped: ["bob/telegram:connector_missing", "bob/whatsapp:connector_disabled"],
    })
  })

  it("reports content a connector cannot carry in skipped", () => {
    const textOnly = [
      connector("whatsapp", { contentTypes: ["text"] }),
      connector("telegram"),
      connector("instagram", { contentTypes: ["text", "file", "system"] }),
    ]
    const withFile = message("alice", { content: file("f-1", "look") })
    expect(pairs(Routing.plan(withFile, members, identities, textOnly))).toEqual({
      deliveries: ["bob/telegram", "carol/instagram"],
      skipped: ["bob/whatsapp:content_unsupported"],
    })
    const fromSystem = message("alice", { content: system("welcome") })
    expect(pairs(Routing.plan(fromSystem, members, identities, textOnly))).toEqual({
      deliveries: ["carol/instagram"],
      skipped: ["bob/telegram:content_unsupported", "bob/whatsapp:content_unsupported"],
    })
  })

  it("reports text (or a caption) longer than the connector takes in skipped", () => {
    const short = [connector("whatsapp", { maxTextLength: 5 }), connector("telegram"), connector("instagram")]
    expect(
      pairs(Routing.plan(message("alice", { content: text("123456") }), members, identities, short)),
    ).toEqual({
      deliveries: ["bob/telegram", "carol/instagram"],
      skipped: ["bob/whatsapp:text_too_long"],
    })
    expect(
      pairs(Routing.plan(message("alice", { content: text("12345") }), members, identities, short)).skipped,
    ).toEqual([])
    const longCaption = message("alice", { content: file("f-1", "123456") })
    expect(pairs(Routing.plan(longCaption, members, identities, short)).skipped).toEqual([
      "bob/whatsapp:text_too_long",
    ])
    const noCaption = message("alice", { content: file("f-1") })
    expect(pairs(Routing.plan(noCaption, members, identities, short)).skipped).toEqual([])
  })

  it("a conversation where only the sender has identities plans nothing", () => {
    expect(pairs(Routing.plan(message("alice"), [member("alice")], identities, connectors))).toEqual({
      deliveries: [],
      skipped: [],
    })
  })

  describe("properties", { timeout: propertyTimeout }, () => {
    const users = ["alice", "bob", "carol", "dave", "erin"] as const
    const channels = ["whatsapp", "telegram", "instagram", "sms"] as const
    const contentArb = fc.oneof(
      fc.string({ minLength: 1, maxLength: 12 }).map(text),
      fc.string({ minLength: 1, maxLength: 12 }).map(system),
      fc.option(fc.string({ maxLength: 12 }), { nil: undefined }).map((c) => file("f-1", c)),
    )
    const scenario = fc.record({
      sender: fc.constantFrom(...users),
      members: fc.uniqueArray(fc.constantFrom(...users), { maxLength: users.length }),
      channels: fc.oneof(
        fc.constant<Message.Channels>(["all"]),
        fc.uniqueArray(fc.constantFrom(...channels), { minLength: 1, maxLength: channels.length }),
      ),
      identities: fc.array(
        fc.record({
          user: fc.constantFrom(...users),
          channel: fc.constantFrom(...channels),
          address: fc.constantFrom("a1", "a2", "a3"),
        }),
        { maxLength: 12 },
      ),
      connectors: fc.uniqueArray(
        fc.record({
          channel: fc.constantFrom(...channels),
          enabled: fc.boolean(),
          contentTypes: fc.subarray(["text", "file", "system"] as const),
          maxTextLength: fc.integer({ min: 0, max: 12 }),
        }),
        { selector: (c) => c.channel, maxLength: channels.length },
      ),
      content: contentArb,
    })

    it("every candidate (recipient identity on a wanted channel) ends in exactly one of deliveries or skipped", () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const msg = message(s.sender, { channels: s.channels, content: s.content })
          const ids = s.identities.map((i) => identity(i.user, i.channel, i.address))
          const plan = Routing.plan(
            msg,
            s.members.map((m) => member(m)),
            ids,
            s.connectors,
          )

          const wantsAll = (s.channels as ReadonlyArray<string>).includes("all")
          const candidates = ids.filter(
            (i) =>
              s.members.includes(i.userId as (typeof users)[number]) &&
              i.userId !== s.sender &&
              (wantsAll || (s.channels as ReadonlyArray<string>).includes(i.channel)),
          )
          expect(plan.deliveries.length + plan.skipped.length).toBe(candidates.length)

          // Count per (user, channel): candidates on one side, deliveries plus skipped on the other.
          const tally = new Map<string, number>()
          const bump = (k: string, by: number) => tally.set(k, (tally.get(k) ?? 0) + by)
          for (const c of candidates) bump(`${c.userId}/${c.channel}`, 1)
          for (const d of plan.deliveries) bump(`${d.userId}/${d.channel}`, -1)
          for (const k of plan.skipped) bump(`${k.userId}/${k.channel}`, -1)
          for (const [key, n] of tally) expect([key, n]).toEqual([key, 0])

          // Deliveries carry the message and the identity's own address.
          for (const d of plan.deliveries) {
            expect(d.messageId).toBe(msg.id)
            expect(
              candidates.some(
                (c) => c.userId === d.userId && c.channel === d.channel && c.address === d.address,
              ),
            ).toBe(true)
          }
        }),
        { numRuns },
      )
    })

    it("delivers exactly when an enabled connector can carry the content, and otherwise says why", () => {
      fc.assert(
        fc.property(scenario, (s) => {
          const msg = message(s.sender, { channels: s.channels, content: s.content })
          const ids = s.identities.map((i) => identity(i.user, i.channel, i.address))
          const plan = Routing.plan(
            msg,
            s.members.map((m) => member(m)),
            ids,
            s.connectors,
          )
          const length = s.content.type === "file" ? (s.content.caption?.length ?? 0) : s.content.text.length
          const expected = (channel: string) => {
            const c = s.connectors.find((x) => x.channel === channel)
            if (c === undefined) return "connector_missing"
            if (!c.enabled) return "connector_disabled"
            if (!(c.contentTypes as ReadonlyArray<string>).includes(s.content.type))
              return "content_unsupported"
            if (length > c.maxTextLength) return "text_too_long"
            return "deliver"
          }
          for (const d of plan.deliveries) expect(expected(d.channel)).toBe("deliver")
          for (const k of plan.skipped) expect(k.reason).toBe(expected(k.channel))
          for (const entry of [...plan.deliveries, ...plan.skipped]) {
            expect(entry.userId).not.toBe(s.sender)
            expect(s.members).toContain(entry.userId)
          }
        }),
        { numRuns },
      )
    })
  })
})
