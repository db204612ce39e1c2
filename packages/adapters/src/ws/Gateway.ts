import { randomUUID } from "node:crypto"
import type { IncomingMessage } from "node:http"
import type { Duplex } from "node:stream"
import {
  type Caller,
  type ConversationActor,
  ConversationStore,
  type Conversation as DomainConversation,
  type Event,
  EventLog,
  Fanout,
  type IdGenerator,
  type Ids,
  type Message,
  type MessageStore,
  Messages,
  Presence,
  Receipts,
} from "@chat4all/domain"
import {
  Cause,
  Context,
  Data,
  Deferred,
  Effect,
  Either,
  Exit,
  Layer,
  Metric,
  Option,
  Queue,
  Runtime,
} from "effect"
import WebSocket, { WebSocketServer } from "ws"
import { MembershipIndex } from "./MembershipIndex.js"
import * as Protocol from "./Protocol.js"
import {
  defaultSequencerOptions,
  type Released,
  type SequencerOptions,
  TenantSequencer,
} from "./Sequencer.js"
import { RoutedEvent, Session, type SessionCounters } from "./Session.js"
import { type Signal, Signals } from "./Signals.js"

/** Who a token authenticates, and until when. */
export interface Authenticated {
  readonly caller: Caller.Caller
  /** Epoch ms when the token expires: the session is closed with 4001 then. */
  readonly expiresAt?: number | undefined
}

/** A token that authenticates nobody: the connection is closed with 4001 and this reason. */
export class Unauthorized extends Data.TaggedError("Unauthorized")<{ readonly reason: string }> {}

/** An error a command can answer with: the stable `code` of API.md and a message. */
export interface CommandFailure {
  readonly code: string
  readonly message: string
}

/** What the app supplies: how tokens are checked and how things look on the wire. */
export interface Hooks {
  readonly authenticate: (token: string) => Effect.Effect<Authenticated, Unauthorized>
  /** The Event as the HTTP API renders it (ISO times, same fields): serialized once per event. */
  readonly encodeEvent: (event: Event.Event) => unknown
  /** The Message as the HTTP API renders it, for the reply to a send. */
  readonly encodeMessage: (message: Message.Message) => unknown
  /** Runs before every send, e.g. the app's per-user send rate limit; a failure answers the send. */
  readonly beforeSend?: (
    caller: Caller.Caller,
    conversationId: Ids.ConversationId,
  ) => Effect.Effect<void, CommandFailure>
}

export interface Options {
  /** Server pings at this interval; two unanswered in a row close the connection. Told in the welcome. */
  readonly heartbeatMs: number
  readonly maxBufferedBytes: number
  readonly maxPendingEvents: number
  /** Frames per second per connection and the burst above it; undefined turns the limit off. */
  readonly rateLimit: { readonly perSecond: number; readonly burst: number } | undefined
  /** Malformed frames tolerated within `badFrameWindowMs` before the connection is closed with 1008. */
  readonly maxBadFrames: number
  readonly badFrameWindowMs: number
  /** A typing start lapses after this long without renewal. */
  readonly typingTtlMs: number
  /** The presence TTL a connected user's heartbeat holds (renewed at a third of it). */
  readonly presenceTtlMs: number
  /**
   * Presence frames go to the members of a user's conversations of at most this many members; larger
   * groups read presence with `GET /v1/presence` (a frame per member per member would not scale).
   */
  readonly presenceMaxMembers: number
  readonly replayPageSize: number
  readonly closeGraceMs: number
  /** After a routing round this long (ms), the router waits `coalesceMs` so that events batch up. */
  readonly coalesceAfterMs: number
  readonly coalesceMs: number
  readonly sequencer: SequencerOptions
}

export const defaults: Options = {
  heartbeatMs: 25_000,
  maxBufferedBytes: 1024 * 1024,
  maxPendingEvents: 10_000,
  rateLimit: { perSecond: 20, burst: 60 },
  maxBadFrames: 5,
  badFrameWindowMs: 60_000,
  typingTtlMs: 6_000,
  presenceTtlMs: 60_000,
  presenceMaxMembers: 100,
  replayPageSize: 200,
  closeGraceMs: 5_000,
  coalesceAfterMs: 4,
  coalesceMs: 2,
  sequencer: defaultSequencerOptions,
}

export interface SessionInfo {
  readonly sessionId: string
  readonly tenantId: string
  readonly userId: string
  readonly connectedAt: number
  readonly rttMs: number | undefined
  readonly bufferedBytes: number
  readonly remoteAddress: string | undefined
  readonly phase: string
}

export interface Stats extends SessionCounters {
  readonly sessions: number
  readonly conversationsIndexed: number
}

