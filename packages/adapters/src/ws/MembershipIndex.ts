import type { Conversation, Event, Ids } from "@chat4all/domain"

const key = (tenantId: string, id: string) => `${tenantId}\u0000${id}`

const empty: ReadonlySet<Ids.UserId> = new Set()

/** What routing one event needs: the local users it goes to, and a conversation to fetch, if any. */
export interface Routing {
  readonly recipients: ReadonlyArray<Ids.UserId> | ReadonlySet<Ids.UserId>
  /** A local user joined a conversation this node did not know: fetch it for its other members. */
  readonly fetch?: Ids.ConversationId | undefined
}

const isMembership = (event: Event.Event) =>
  event.type === "member.added" ||
  event.type === "member.removed" ||
  event.type === "conversation.created" ||
  event.type === "conversation.updated"

/**
 * The memberships this node needs to route events: every conversation that a user connected here is a
 * member of, with all its members. Loaded from the store when a user's first session starts, then kept
 * current from the `member.*` and `conversation.*` events going by, so routing an event needs no read.
 *
 * A load races with events: it reads a snapshot while events are routed. Membership events routed
 * while any load is in flight are journaled and applied again on top of the snapshot when it lands;
 * set operations applied in order converge, so the index ends where the events leave it.
 */
export class MembershipIndex {
  private readonly members = new Map<string, Set<Ids.UserId>>()
  private readonly conversationsOf = new Map<string, Set<Ids.ConversationId>>()
  private readonly loaded = new Set<string>()
  /** Per conversation, its loaded (local) members: routing reads them; without any it is dropped. */
  private readonly local = new Map<string, Set<Ids.UserId>>()
  private readonly journal: Array<{ readonly n: number; readonly event: Event.Event }> = []
  private journalSeq = 0
  private loadsInFlight = 0
  /** While a journal is applied again, conversations stay even when they lose every local member. */
  private replaying = false

  /** Conversations indexed, for tests and the admin view. */
  get size(): number {
    return this.members.size
  }

  isLoaded(tenantId: Ids.TenantId, userId: Ids.UserId): boolean {
    return this.loaded.has(key(tenantId, userId))
  }

  isMember(tenantId: Ids.TenantId, conversationId: Ids.ConversationId, userId: Ids.UserId): boolean {
    return this.members.get(key(tenantId, conversationId))?.has(userId) === true
  }

  /** The loaded users of a conversation. */
  localMembers(tenantId: Ids.TenantId, conversationId: Ids.ConversationId): ReadonlyArray<Ids.UserId> {
    const set = this.local.get(key(tenantId, conversationId))
    return set === undefined ? [] : Array.from(set)
  }

  /** The same, without a copy: for routing, which reads it at once (do not keep it). */
  localMembersView(tenantId: Ids.TenantId, conversationId: Ids.ConversationId): ReadonlySet<Ids.UserId> {
    return this.local.get(key(tenantId, conversationId)) ?? empty
  }

  /**
   * The loaded users who share a conversation of at most `maxMembers` members with `userId`, without
   * them. (Presence in a group of thousands would be a frame to each member for each member that comes
   * and goes: such groups read presence on demand instead.)
   */
  localContactsOf(
    tenantId: Ids.TenantId,
    userId: Ids.UserId,
    maxMembers = Number.POSITIVE_INFINITY,
  ): ReadonlyArray<Ids.UserId> {
    const out = new Set<Ids.UserId>()
    for (const c of this.conversationsOf.get(key(tenantId, userId)) ?? []) {
      const members = this.members.get(key(tenantId, c))
      if (members === undefined || members.size > maxMembers) continue
      for (const u of members) if (u !== userId && this.loaded.has(key(tenantId, u))) out.add(u)
    }
    return [...out]
  }

  /** Starts a load; the token says from where the journal must be applied again. */
  beginLoad(): number {
    this.loadsInFlight++
    return this.journalSeq
  }

  /**
   * Lands a snapshot: conversations the index does not hold yet (or, with `replace`, even when it does)
   * take their members from it; `user` becomes loaded; then every membership event journaled since the
   * token is applied again (a user joining a conversation after the snapshot was read is caught here).
   * Answers the conversations a local user joined that must be fetched for their other members.
   */
  completeLoad(
    token: number,
    tenantId: Ids.TenantId,
    conversations: ReadonlyArray<Conversation.Conversation>,
    options: { readonly user?: Ids.UserId | undefined; readonly replace?: boolean | undefined } = {},
  ): ReadonlyArray<Ids.ConversationId> {
    if (options.user !== undefined) this.markLoaded(tenantId, options.user)
    for (const conversation of conversations) {
      if (this.members.has(key(tenantId, conversation.id)) && options.replace !== true) continue
      this.setMembers(
        tenantId,
        conversation.id,
        conversation.members.map((m) => m.userId),
      )
    }
    const fetch = new Set<Ids.ConversationId>()
    const seen: Array<Event.Event> = []
    this.replaying = true
    try {
      for (const entry of this.journal)
        if (entry.n > token) {
          seen.push(entry.event)
          const more = this.change(entry.event)
          if (more !== undefined && entry.event.tenantId === tenantId) fetch.add(more)
        }
    } finally {
      this.replaying = false
    }
    for (const conversation of conversations) this.dropIfUnused(tenantId, conversation.id)
    for (const event of seen) this.dropIfUnused(event.tenantId, event.conversationId)
    this.endLoad()
    return [...fetch].filter((c) => this.members.has(key(tenantId, c)))
  }

