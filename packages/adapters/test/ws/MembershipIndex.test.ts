import { Conversation, type Event, type Ids, Member } from "@chat4all/domain"
import * as fc from "fast-check"
import { describe, expect, it } from "vitest"
import { MembershipIndex } from "../../src/ws/MembershipIndex.js"

const tenant = "t" as Ids.TenantId
const c1 = "c1" as Ids.ConversationId
const u = (name: string) => name as Ids.UserId
let n = 0
const id = () => `1700000000000-00000000-0000-4000-8000-${String(++n).padStart(12, "0")}` as Ids.EventId

const conversation = (cid: Ids.ConversationId, members: ReadonlyArray<string>) =>
  new Conversation.Conversation({
    id: cid,
    tenantId: tenant,
    type: "group",
    metadata: {},
    members: members.map(
      (m) => new Member.Member({ userId: u(m), role: "member", joinedAt: 0, readSeq: 0, deliveredSeq: 0 }),
    ),
    createdAt: 0,
    updatedAt: 0,
    lastSeq: 0,
  })

const added = (cid: Ids.ConversationId, user: string) =>
  ({
    id: id(),
    tenantId: tenant,
    conversationId: cid,
    at: 0,
    type: "member.added",
    data: { userId: u(user), role: "member" },
  }) as unknown as Event.Event
const removed = (cid: Ids.ConversationId, user: string) =>
  ({
    id: id(),
    tenantId: tenant,
    conversationId: cid,
    at: 0,
    type: "member.removed",
    data: { userId: u(user) },
  }) as unknown as Event.Event
const message = (cid: Ids.ConversationId) =>
  ({
    id: id(),
    tenantId: tenant,
    conversationId: cid,
    at: 0,
    type: "receipt.read",
    data: { userId: u("x"), seq: 1 },
  }) as unknown as Event.Event

const load = (
  index: MembershipIndex,
  user: string,
  conversations: ReadonlyArray<Conversation.Conversation>,
) => {
  const token = index.beginLoad()
  index.completeLoad(token, tenant, conversations, { user: u(user) })
}

describe("MembershipIndex", () => {
  it("routes a conversation's events to its loaded members only", () => {
    const index = new MembershipIndex()
    load(index, "ann", [conversation(c1, ["ann", "bob", "cid"])])
    load(index, "bob", [conversation(c1, ["ann", "bob", "cid"])])
    expect([...index.route(message(c1)).recipients]).toEqual(["ann", "bob"])
    expect([...index.route(message("c2" as Ids.ConversationId)).recipients]).toEqual([])
    expect(index.localContactsOf(tenant, u("cid"))).toEqual(["ann", "bob"])
    // Groups above the presence limit are left out.
    expect(index.localContactsOf(tenant, u("cid"), 2)).toEqual([])
  })

  it("gives a removed member the removal, then nothing; an added one everything after", () => {
    const index = new MembershipIndex()
    load(index, "ann", [conversation(c1, ["ann", "bob"])])
    load(index, "bob", [conversation(c1, ["ann", "bob"])])
    expect([...index.route(removed(c1, "bob")).recipients]).toEqual(["ann", "bob"])
    expect([...index.route(message(c1)).recipients]).toEqual(["ann"])
    expect([...index.route(added(c1, "bob")).recipients]).toEqual(["ann", "bob"])
    expect([...index.route(message(c1)).recipients]).toEqual(["ann", "bob"])
  })

  it("asks for a conversation it did not hold when a local user joins it", () => {
    const index = new MembershipIndex()
    load(index, "dan", [])
    const routing = index.route(added(c1, "dan"))
    expect([...routing.recipients]).toEqual(["dan"])
    expect(routing.fetch).toBe(c1)
    const token = index.beginLoad()
    index.completeLoad(token, tenant, [conversation(c1, ["ann", "bob", "dan"])], { replace: true })
    expect([...index.localContactsOf(tenant, u("dan"))]).toEqual([])
    expect(index.isMember(tenant, c1, u("ann"))).toBe(true)
  })

  it("forgets a conversation when its last local member leaves", () => {
    const index = new MembershipIndex()
    load(index, "ann", [conversation(c1, ["ann", "bob"])])
    expect(index.size).toBe(1)
    index.unload(tenant, u("ann"))
    expect(index.size).toBe(0)
    expect([...index.route(message(c1)).recipients]).toEqual([])
  })

  it("ends where the events leave it, whenever the load's snapshot was taken", () => {
    const users = ["ann", "bob", "cid", "dan"]
    const op = fc.record({ add: fc.boolean(), user: fc.constantFrom(...users) })
    fc.assert(
      fc.property(
        fc.array(op, { minLength: 1, maxLength: 40 }),
        fc.nat(),
        fc.nat(),
        (ops, snapshotAt, beginAt) => {
          const events = ops.map((o) => (o.add ? added(c1, o.user) : removed(c1, o.user)))
          // The truth after k events, starting from ann alone.
          const membersAfter = (k: number) => {
            const set = new Set(["ann"])
            for (const o of ops.slice(0, k)) o.add ? set.add(o.user) : set.delete(o.user)
            return set
          }
          const begin = beginAt % (events.length + 1)
          // The snapshot reflects some commit at or after the load began (it is read after beginLoad).
          const snap = begin + (snapshotAt % (events.length - begin + 1))
          const index = new MembershipIndex()
          // bob is connected from the start and keeps the conversation indexed only if he is a member.
          for (let i = 0; i < begin; i++) index.route(events[i]!)
          const token = index.beginLoad()
          for (let i = begin; i < events.length; i++) index.route(events[i]!)
          const atSnapshot = membersAfter(snap)
          // The store lists only the conversations ann is a member of at the snapshot.
          const fetch = index.completeLoad(
            token,
            tenant,
            atSnapshot.has("ann") ? [conversation(c1, [...atSnapshot])] : [],
            { user: u("ann") },
          )
          const truth = membersAfter(events.length)
          // A conversation ann joined after the snapshot is fetched; that read comes later still.
          for (const cid of fetch) {
            const t = index.beginLoad()
            index.completeLoad(t, tenant, [conversation(cid, [...truth])], { replace: true })
          }
          if (truth.has("ann"))
            for (const user of users) expect(index.isMember(tenant, c1, u(user))).toBe(truth.has(user))
          else expect(index.isMember(tenant, c1, u("ann"))).toBe(false)
        },
      ),
    )
  })
})