/** The realtime gateway: WebSocket sessions fed from the fanout, on the app's HTTP server. */
export class Gateway extends Context.Tag("@chat4all/adapters/ws/Gateway")<
  Gateway,
  {
    /** Takes an HTTP upgrade request for the WebSocket endpoint (the caller matched the path). */
    readonly handleUpgrade: (request: IncomingMessage, socket: Duplex, head: Buffer) => void
    readonly sessions: Effect.Effect<ReadonlyArray<SessionInfo>>
    readonly stats: Effect.Effect<Stats>
    /** Closes every session with 1012 and refuses new ones; the layer does it when it closes. */
    readonly shutdown: Effect.Effect<void>
  }
>() {}

/** The services the gateway calls: the fanout and signals in, the use cases and stores for commands. */
export type Requirements =
  | Fanout.Fanout
  | Signals
  | EventLog.EventLog
  | ConversationStore.ConversationStore
  | Presence.Presence
  | ConversationActor.ConversationActor
  | IdGenerator.IdGenerator
  | MessageStore.MessageStore

const userKey = (tenantId: string, userId: string) => `${tenantId}\u0000${userId}`

/** Sessions by tenant and user (nested maps: routing looks users up without building keys). */
class SessionsByUser {
  private readonly tenants = new Map<Ids.TenantId, Map<Ids.UserId, Set<Session>>>()

  get(tenantId: Ids.TenantId, userId: Ids.UserId): Set<Session> | undefined {
    return this.tenants.get(tenantId)?.get(userId)
  }

  /** Adds a session; answers how many the user has now. */
  add(session: Session): number {
    let users = this.tenants.get(session.tenantId)
    if (users === undefined) {
      users = new Map()
      this.tenants.set(session.tenantId, users)
    }
    let mine = users.get(session.userId)
    if (mine === undefined) {
      mine = new Set()
      users.set(session.userId, mine)
    }
    mine.add(session)
    return mine.size
  }

  /** Removes a session; answers how many the user has left (-1 when it was not there). */
  delete(session: Session): number {
    const users = this.tenants.get(session.tenantId)
    const mine = users?.get(session.userId)
    if (users === undefined || mine === undefined || !mine.delete(session)) return -1
    if (mine.size > 0) return mine.size
    users.delete(session.userId)
    if (users.size === 0) this.tenants.delete(session.tenantId)
    return 0
  }

  /** One session of every user. */
  *oneOfEachUser(): Generator<Session> {
    for (const users of this.tenants.values())
      for (const mine of users.values()) {
        const first = mine.values().next()
        if (first.done !== true) yield first.value
      }
  }
}

/** Sends a session may queue before it is cut off (their order is kept, so they run one at a time). */
const maxSendsInFlight = 256

/** The bearer token of an upgrade request: the Authorization header, else `?access_token=`. */
export const tokenOf = (request: IncomingMessage, url: URL): string | undefined => {
  const header = request.headers.authorization
  if (header !== undefined) {
    const match = /^Bearer\s+(\S+)\s*$/i.exec(header)
    return match?.[1]
  }
  return url.searchParams.get("access_token") ?? undefined
}

/**
 * A copy of a string that does not keep a larger one alive: values cut from the upgrade URL are slices
 * of it, and whatever a connection keeps stays in memory as long as the connection.
 */
const detached = (value: string): string => Buffer.from(value, "utf8").toString("utf8")

/** Listeners without closures, so they keep nothing of the handshake alive. */
function destroyOnError(this: Duplex) {
  this.destroy()
}
function terminateOnError(this: WebSocket) {
  this.terminate()
}

const positionOf = (cursor: string): number | undefined =>
  /^[0-9]{1,15}$/.test(cursor) ? Number(cursor) : undefined

/** A domain error (or anything else) as the `{ code, message }` of a failed reply. */
const failureOf = (error: unknown): CommandFailure => {
  if (error !== null && typeof error === "object") {
    const e = error as { code?: unknown; message?: unknown; field?: unknown }
    if (typeof e.code === "string") {
      const message = typeof e.message === "string" && e.message !== "" ? e.message : e.code
      // Validation errors name the field, as the HTTP API's problems do.
      return { code: e.code, message: typeof e.field === "string" ? `${e.field}: ${message}` : message }
    }
  }
  return { code: "internal_error", message: "the command failed on the server" }
}

const wsSessions = Metric.gauge("chat4all_ws_sessions", {
  description: "WebSocket sessions open on this node",
})
const wsFramesOut = Metric.counter("chat4all_ws_frames_out_total", {
  description: "Frames sent to WebSocket clients",
  incremental: true,
})
const wsEventWrites = Metric.counter("chat4all_ws_event_writes_total", {
  description: "Socket writes carrying event frames (several frames per write when a session has a backlog)",
  incremental: true,
})
const wsSlowConsumers = Metric.counter("chat4all_ws_slow_consumers_total", {
  description: "Connections closed (4008) for holding too much unsent data",
  incremental: true,
})

