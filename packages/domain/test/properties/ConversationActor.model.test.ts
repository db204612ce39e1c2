import { DeliveryState } from "@chat4all/domain"
import fc from "fast-check"
import { describe, expect, it } from "vitest"
import { type Harness, makeHarness } from "./ConversationHarness.js"
import { propertyRuns } from "./runs.js"

/**
 * Model-based test of the conversation actor on the memory adapters: random sequences of sends, retries
 * (also concurrent), receipts, connector status updates and membership changes, each checked against a
 * plain model after every step.
 */

const users = ["ann", "bob", "cid", "dan", "eve"] as const
const initialMembers = ["ann", "bob", "cid"]
const channels = ["whatsapp", "telegram"] as const
const statuses = ["pending", "sent", "delivered", "read", "failed"] as const
const texts = ["hello", "hola", "olá"] as const

interface ModelMessage {
  readonly sender: string
  readonly cmid: string
  readonly text: string
  readonly seq: number
  id?: string
}

interface Model {
  readonly members: Set<string>
  readonly messages: Array<ModelMessage>
  readonly byKey: Map<string, ModelMessage>
  readonly horizons: Map<string, { delivered: number; read: number }>
  readonly statuses: Map<string, (typeof statuses)[number]>
}

const key = (sender: string, cmid: string) => `${sender}/${cmid}`

type Cmd = fc.AsyncCommand<Model, Harness>

class Send implements Cmd {
  constructor(
    readonly user: string,
    readonly cmid: string,
    readonly text: string,
    readonly copies: number,
  ) {}
  check = () => true
  async run(m: Model, h: Harness) {
    // `copies` identical sends at once: a client retrying before the first answer came back.
    const results = await Promise.all(
      Array.from({ length: this.copies }, () => h.send(this.user, this.cmid, this.text)),
    )
    if (!m.members.has(this.user)) {
      for (const r of results) expect(r._tag === "Left" && r.left._tag).toBe("NotAMember")
      return
    }
    const prior = m.byKey.get(key(this.user, this.cmid))
    if (prior !== undefined && prior.text !== this.text) {
      for (const r of results) expect(r._tag === "Left" && r.left._tag).toBe("IdempotencyConflict")
      return
    }
    const sent = results.map((r) => {
      if (r._tag === "Left") throw new Error(`send failed: ${r.left._tag}`)
      return r.right
    })
    const expectedSeq = prior?.seq ?? m.messages.length + 1
    for (const s of sent) {
      expect(s.message.seq).toBe(expectedSeq)
      expect(s.message.senderId).toBe(this.user)
      expect(s.message.content).toEqual({ type: "text", text: this.text })
      expect(s.message.id).toBe(sent[0]!.message.id)
    }
    const fresh = sent.filter((s) => !s.replayed).length
    expect(fresh).toBe(prior === undefined ? 1 : 0)
    if (prior !== undefined) {
      expect(sent[0]!.message.id).toBe(prior.id)
      return
    }
    const message: ModelMessage = { sender: this.user, cmid: this.cmid, text: this.text, seq: expectedSeq }
    message.id = sent[0]!.message.id
    m.messages.push(message)
    m.byKey.set(key(this.user, this.cmid), message)
  }
  toString = () => `Send(${this.user}, ${this.cmid}, ${this.text}, x${this.copies})`
}

class Receipt implements Cmd {
  constructor(
    readonly user: string,
    readonly kind: "delivered" | "read",
    readonly fraction: number,
  ) {}
  check = () => true
  async run(m: Model, h: Harness) {
    const seq = Math.floor(this.fraction * (m.messages.length + 1))
    const result = await h.receipt(this.user, this.kind, seq)
    if (!m.members.has(this.user)) {
      expect(result._tag === "Left" && result.left._tag).toBe("NotAMember")
      return
    }
    const horizon = m.horizons.get(this.user)!
    const delivered = Math.max(horizon.delivered, seq)
    const read = this.kind === "read" ? Math.max(horizon.read, seq) : horizon.read
    const changed = delivered !== horizon.delivered || read !== horizon.read
    expect(result._tag === "Right" && result.right.changed).toBe(changed)
    m.horizons.set(this.user, { delivered, read })
  }
  toString = () => `Receipt(${this.user}, ${this.kind}, ${this.fraction.toFixed(2)})`
}