  /** A load that failed: nothing lands, the journal is released. */
  cancelLoad(): void {
    this.endLoad()
  }

  /** The user's last session closed: forget conversations no loaded user is a member of any more. */
  unload(tenantId: Ids.TenantId, userId: Ids.UserId): void {
    const u = key(tenantId, userId)
    if (!this.loaded.delete(u)) return
    for (const c of [...(this.conversationsOf.get(u) ?? [])]) {
      this.local.get(key(tenantId, c))?.delete(userId)
      this.dropIfUnused(tenantId, c)
    }
  }

  /** Updates the index from an event and says which loaded users it goes to. */
  route(event: Event.Event): Routing {
    if (this.loadsInFlight > 0 && isMembership(event)) this.journal.push({ n: ++this.journalSeq, event })
    const { tenantId, conversationId } = event
    if (event.type === "member.removed") {
      const before = this.localMembers(tenantId, conversationId)
      const removed = event.data.userId
      const recipients =
        this.isLoaded(tenantId, removed) && !before.includes(removed) ? [...before, removed] : before
      this.change(event)
      return { recipients }
    }
    // Only membership events change the index; the others go to the members as they are.
    const fetch = isMembership(event) ? this.change(event) : undefined
    return { recipients: this.localMembersView(tenantId, conversationId), fetch }
  }

  /** Applies a membership event; answers a conversation to fetch when only part of it is known. */
  private change(event: Event.Event): Ids.ConversationId | undefined {
    const { tenantId, conversationId } = event
    const k = key(tenantId, conversationId)
    switch (event.type) {
      case "conversation.created":
      case "conversation.updated": {
        const ids = event.data.conversation.members.map((m) => m.userId)
        if (this.members.has(k) || ids.some((u) => this.isLoaded(tenantId, u)))
          this.setMembers(tenantId, conversationId, ids)
        return undefined
      }
      case "member.added": {
        const userId = event.data.userId
        const current = this.members.get(k)
        if (current !== undefined) {
          if (!current.has(userId)) this.setMembers(tenantId, conversationId, [...current, userId])
          return undefined
        }
        if (!this.isLoaded(tenantId, userId)) return undefined
        this.setMembers(tenantId, conversationId, [userId])
        return conversationId
      }
      case "member.removed": {
        const current = this.members.get(k)
        if (current?.has(event.data.userId))
          this.setMembers(
            tenantId,
            conversationId,
            [...current].filter((u) => u !== event.data.userId),
          )
        return undefined
      }
      default:
        return undefined
    }
  }

  private markLoaded(tenantId: Ids.TenantId, userId: Ids.UserId) {
    const u = key(tenantId, userId)
    if (this.loaded.has(u)) return
    this.loaded.add(u)
    for (const c of this.conversationsOf.get(u) ?? []) this.localSet(key(tenantId, c)).add(userId)
  }

  private localSet(k: string): Set<Ids.UserId> {
    let set = this.local.get(k)
    if (set === undefined) {
      set = new Set()
      this.local.set(k, set)
    }
    return set
  }

  private setMembers(
    tenantId: Ids.TenantId,
    conversationId: Ids.ConversationId,
    ids: ReadonlyArray<Ids.UserId>,
  ) {
    const k = key(tenantId, conversationId)
    const next = new Set(ids)
    const previous = this.members.get(k) ?? new Set<Ids.UserId>()
    const local = this.localSet(k)
    for (const u of previous)
      if (!next.has(u)) {
        const mine = this.conversationsOf.get(key(tenantId, u))
        mine?.delete(conversationId)
        if (mine?.size === 0) this.conversationsOf.delete(key(tenantId, u))
        local.delete(u)
      }
    for (const u of next)
      if (!previous.has(u)) {
        let set = this.conversationsOf.get(key(tenantId, u))
        if (set === undefined) {
          set = new Set()
          this.conversationsOf.set(key(tenantId, u), set)
        }
        set.add(conversationId)
        if (this.isLoaded(tenantId, u)) local.add(u)
      }
    this.members.set(k, next)
    this.dropIfUnused(tenantId, conversationId)
  }

  private dropIfUnused(tenantId: Ids.TenantId, conversationId: Ids.ConversationId) {
    const k = key(tenantId, conversationId)
    if (this.replaying || (this.local.get(k)?.size ?? 0) > 0) return
    for (const u of this.members.get(k) ?? []) {
      const set = this.conversationsOf.get(key(tenantId, u))
      set?.delete(conversationId)
      if (set?.size === 0) this.conversationsOf.delete(key(tenantId, u))
    }
    this.members.delete(k)
    this.local.delete(k)
  }

  private endLoad() {
    this.loadsInFlight = Math.max(0, this.loadsInFlight - 1)
    if (this.loadsInFlight === 0) this.journal.length = 0
  }
}