/**
 * Starts the gateway in the current scope: the router (fanout -> per-tenant order -> membership index ->
 * sessions), the signal router (typing, presence), heartbeats and timers. Closing the scope closes every
 * session with 1012.
 */
export const make = (hooks: Hooks, options: Options = defaults) =>
  Effect.gen(function* () {
    const runtime = yield* Effect.runtime<Requirements>()
    const runFork = Runtime.runFork(runtime)
    const fanout = yield* Fanout.Fanout
    const signals = yield* Signals
    const log = yield* EventLog.EventLog
    const store = yield* ConversationStore.ConversationStore
    const presence = yield* Presence.Presence

    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: Protocol.maxFrameBytes,
      perMessageDeflate: false,
      clientTracking: false,
    })
    const sessions = new Map<string, Session>()
    /** Every open connection, sessions or not yet: shutdown waits for their close handshakes. */
    const sockets = new Set<WebSocket>()
    const byUser = new SessionsByUser()
    const sequencers = new Map<Ids.TenantId, { sequencer: TenantSequencer; sessions: number }>()
    const loading = new Map<string, Deferred.Deferred<void, CommandFailure>>()
    const index = new MembershipIndex()
    const typing = new Map<
      string,
      {
        readonly tenantId: Ids.TenantId
        readonly conversationId: Ids.ConversationId
        readonly userId: Ids.UserId
        expiresAt: number
      }
    >()
    const counters: SessionCounters = { framesOut: 0, eventWrites: 0, bytesOut: 0, slowConsumers: 0 }
    let closing = false

    const encode = (released: Released) => JSON.stringify(hooks.encodeEvent(released.event))

    /** Sessions with event frames queued this round; `flushAll` writes them once the round is routed. */
    let dirty: Array<Session> = []
    const markDirty = (session: Session) => {
      dirty.push(session)
    }
    const flushAll = () => {
      const sessions = dirty
      dirty = []
      for (const session of sessions) session.flush()
    }

    // --- routing ---------------------------------------------------------------------------------

    const sessionsOf = (tenantId: Ids.TenantId, userId: Ids.UserId) => byUser.get(tenantId, userId)

    const dispatch = (released: Released) => {
      const routing = index.route(released.event)
      if (routing.fetch !== undefined) runFork(fetchConversation(released.event.tenantId, routing.fetch))
      const recipients = routing.recipients
      if (
        (Array.isArray(recipients) ? recipients.length : (recipients as ReadonlySet<Ids.UserId>).size) === 0
      )
        return
      const routed = new RoutedEvent(released, encode)
      const tenantId = released.event.tenantId
      for (const userId of recipients) {
        const mine = sessionsOf(tenantId, userId)
        if (mine !== undefined) for (const session of mine) session.deliver(routed)
      }
    }

    const onEvent = (event: Event.Event) => {
      const entry = sequencers.get(event.tenantId)
      if (entry === undefined) return
      for (const released of entry.sequencer.offer(event, Date.now())) dispatch(released)
    }

    /** A local user joined a conversation this node did not hold: learn its other members. */
    const fetchConversation = (tenantId: Ids.TenantId, conversationId: Ids.ConversationId) =>
      Effect.gen(function* () {
        const token = index.beginLoad()
        const found = yield* store
          .get(tenantId, conversationId)
          .pipe(Effect.tapErrorCause(() => Effect.sync(() => index.cancelLoad())))
        const more = index.completeLoad(token, tenantId, Option.toArray(found), { replace: true })
        for (const c of more) if (c !== conversationId) runFork(fetchConversation(tenantId, c))
      }).pipe(
        Effect.catchAllCause((cause) =>
          Effect.logWarning(
            `ws: could not read conversation ${conversationId} for the membership index`,
            cause,
          ),
        ),
      )

    /** Every conversation of a user, into the index (once per user, however many sessions start). */
    const loadUser = (tenantId: Ids.TenantId, userId: Ids.UserId) =>
      Effect.gen(function* () {
        const k = userKey(tenantId, userId)
        if (index.isLoaded(tenantId, userId)) return
        const inFlight = loading.get(k)
        if (inFlight !== undefined) return yield* Deferred.await(inFlight)
        const done = yield* Deferred.make<void, CommandFailure>()
        loading.set(k, done)
        const token = index.beginLoad()
        const read = Effect.gen(function* () {
          const conversations: Array<DomainConversation.Conversation> = []
          let cursor: string | undefined
          let pages = 0
          do {
            const page = yield* store.listForUser(tenantId, userId, { limit: 200, cursor })
            for (const item of page.items) conversations.push(item.conversation)
            cursor = page.nextCursor
            pages++
          } while (cursor !== undefined && pages < 10_000)
          // Paging goes by activity: a conversation that became the latest while we paged moved to the
          // first page; read it again so none is missed.
          if (pages > 1) {
            const first = yield* store.listForUser(tenantId, userId, { limit: 200, cursor: undefined })
            for (const item of first.items) conversations.push(item.conversation)
          }
          return conversations
        })
        const outcome = yield* Effect.either(read)
        if (Either.isLeft(outcome)) {
          index.cancelLoad()
          const failure = failureOf(outcome.left)
          yield* Deferred.fail(done, failure)
          loading.delete(k)
          return yield* Effect.fail(failure)
        }
        for (const c of index.completeLoad(token, tenantId, outcome.right, { user: userId }))
          runFork(fetchConversation(tenantId, c))
        // Every session of the user may have gone while we read.
        if ((byUser.get(tenantId, userId)?.size ?? 0) === 0) index.unload(tenantId, userId)
        loading.delete(k)
        yield* Deferred.succeed(done, undefined)
      })

    // --- signals ---------------------------------------------------------------------------------

    const sendTo = (tenantId: Ids.TenantId, userIds: ReadonlyArray<Ids.UserId>, frame: Buffer) => {
      for (const userId of userIds)
        for (const session of sessionsOf(tenantId, userId) ?? [])
          if (session.phase === "live") session.send(frame)
    }

    const typingKey = (tenantId: string, conversationId: string, userId: string) =>
      `${tenantId}\u0000${conversationId}\u0000${userId}`

    const onSignal = (signal: Signal) => {
      switch (signal._tag) {
        case "typing": {
          const k = typingKey(signal.tenantId, signal.conversationId, signal.userId)
          if (signal.state === "start") {
            const known = typing.get(k)
            const expiresAt = Date.now() + options.typingTtlMs
            if (known !== undefined) known.expiresAt = expiresAt
            else typing.set(k, { ...signal, expiresAt })
          } else typing.delete(k)
          const recipients = index
            .localMembers(signal.tenantId, signal.conversationId)
            .filter((u) => u !== signal.userId)
          if (recipients.length > 0)
            sendTo(
              signal.tenantId,
              recipients,
              Buffer.from(Protocol.typing(signal.conversationId, signal.userId, signal.state)),
            )
          return
        }
        case "presence": {
          const recipients = index.localContactsOf(signal.tenantId, signal.userId, options.presenceMaxMembers)
          if (recipients.length > 0)
            sendTo(
              signal.tenantId,
              recipients,
              Buffer.from(Protocol.presence(signal.userId, signal.status, signal.lastSeen)),
            )
          // Another node saw this user's last session there close; they are still connected here.
          if (
            signal.status === "offline" &&
            (sessionsOf(signal.tenantId, signal.userId)?.size ?? 0) > 0 &&
            !closing
          )
            runFork(goOnline(signal.tenantId, signal.userId))
          return
        }
      }
    }

    const goOnline = (tenantId: Ids.TenantId, userId: Ids.UserId) =>
      presence.heartbeat(tenantId, userId, "online", options.presenceTtlMs).pipe(
        Effect.flatMap((state) =>
          signals.publish({ _tag: "presence", tenantId, userId, status: "online", lastSeen: state.lastSeen }),
        ),
        Effect.catchAllCause((cause) => Effect.logWarning(`ws: presence of ${userId} not updated`, cause)),
      )

    const goOffline = (tenantId: Ids.TenantId, userId: Ids.UserId) =>
      presence.offline(tenantId, userId).pipe(
        Effect.flatMap((state) =>
          signals.publish({
            _tag: "presence",
            tenantId,
            userId,
            status: "offline",
            lastSeen: state.lastSeen,
          }),
        ),
        Effect.catchAllCause((cause) => Effect.logWarning(`ws: presence of ${userId} not updated`, cause)),
      )

    // --- sessions ----------------------------------------------------------------------------------

    const register = (session: Session) => {
      sessions.set(session.id, session)
      const count = byUser.add(session)
      let entry = sequencers.get(session.tenantId)
      if (entry === undefined) {
        entry = { sequencer: new TenantSequencer(options.sequencer), sessions: 0 }
        sequencers.set(session.tenantId, entry)
      }
      entry.sessions++
      return count === 1
    }

    const unregister = (session: Session) => {
      if (!sessions.delete(session.id)) return
      const lastOfUser = byUser.delete(session) === 0
      if (lastOfUser) index.unload(session.tenantId, session.userId)
      const entry = sequencers.get(session.tenantId)
      if (entry !== undefined && --entry.sessions === 0) sequencers.delete(session.tenantId)
      for (const conversationId of session.typing?.keys() ?? [])
        runFork(
          signals.publish({
            _tag: "typing",
            tenantId: session.tenantId,
            conversationId,
            userId: session.userId,
            state: "stop",
          }),
        )
      if (lastOfUser && !closing) runFork(goOffline(session.tenantId, session.userId))
    }

    /** Sends replayed frames at the pace the client reads them (never past half the send buffer). */
    const whenDrained = (session: Session) =>
      Effect.gen(function* () {
        const deadline = Date.now() + 30_000
        while (session.open && session.ws.bufferedAmount > options.maxBufferedBytes / 2) {
          if (Date.now() > deadline) {
            session.close(Protocol.CloseCode.tryAgainLater, "slow consumer: the replay is not being read")
            return
          }
          yield* Effect.sleep("10 millis")
        }
      })

    /** Everything after `from` from the event log, then `resumed`; answers the cursor it ended at. */
    const replay = (session: Session, from: string) =>
      Effect.gen(function* () {
        session.phase = "replaying"
        const replayed = new Set<string>()
        let cursor = from
        for (;;) {
          const batch = yield* log.since(session.tenantId, session.userId, cursor, options.replayPageSize)
          for (let i = 0; i < batch.events.length; i++) {
            const event = batch.events[i]!
            replayed.add(event.id)
            const last = i === batch.events.length - 1
            // Without positions a cursor exists only at page ends; before that the page's start is safe.
            const after =
              event.position !== undefined ? String(event.position) : last ? batch.nextCursor : cursor
            const frame = Protocol.eventFrame(JSON.stringify(hooks.encodeEvent(event)), after)
            // At the client's pace: never more than half the send buffer waiting, whatever the page size.
            if (session.ws.bufferedAmount + frame.length > options.maxBufferedBytes / 2) {
              yield* whenDrained(session)
              if (!session.open) return undefined
            }
            if (!session.send(frame)) return undefined
            session.cursor = after
          }
          cursor = batch.nextCursor
          session.cursor = cursor
          if (!batch.hasMore) break
        }
        session.replayedIds = replayed
        return cursor
      })

    const start = (session: Session, resumeFrom: string | undefined, firstOfUser: boolean) =>
      Effect.gen(function* () {
        yield* loadUser(session.tenantId, session.userId)
        if (!session.open) return
        let cursor: string
        if (resumeFrom === undefined) {
          cursor = yield* log.head(session.tenantId)
          session.cursor = cursor
          session.send(Protocol.welcome(session.id, session.userId, options.heartbeatMs, cursor))
        } else {
          session.cursor = resumeFrom
          session.send(Protocol.welcome(session.id, session.userId, options.heartbeatMs, resumeFrom))
          const ended = yield* replay(session, resumeFrom)
          if (ended === undefined) return
          cursor = ended
          session.send(Protocol.resumed(cursor))
        }
        session.startPosition = positionOf(cursor)
        const entry = sequencers.get(session.tenantId)
        if (entry !== undefined && session.startPosition !== undefined)
          for (const released of entry.sequencer.start(session.startPosition, Date.now())) dispatch(released)
        session.goLive()
        flushAll()
        if (firstOfUser) yield* goOnline(session.tenantId, session.userId)
      }).pipe(
        Effect.catchAll((error) =>
          Effect.sync(() => {
            if (error instanceof EventLog.InvalidCursor) {
              session.send(Protocol.error("invalid_request", error.message))
              session.close(Protocol.CloseCode.policyViolation, "invalid cursor")
            } else {
              const failure = failureOf(error)
              session.send(Protocol.error(failure.code, failure.message))
              session.close(1011, "the session could not start; reconnect with your cursor")
            }
          }),
        ),
        Effect.catchAllCause((cause) =>
          Effect.zipRight(
            Effect.logError("ws: a session failed to start", cause),
            Effect.sync(() => session.close(1011, "the session could not start; reconnect with your cursor")),
          ),
        ),
      )

    // --- commands ----------------------------------------------------------------------------------

    const answer = (
      session: Session,
      id: string | number | undefined,
      outcome: Exit.Exit<unknown, unknown>,
    ) => {
      if (id === undefined) {
        if (Exit.isFailure(outcome)) {
          const failure = Cause.failureOption(outcome.cause)
          const f = Option.isSome(failure) ? failureOf(failure.value) : failureOf(undefined)
          session.send(Protocol.error(f.code, f.message))
        }
        return
      }
      if (Exit.isSuccess(outcome)) session.send(Protocol.reply(id, outcome.value))
      else {
        const failure = Cause.failureOption(outcome.cause)
        if (Option.isNone(failure))
          runFork(Effect.logError("ws: a command failed unexpectedly", Cause.pretty(outcome.cause)))
        const f = Option.isSome(failure) ? failureOf(failure.value) : failureOf(undefined)
        session.send(Protocol.replyError(id, f.code, f.message))
      }
    }

    const run = <A, E>(
      session: Session,
      id: string | number | undefined,
      effect: Effect.Effect<A, E, Requirements>,
    ) =>
      new Promise<void>((resolve) => {
        const fiber = runFork(effect)
        fiber.addObserver((exit) => {
          answer(session, id, exit)
          resolve()
        })
      })

    const onCommand = (session: Session, command: Protocol.Command) => {
      const caller = session.caller
      switch (command.type) {
        case "ping":
          if (command.id !== undefined) session.send(Protocol.reply(command.id, { t: command.t ?? null }))
          else session.send(Protocol.pong(command.t))
          return
        case "send": {
          const { id, type: _type, conversationId, ...input } = command
          const effect = Effect.gen(function* () {
            if (hooks.beforeSend !== undefined) yield* hooks.beforeSend(caller, conversationId)
            const sent = yield* Messages.sendMessage(caller, conversationId, input)
            return hooks.encodeMessage(sent.message)
          })
          if (session.sendsInFlight >= maxSendsInFlight) {
            session.close(
              Protocol.CloseCode.tryAgainLater,
              `more than ${maxSendsInFlight} sends waiting for an answer; reconnect and send again`,
            )
            return
          }
          session.sendsInFlight++
          session.sendChain = session.sendChain.then(() =>
            run(session, id, effect).then(() => {
              session.sendsInFlight--
            }),
          )
          return
        }
        case "ack":
        case "read":
          void run(
            session,
            command.id,
            Receipts.recordReceipt(
              caller,
              command.conversationId,
              command.type === "ack" ? "delivered" : "read",
              command.seq,
            ).pipe(
              Effect.map((r) => ({
                conversationId: command.conversationId,
                seq: r.member[command.type === "ack" ? "deliveredSeq" : "readSeq"],
              })),
            ),
          )
          return
        case "typing": {
          if (!index.isMember(caller.tenantId, command.conversationId, caller.userId)) {
            const message = `${caller.userId} is not a member of conversation ${command.conversationId}`
            if (command.id !== undefined)
              session.send(Protocol.replyError(command.id, "not_a_member", message))
            else session.send(Protocol.error("not_a_member", message))
            return
          }
          const now = Date.now()
          session.typing ??= new Map()
          const last = session.typing.get(command.conversationId)
          const renewal =
            command.state === "start" && last !== undefined && now - last < options.typingTtlMs / 3
          if (command.state === "start") {
            if (!renewal) session.typing.set(command.conversationId, now)
          } else session.typing.delete(command.conversationId)
          if (!renewal)
            runFork(
              signals.publish({
                _tag: "typing",
                tenantId: caller.tenantId,
                conversationId: command.conversationId,
                userId: caller.userId,
                state: command.state,
              }),
            )
          if (command.id !== undefined) session.send(Protocol.reply(command.id, { state: command.state }))
          return
        }
      }
    }

    const onFrame = (session: Session, data: WebSocket.RawData, isBinary: boolean) => {
      if (session.phase === "closed") return
      if (options.rateLimit !== undefined) {
        const now = Date.now()
        session.tokens = Math.min(
          options.rateLimit.burst,
          session.tokens + ((now - session.tokensAt) * options.rateLimit.perSecond) / 1000,
        )
        session.tokensAt = now
        if (session.tokens < 1) {
          session.close(
            Protocol.CloseCode.tryAgainLater,
            `rate limit: more than ${options.rateLimit.perSecond} frames per second; reconnect with your last cursor`,
          )
          return
        }
        session.tokens -= 1
      }
      const parsed = isBinary
        ? Either.left<Protocol.FrameError>({
            code: "invalid_request",
            message: "frames must be JSON text, not binary",
          })
        : Protocol.parseCommand(data.toString())
      if (Either.isRight(parsed)) return onCommand(session, parsed.right)
      const now = Date.now()
      if (now - session.badFramesSince > options.badFrameWindowMs) {
        session.badFrames = 0
        session.badFramesSince = now
      }
      session.badFrames++
      const { id, code, message } = parsed.left
      session.send(id === undefined ? Protocol.error(code, message) : Protocol.replyError(id, code, message))
      if (session.badFrames >= options.maxBadFrames)
        session.close(Protocol.CloseCode.policyViolation, `${session.badFrames} malformed frames`)
    }

    // --- connections --------------------------------------------------------------------------------

    /** One limits object for every session. */
    const limits = {
      maxBufferedBytes: options.maxBufferedBytes,
      maxPendingEvents: options.maxPendingEvents,
      closeGraceMs: options.closeGraceMs,
    }

    /**
     * A connection after the handshake. It takes plain values, not the request: the listeners below live
     * as long as the connection, and whatever they can reach stays in memory that long.
     */
    const accept = (
      ws: WebSocket,
      token: string | undefined,
      resumeFrom: string | undefined,
      remoteAddress: string | undefined,
    ) => {
      ws.on("error", terminateOnError)
      sockets.add(ws)
      let early: Array<[WebSocket.RawData, boolean]> | undefined
      let session: Session | undefined
      ws.on("message", (data, isBinary) => {
        if (session !== undefined) return onFrame(session, data, isBinary)
        // Frames before the welcome wait for it (a few only).
        early ??= []
        if (early.length < 16) early.push([data, isBinary])
        else ws.close(Protocol.CloseCode.tryAgainLater, "wait for the welcome before sending")
      })
      ws.on("pong", () => {
        if (session === undefined) return
        session.missedPongs = 0
        if (session.pingSentAt > 0) session.rttMs = Date.now() - session.pingSentAt
      })
      ws.on("close", () => {
        sockets.delete(ws)
        session?.closed()
      })
      const authenticate =
        token === undefined || token === ""
          ? Effect.fail(
              new Unauthorized({ reason: "no token: send Authorization: Bearer <JWT> or ?access_token=" }),
            )
          : hooks.authenticate(token)
      runFork(
        authenticate.pipe(
          Effect.matchEffect({
            onFailure: (error) =>
              Effect.sync(() => ws.close(Protocol.CloseCode.unauthorized, error.reason.slice(0, 123))),
            onSuccess: (auth) =>
              Effect.suspend(() => {
                if (ws.readyState !== WebSocket.OPEN) return Effect.void
                if (closing) {
                  ws.close(Protocol.CloseCode.restart, "server shutting down")
                  return Effect.void
                }
                const s = new Session(
                  randomUUID(),
                  ws,
                  auth.caller,
                  Date.now(),
                  remoteAddress,
                  auth.expiresAt,
                  limits,
                  counters,
                  options.rateLimit?.burst ?? 0,
                )
                session = s
                s.onGone = unregister
                s.onQueued = markDirty
                const firstOfUser = register(s)
                const waiting = early ?? []
                early = undefined
                for (const [data, isBinary] of waiting) onFrame(s, data, isBinary)
                return start(s, resumeFrom, firstOfUser)
              }),
          }),
          Effect.catchAllCause((cause) =>
            Effect.zipRight(
              Effect.logError("ws: authentication failed unexpectedly", cause),
              Effect.sync(() => ws.close(1011, "authentication failed on the server; retry")),
            ),
          ),
        ),
      )
    }

    const handleUpgrade = (request: IncomingMessage, socket: Duplex, head: Buffer) => {
      // A peer that resets before the handshake completes must not take the process down.
      socket.on("error", destroyOnError)
      if (closing) {
        socket.end("HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nRetry-After: 1\r\n\r\n")
        return
      }
      const url = new URL(request.url ?? "/", "http://localhost")
      const found = tokenOf(request, url)
      const token = found === undefined ? undefined : detached(found)
      const cursor = url.searchParams.get("cursor")
      const resumeFrom = cursor === null ? undefined : detached(cursor)
      const remoteAddress = request.socket.remoteAddress
      wss.handleUpgrade(request, socket, head, (ws) => accept(ws, token, resumeFrom, remoteAddress))
    }

    // --- background work --------------------------------------------------------------------------

    // The router. A round that took long (a big room: a write per member) is followed by a short pause
    // before the next take, so that the events arriving meanwhile go out together: one write per session
    // for several events instead of one each. Quick rounds (small rooms, light load) never pause.
    const events = yield* fanout.subscribe.pipe(Effect.orDie)
    let lastRoundMs = 0
    yield* Effect.suspend(() =>
      lastRoundMs >= options.coalesceAfterMs ? Effect.sleep(options.coalesceMs) : Effect.void,
    ).pipe(
      Effect.zipRight(Queue.takeBetween(events, 1, 4096)),
      Effect.flatMap((chunk) =>
        Effect.sync(() => {
          const started = performance.now()
          for (const event of chunk)
            try {
              onEvent(event)
            } catch (defect) {
              runFork(Effect.logError(`ws: routing event ${event.id} (${event.type}) failed`, defect))
            }
          flushAll()
          lastRoundMs = performance.now() - started
        }),
      ),
      Effect.forever,
      Effect.forkScoped,
    )

    const signalQueue = yield* signals.subscribe
    yield* Queue.takeBetween(signalQueue, 1, 4096).pipe(
      Effect.flatMap((chunk) =>
        Effect.sync(() => {
          for (const signal of chunk)
            try {
              onSignal(signal)
            } catch (defect) {
              runFork(Effect.logError(`ws: routing a ${signal._tag} signal failed`, defect))
            }
        }),
      ),
      Effect.forever,
      Effect.forkScoped,
    )

    // Reorder windows, lapsed typing, and metrics: every 250 ms.
    let lastFrames = 0
    let lastWrites = 0
    let lastSlow = 0
    yield* Effect.sync(() => {
      const now = Date.now()
      for (const [tenantId, entry] of sequencers) {
        const { released, lost } = entry.sequencer.tick(now)
        if (lost > 0)
          runFork(
            Effect.logWarning(
              `ws: ${lost} event position(s) of tenant ${tenantId} never arrived; cursors move past them`,
            ),
          )
        for (const r of released) dispatch(r)
      }
      flushAll()
      for (const [k, t] of typing)
        if (t.expiresAt <= now) {
          typing.delete(k)
          const recipients = index.localMembers(t.tenantId, t.conversationId).filter((u) => u !== t.userId)
          if (recipients.length > 0)
            sendTo(t.tenantId, recipients, Buffer.from(Protocol.typing(t.conversationId, t.userId, "stop")))
        }
    }).pipe(
      Effect.zipRight(
        Effect.suspend(() => {
          const frames = counters.framesOut - lastFrames
          const writes = counters.eventWrites - lastWrites
          const slow = counters.slowConsumers - lastSlow
          lastFrames = counters.framesOut
          lastWrites = counters.eventWrites
          lastSlow = counters.slowConsumers
          return Effect.all([
            Metric.set(wsSessions, sessions.size),
            Metric.incrementBy(wsFramesOut, frames),
            Metric.incrementBy(wsEventWrites, writes),
            Metric.incrementBy(wsSlowConsumers, slow),
          ])
        }),
      ),
      Effect.zipRight(Effect.sleep("250 millis")),
      Effect.forever,
      Effect.forkScoped,
    )

    // Heartbeats: a ping per interval; the second one unanswered cuts the connection.
    yield* Effect.sync(() => {
      const now = Date.now()
      for (const session of sessions.values()) {
        if (session.expiresAt !== undefined && now >= session.expiresAt) {
          session.close(Protocol.CloseCode.unauthorized, "the token has expired; reconnect with a new one")
          continue
        }
        if (session.missedPongs >= 2) {
          session.ws.terminate()
          continue
        }
        if (session.ws.readyState !== WebSocket.OPEN) continue
        session.missedPongs++
        session.pingSentAt = now
        session.ws.ping()
      }
    }).pipe(Effect.zipRight(Effect.sleep(options.heartbeatMs)), Effect.forever, Effect.forkScoped)

    // Presence of connected users, renewed well within its TTL.
    yield* Effect.suspend(() => {
      const users = [...byUser.oneOfEachUser()]
      return Effect.forEach(
        users,
        (s) => presence.heartbeat(s.tenantId, s.userId, "online", options.presenceTtlMs),
        { concurrency: 16, discard: true },
      )
    }).pipe(
      Effect.catchAllCause((cause) => Effect.logWarning("ws: renewing presence failed", cause)),
      Effect.delay(options.presenceTtlMs / 3),
      Effect.forever,
      Effect.forkScoped,
    )

    const shutdown = Effect.gen(function* () {
      if (closing) return
      closing = true
      for (const session of [...sessions.values()])
        session.close(Protocol.CloseCode.restart, "server shutting down")
      for (const ws of sockets)
        if (ws.readyState === WebSocket.OPEN) ws.close(Protocol.CloseCode.restart, "server shutting down")
      const deadline = Date.now() + 3_000
      while (sockets.size > 0 && Date.now() < deadline) yield* Effect.sleep("20 millis")
      for (const ws of sockets) ws.terminate()
      yield* Effect.async<void>((resume) => wss.close(() => resume(Effect.void)))
    })
    yield* Effect.addFinalizer(() => shutdown)

    return Gateway.of({
      handleUpgrade,
      sessions: Effect.sync(() =>
        [...sessions.values()].map((s) => ({
          sessionId: s.id,
          tenantId: s.tenantId,
          userId: s.userId,
          connectedAt: s.connectedAt,
          rttMs: s.rttMs,
          bufferedBytes: s.ws.bufferedAmount,
          remoteAddress: s.remoteAddress,
          phase: s.phase,
        })),
      ),
      stats: Effect.sync(() => ({ ...counters, sessions: sessions.size, conversationsIndexed: index.size })),
      shutdown,
    })
  })

export const layer = (hooks: Hooks, options: Options = defaults): Layer.Layer<Gateway, never, Requirements> =>
  Layer.scoped(Gateway, make(hooks, options))