class StatusUpdate implements Cmd {
  constructor(
    readonly fraction: number,
    readonly user: string,
    readonly channel: string,
    readonly status: (typeof statuses)[number],
  ) {}
  check = (m: Readonly<Model>) => m.messages.length > 0
  async run(m: Model, h: Harness) {
    const target = m.messages[Math.min(m.messages.length - 1, Math.floor(this.fraction * m.messages.length))]!
    const result = await h.delivery(target.id as never, this.user, this.channel, this.status)
    if (target.sender === this.user) {
      expect(result._tag === "Left" && result.left._tag).toBe("InvalidRequest")
      return
    }
    const k = `${target.seq}/${this.user}/${this.channel}`
    const current = m.statuses.get(k)
    const next = DeliveryState.advance(current, this.status)
    expect(result._tag === "Right" && result.right.applied).toBe(next !== undefined)
    if (next !== undefined) m.statuses.set(k, next)
  }
  toString = () => `StatusUpdate(${this.fraction.toFixed(2)}, ${this.user}, ${this.channel}, ${this.status})`
}

class Join implements Cmd {
  constructor(readonly user: string) {}
  check = () => true
  async run(m: Model, h: Harness) {
    await h.addMember(this.user)
    if (!m.members.has(this.user)) {
      m.members.add(this.user)
      // A new member starts caught up: history before joining is not unread for them.
      m.horizons.set(this.user, { delivered: m.messages.length, read: m.messages.length })
    }
  }
  toString = () => `Join(${this.user})`
}

class Leave implements Cmd {
  constructor(readonly user: string) {}
  check = () => true
  async run(m: Model, h: Harness) {
    await h.removeMember(this.user)
    m.members.delete(this.user)
    m.horizons.delete(this.user)
  }
  toString = () => `Leave(${this.user})`
}

/** The whole observable state against the model: order, uniqueness, content, horizons, statuses. */
class Check implements Cmd {
  check = () => true
  async run(m: Model, h: Harness) {
    const messages = await h.messages()
    expect(messages.map((x) => x.seq)).toEqual(m.messages.map((_, i) => i + 1))
    expect(messages.map((x) => [x.id, x.senderId, x.clientMessageId, x.content])).toEqual(
      m.messages.map((x) => [x.id, x.sender, x.cmid, { type: "text", text: x.text }]),
    )
    const conversation = await h.conversation()
    expect(conversation.lastSeq).toBe(m.messages.length)
    expect(new Set(conversation.members.map((x) => x.userId))).toEqual(m.members)
    for (const member of conversation.members) {
      const horizon = m.horizons.get(member.userId)!
      expect([member.deliveredSeq, member.readSeq]).toEqual([horizon.delivered, horizon.read])
    }
    for (const message of m.messages) {
      const records = await h.deliveries(message.id as never)
      const actual = Object.fromEntries(
        records.map((r) => [`${message.seq}/${r.userId}/${r.channel}`, r.status]),
      )
      const expected = Object.fromEntries([...m.statuses].filter(([k]) => k.startsWith(`${message.seq}/`)))
      expect(actual).toEqual(expected)
      const history = await h.history(message.id as never)
      // The history only ever records moves forward, per recipient and channel.
      const last = new Map<string, number>()
      for (const t of history.slice(1)) {
        const k = `${t.userId}/${t.channel}`
        expect(DeliveryState.rank[t.status]).toBeGreaterThan(last.get(k) ?? -1)
        last.set(k, DeliveryState.rank[t.status])
      }
    }
  }
  toString = () => "Check"
}

const user = fc.constantFrom(...users)
const send = fc
  .tuple(user, fc.integer({ min: 0, max: 5 }), fc.constantFrom(...texts), fc.integer({ min: 1, max: 4 }))
  .map(([u, c, t, n]) => new Send(u, `c${c}`, t, n))
// Sends are listed twice: they are what most of the traffic is, and what the other commands need.
const commands = [
  send,
  send,
  fc
    .tuple(
      user,
      fc.constantFrom("delivered" as const, "read" as const),
      fc.double({ min: 0, max: 1, noNaN: true }),
    )
    .map(([u, k, f]) => new Receipt(u, k, f)),
  fc
    .tuple(
      fc.double({ min: 0, max: 1, noNaN: true }),
      user,
      fc.constantFrom(...channels),
      fc.constantFrom(...statuses),
    )
    .map(([f, u, c, s]) => new StatusUpdate(f, u, c, s)),
  user.map((u) => new Join(u)),
  user.map((u) => new Leave(u)),
  fc.constant(new Check()),
]

describe("conversation actor, model-based", () => {
  it(`matches the model for any sequence of commands (${propertyRuns} runs)`, async () => {
    await fc.assert(
      fc.asyncProperty(fc.commands(commands, { maxCommands: 60, size: "large" }), async (cmds) => {
        const harness = await makeHarness(initialMembers)
        const model: Model = {
          members: new Set(initialMembers),
          messages: [],
          byKey: new Map(),
          horizons: new Map(initialMembers.map((u) => [u, { delivered: 0, read: 0 }])),
          statuses: new Map(),
        }
        try {
          await fc.asyncModelRun(() => ({ model, real: harness }), [...cmds, new Check()])
        } finally {
          await harness.dispose()
        }
      }),
      { numRuns: propertyRuns },
    )
  }, 300_000)
})
