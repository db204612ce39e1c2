import {
  Conversation,
  type ConversationCommand,
  ConversationDecider,
  ConversationStore,
  type Delivery,
  Errors,
  type Event,
  type Ids,
  KeyedActors,
  type Member,
  type Message,
} from "@chat4all/domain"
import * as SqlClient from "@effect/sql/SqlClient"
import { SqlError } from "@effect/sql/SqlError"
import type * as Statement from "@effect/sql/Statement"
import { PgClient } from "@effect/sql-pg"
import { type Context, Data, Duration, Effect, Either, Layer, Option } from "effect"
import type pg from "pg"
import { retryTransient, unavailable } from "./internal/errors.js"
import * as Events from "./internal/events.js"
import { decodeMessages, memberRows } from "./internal/reads.js"
import {
  type ConversationRow,
  conversationColumns,
  type DeliveryRow,
  decodeRows,
  decodeRowsEither,
  type MemberRow,
  type MessageRow,
  messageColumns,
  toConversation,
  toDelivery,
  toMessage,
  withStatus,
} from "./internal/rows.js"
import {
  type Final,
  final,
  PgPool,
  type Row,
  transaction,
  transactionOnPool,
} from "./internal/transaction.js"

type Service = Context.Tag.Service<ConversationStore.ConversationStore>

interface Created {
  readonly conversation: Conversation.Conversation
  readonly created: boolean
}

/** A create that lost a race to a row it cannot find afterwards: the whole transaction runs again. */
class CreateRace extends Data.TaggedError("CreateRace")<{ readonly conversationId: string }> {}

/** The slice of the conversation a batch needs, as loaded inside the commit transaction. */
interface Slice {
  readonly state: ConversationDecider.ConversationState
  /** Each member's `ord`, to keep Conversation.members in order across writes. */
  readonly ords: ReadonlyMap<string, number>
}

interface SliceRow {
  readonly kind: "member" | "keyed" | "byId" | "delivery"
  readonly row: MemberRow & MessageRow & DeliveryRow
}

type Commands = ReadonlyArray<ConversationCommand.ConversationCommand>
type Outcomes = ReadonlyArray<Either.Either<ConversationCommand.CommandResult, Errors.CommandError>>
type CommitFailure = Errors.ConversationNotFound | Errors.StoreUnavailable

/** What a conversation's batch decided: its outcomes, the statements that write them, its events. */
interface Decided {
  readonly outcomes: Outcomes
  readonly writes: ReadonlyArray<Statement.Statement<unknown>>
  readonly events: ReadonlyArray<Event.Event>
}

/** One conversation's batch, handed to its commit lane. */
interface CommitRequest {
  readonly conversationId: Ids.ConversationId
  readonly commands: Commands
}

const laneSeparator = "\u0000"

/** The most commands one lane transaction carries (a conversation's batch is never split). */
const maxCommands = 2048

/** The locked conversation row, first of the slice. */
interface ConversationSliceRow {
  readonly kind: "conversation"
  readonly row: ConversationRow
}

/** The list cursor: the last conversation's activity time and id, base64url of a JSON pair. */
const encodeCursor = (conversation: Conversation.Conversation) =>
  Buffer.from(JSON.stringify([conversation.updatedAt, conversation.id])).toString("base64url")

const decodeCursor = (cursor: string | undefined): readonly [number, string] | undefined => {
  if (cursor === undefined) return undefined
  try {
    const value: unknown = JSON.parse(Buffer.from(cursor, "base64url").toString("utf8"))
    if (Array.isArray(value) && typeof value[0] === "number" && typeof value[1] === "string")
      return [value[0], value[1]]
  } catch {
    // A cursor we did not make starts the list from the top, as an absent one does.
  }
  return undefined
}

const sameMember = (a: Member.Member, b: Member.Member) =>
  a.role === b.role &&
  a.joinedAt === b.joinedAt &&
  a.readSeq === b.readSeq &&
  a.deliveredSeq === b.deliveredSeq

/**
 * ConversationStore over PostgreSQL. `commit` is the group commit: one transaction that locks the
 * conversation row, loads the slice the commands need, decides them with the pure decider, and writes
 * every resulting change, then the events and the outbox rows, in one round trip with the COMMIT.
 */
export const make = Effect.gen(function* () {
  const sql = yield* PgClient.PgClient
  const pool = yield* Effect.serviceOption(PgPool)
  const conversationCols = sql.literal(conversationColumns)
  const messageCols = sql.literal(messageColumns)

  /** A conversation with its members, as of this statement. */
  const find = (where: Statement.Fragment) =>
    Effect.gen(function* () {
      const rows = yield* sql<ConversationRow>`SELECT ${conversationCols} FROM conversations WHERE ${where}`
      const row = rows[0]
      if (row === undefined) return Option.none()
      const members = yield* memberRows(sql, row.tenant_id, [row.id])
      return Option.some(
        yield* decodeRows("ConversationStore.get", () => toConversation(row, members.get(row.id) ?? [])),
      )
    })

  const create: Service["create"] = (conversation, event) => {
    const [a, b] = conversation.members
    const directKey =
      conversation.type === "direct" &&
      conversation.members.length === 2 &&
      a !== undefined &&
      b !== undefined
        ? // PostgreSQL text cannot hold the NUL the domain's key separates the pair with; ids never hold a space.
          Conversation.directPairKey(a.userId, b.userId).replace("\u0000", " ")
        : null
    return transaction(
      sql,
      [
        sql`INSERT INTO conversations
              (tenant_id, id, type, title, metadata, created_at, updated_at, last_seq, direct_key)
            VALUES (${conversation.tenantId}, ${conversation.id}, ${conversation.type}, ${conversation.title ?? null},
                    ${JSON.stringify(conversation.metadata)}::jsonb, ${conversation.createdAt},
                    ${conversation.updatedAt}, ${conversation.lastSeq}, ${directKey})
            ON CONFLICT DO NOTHING
            RETURNING id`,
      ],
      ([inserted]) =>
        Effect.gen(function* () {
          if (inserted === undefined || inserted.length === 0) {
            // The same create again (same id), or the pair already has its direct conversation.
            const existing = yield* find(
              directKey === null
                ? sql`tenant_id = ${conversation.tenantId} AND id = ${conversation.id}`
                : sql`tenant_id = ${conversation.tenantId} AND (id = ${conversation.id} OR direct_key = ${directKey})`,
            )
            if (Option.isSome(existing))
              return final<Created>({ conversation: existing.value, created: false })
            return yield* new CreateRace({ conversationId: conversation.id })
          }
          const members = conversation.members
          const last: Array<Statement.Statement<unknown>> = []
          if (members.length > 0)
            last.push(sql`
              INSERT INTO members
                (tenant_id, conversation_id, user_id, role, joined_at, read_seq, delivered_seq, ord)
              SELECT ${conversation.tenantId}, ${conversation.id}, m.user_id, m.role, m.joined_at, m.read_seq,
                     m.delivered_seq, m.ord - 1
              FROM unnest(${members.map((m) => m.userId)}::text[], ${members.map((m) => m.role)}::text[],
                          ${members.map((m) => m.joinedAt)}::bigint[], ${members.map((m) => m.readSeq)}::int[],
                          ${members.map((m) => m.deliveredSeq)}::int[])
                   WITH ORDINALITY AS m(user_id, role, joined_at, read_seq, delivered_seq, ord)`)
          const append = Events.appendStatement(sql, conversation.tenantId, [event])
          if (append !== undefined) last.push(append)
          return final<Created>({ conversation, created: true }, last)
        }),
    ).pipe(
      retryTransient("ConversationStore.create"),
      Effect.catchTag("CreateRace", (race) =>
        Effect.fail(
          new SqlError({
            message: `conversation ${race.conversationId}: a conflicting row kept vanishing during create`,
          }),
        ),
      ),
      unavailable("ConversationStore.create"),
      Effect.withSpan("ConversationStore.create"),
    )
  }

  const get: Service["get"] = (tenantId, conversationId) =>
    find(sql`tenant_id = ${tenantId} AND id = ${conversationId}`).pipe(
      unavailable("ConversationStore.get"),
      Effect.withSpan("ConversationStore.get"),
    )

  const listForUser: Service["listForUser"] = (tenantId, userId, { limit, cursor }) =>
    Effect.gen(function* () {
      const after = decodeCursor(cursor)
      const page = yield* sql<ConversationRow & { readonly my_read_seq: number }>`
        SELECT ${sql.literal(conversationColumns.replace(/(^|, )/g, "$1c."))}, me.read_seq AS my_read_seq
        FROM members me
        JOIN conversations c ON c.tenant_id = me.tenant_id AND c.id = me.conversation_id
        WHERE me.tenant_id = ${tenantId} AND me.user_id = ${userId}
          ${after === undefined ? sql`` : sql`AND (c.updated_at < ${after[0]} OR (c.updated_at = ${after[0]} AND c.id > ${after[1]}))`}
        ORDER BY c.updated_at DESC, c.id
        LIMIT ${limit + 1}`
      const rows = page.slice(0, limit)
      if (rows.length === 0) return { items: [], nextCursor: undefined }
      const ids = rows.map((r) => r.id)
      const members = yield* memberRows(sql, tenantId, ids)
      const extras = yield* sql<{
        readonly conversation_id: string
        readonly unread: number
        readonly last: MessageRow | null
      }>`
        SELECT p.conversation_id,
          (SELECT count(*)::int FROM messages m
           WHERE m.tenant_id = ${tenantId} AND m.conversation_id = p.conversation_id
             AND m.seq > p.read_seq AND m.sender_id <> ${userId}) AS unread,
          (SELECT row_to_json(l) FROM (
             SELECT ${messageCols} FROM messages m
             WHERE m.tenant_id = ${tenantId} AND m.conversation_id = p.conversation_id AND m.seq = p.last_seq
           ) l) AS last
        FROM unnest(${ids}::text[], ${rows.map((r) => r.my_read_seq)}::int[], ${rows.map((r) => r.last_seq)}::int[])
          AS p(conversation_id, read_seq, last_seq)`
      const lastRows = extras.flatMap((e) => (e.last === null ? [] : [e.last]))
      const deliveries = yield* sql<DeliveryRow>`
        SELECT message_id, user_id, channel, status, updated_at FROM message_deliveries
        WHERE tenant_id = ${tenantId} AND message_id = ANY(${lastRows.map((m) => m.id)}::text[])`
      const byConversation = new Map(extras.map((e) => [e.conversation_id, e]))
      const items = yield* decodeRows("ConversationStore.listForUser", () => {
        const lastMessages = new Map(
          decodeMessages({ rows: lastRows, members, deliveries }).map((m) => [m.conversationId as string, m]),
        )
        return rows.map((row) => ({
          conversation: toConversation(row, members.get(row.id) ?? []),
          lastMessage: lastMessages.get(row.id),
          unreadCount: byConversation.get(row.id)?.unread ?? 0,
        }))
      })
      const last = items[items.length - 1]
      return {
        items,
        nextCursor: page.length > limit && last !== undefined ? encodeCursor(last.conversation) : undefined,
      }
    }).pipe(unavailable("ConversationStore.listForUser"), Effect.withSpan("ConversationStore.listForUser"))

  /**
   * The conversation row, locked, and every row the decider needs for these commands: one call of
   * `c4a_commit_slice` (see commitFunctions), whose statements keep their plans between commits.
   */
  const sliceStatement = (tenantId: string, conversationId: string, needs: ConversationDecider.Needs) =>
    sql`SELECT slice_kind AS kind, slice_row AS row FROM c4a_commit_slice(${tenantId}, ${conversationId},
      ${needs.keys.map((k) => k.senderId)}::text[], ${needs.keys.map((k) => k.clientMessageId)}::text[],
      ${needs.messageIds}::text[],
      ${needs.deliveries.map((d) => d.messageId)}::text[], ${needs.deliveries.map((d) => d.userId)}::text[],
      ${needs.deliveries.map((d) => d.channel)}::text[])`

  /** The decider's state from the locked conversation row and the rows of `sliceStatement`. */
  const decodeSlice = (
    row: ConversationRow,
    rows: ReadonlyArray<SliceRow>,
  ): Either.Either<Slice, Errors.StoreUnavailable> => {
    const conversationId = row.id
    return decodeRowsEither("ConversationStore.commit", () => {
      const memberList = rows
        .filter((r) => r.kind === "member")
        .map((r) => r.row)
        .sort((x, y) => x.ord - y.ord)
      const conversation = toConversation(row, memberList)
      const records = rows.filter((r) => r.kind === "delivery").map((r) => toDelivery(r.row))
      const keyed = rows.filter((r) => r.kind === "keyed").map((r) => r.row)
      const byKey = new Map<string, Message.Message>()
      // Replayed messages get their status from the members and records decoded once, here.
      for (const message of withStatus(keyed, new Map([[conversationId, conversation.members]]), records))
        byKey.set(ConversationDecider.idempotencyKey(message.senderId, message.clientMessageId), message)
      const byId = new Map<Ids.MessageId, Message.Message>()
      for (const r of rows)
        if (r.kind === "byId") byId.set(r.row.id as Ids.MessageId, toMessage(r.row, "sent"))
      const deliveries = new Map<string, Delivery.DeliveryRecord>()
      for (const record of records) {
        deliveries.set(
          ConversationDecider.deliveryKey(record.messageId, record.userId, record.channel),
          record,
        )
      }
      return {
        state: { conversation, byKey, byId, deliveries },
        ords: new Map(memberList.map((m) => [m.user_id, m.ord])),
      }
    })
  }

  /** The new messages of a batch, in one call of `c4a_insert_messages` (see commitFunctions). */
  const insertMessages = (
    tenantId: string,
    conversationId: string,
    events: ReadonlyArray<Event.Event>,
  ): Statement.Statement<unknown> | undefined => {
    const created = events.flatMap((e) => (e.type === "message.created" ? [e.data.message] : []))
    if (created.length === 0) return undefined
    const rows = JSON.stringify(
      created.map((m) => ({
        seq: m.seq,
        id: m.id,
        sender_id: m.senderId,
        client_message_id: m.clientMessageId,
        content: m.content,
        reply_to: m.replyTo ?? null,
        channels: m.channels,
        metadata: m.metadata,
        created_at: m.createdAt,
      })),
    )
    return sql`SELECT c4a_insert_messages(${tenantId}, ${conversationId}, ${rows}::jsonb)`
  }

  /** The conversation row as the batch left it, if the batch changed it. */
  const updateConversation = (
    initial: Conversation.Conversation,
    final: Conversation.Conversation,
  ): Statement.Statement<unknown> | undefined =>
    final.lastSeq === initial.lastSeq &&
    final.updatedAt === initial.updatedAt &&
    final.title === initial.title &&
    final.metadata === initial.metadata
      ? undefined
      : sql`SELECT c4a_update_conversation(${initial.tenantId}, ${initial.id}, ${final.lastSeq}::int,
          ${final.updatedAt}::bigint, ${final.title ?? null}::text, ${JSON.stringify(final.metadata)}::jsonb)`

  /** What else the events changed (members, deliveries), as the common table expressions of one statement. */
  const changes = (
    slice: Slice,
    final: Conversation.Conversation,
    events: ReadonlyArray<Event.Event>,
  ): Array<Statement.Fragment> => {
    const initial = slice.state.conversation
    const tenantId = initial.tenantId
    const conversationId = initial.id
    const ctes: Array<Statement.Fragment> = []

    const finalIds = new Set(final.members.map((m) => m.userId as string))
    const removed = initial.members.filter((m) => !finalIds.has(m.userId)).map((m) => m.userId)
    if (removed.length > 0)
      ctes.push(sql`removed_members AS (
        DELETE FROM members WHERE tenant_id = ${tenantId} AND conversation_id = ${conversationId}
          AND user_id = ANY(${removed}::text[]))`)

    // A member added in this batch goes last, even when they were a member before it started.
    const joined = new Set(
      events.flatMap((e) => (e.type === "member.added" ? [e.data.userId as string] : [])),
    )
    let nextOrd = Math.max(-1, ...slice.ords.values()) + 1
    const before = new Map(initial.members.map((m) => [m.userId as string, m]))
    const changed = final.members.flatMap((m) => {
      const prior = before.get(m.userId)
      if (prior !== undefined && !joined.has(m.userId) && sameMember(prior, m)) return []
      const ord =
        prior !== undefined && !joined.has(m.userId) ? (slice.ords.get(m.userId) ?? nextOrd++) : nextOrd++
      return [{ member: m, ord }]
    })
    if (changed.length > 0)
      ctes.push(sql`upserted_members AS (
        INSERT INTO members (tenant_id, conversation_id, user_id, role, joined_at, read_seq, delivered_seq, ord)
        SELECT ${tenantId}, ${conversationId}, m.*
        FROM unnest(${changed.map((c) => c.member.userId)}::text[], ${changed.map((c) => c.member.role)}::text[],
                    ${changed.map((c) => c.member.joinedAt)}::bigint[], ${changed.map((c) => c.member.readSeq)}::int[],
                    ${changed.map((c) => c.member.deliveredSeq)}::int[], ${changed.map((c) => c.ord)}::int[]) AS m
        ON CONFLICT (tenant_id, conversation_id, user_id) DO UPDATE SET
          role = EXCLUDED.role, joined_at = EXCLUDED.joined_at, read_seq = EXCLUDED.read_seq,
          delivered_seq = EXCLUDED.delivered_seq, ord = EXCLUDED.ord)`)

    const transitions = events.flatMap((e) =>
      e.type === "message.status" && e.data.userId !== undefined && e.data.channel !== undefined
        ? [{ event: e, userId: e.data.userId, channel: e.data.channel }]
        : [],
    )
    if (transitions.length > 0) {
      // The last transition per recipient and channel is its record now (updates only move forward).
      const latest = new Map(
        transitions.map((t) => [
          ConversationDecider.deliveryKey(t.event.data.messageId, t.userId, t.channel),
          t,
        ]),
      )
      const records = [...latest.values()]
      ctes.push(sql`deliveries AS (
        INSERT INTO message_deliveries (tenant_id, message_id, user_id, channel, status, updated_at)
        SELECT ${tenantId}, d.*
        FROM unnest(${records.map((r) => r.event.data.messageId)}::text[], ${records.map((r) => r.userId)}::text[],
                    ${records.map((r) => r.channel)}::text[], ${records.map((r) => r.event.data.status)}::text[],
                    ${records.map((r) => r.event.at)}::bigint[]) AS d
        ON CONFLICT (tenant_id, message_id, user_id, channel) DO UPDATE SET
          status = EXCLUDED.status, updated_at = EXCLUDED.updated_at)`)
      ctes.push(sql`history AS (
        INSERT INTO status_transitions (tenant_id, message_id, status, user_id, channel, at, detail)
        SELECT ${tenantId}, h.message_id, h.status, h.user_id, h.channel, h.at, h.detail
        FROM unnest(${transitions.map((t) => t.event.data.messageId)}::text[],
                    ${transitions.map((t) => t.event.data.status)}::text[], ${transitions.map((t) => t.userId)}::text[],
                    ${transitions.map((t) => t.channel)}::text[], ${transitions.map((t) => t.event.at)}::bigint[],
                    ${transitions.map((t) => t.event.data.detail ?? null)}::text[])
             WITH ORDINALITY AS h(message_id, status, user_id, channel, at, detail, ord)
        ORDER BY h.ord)`)
    }

    return ctes
  }

  /**
   * Decides a batch on the rows of its `sliceStatement`: the outcomes, the statements that write them, and
   * the events (appended by the caller, with those of other conversations committed in the same transaction).
   */
  const decideOn = (
    conversationId: Ids.ConversationId,
    commands: Commands,
    sliceRows: ReadonlyArray<Row> | undefined,
  ): Either.Either<Decided, CommitFailure> => {
    const rows = (sliceRows ?? []) as unknown as ReadonlyArray<SliceRow | ConversationSliceRow>
    const locked = rows.find((r): r is ConversationSliceRow => r.kind === "conversation")
    if (locked === undefined) return Either.left(new Errors.ConversationNotFound({ conversationId }))
    return Either.map(decodeSlice(locked.row, rows as ReadonlyArray<SliceRow>), (slice) => {
      const tenantId = slice.state.conversation.tenantId
      const decision = ConversationDecider.decideBatch(slice.state, commands)
      const writes: Array<Statement.Statement<unknown>> = []
      const inserted = insertMessages(tenantId, conversationId, decision.events)
      if (inserted !== undefined) writes.push(inserted)
      const updated = updateConversation(slice.state.conversation, decision.state.conversation)
      if (updated !== undefined) writes.push(updated)
      const changed = changes(slice, decision.state.conversation, decision.events)
      if (changed.length > 0) writes.push(sql`WITH ${sql.csv(changed)} SELECT 1`)
      return { outcomes: decision.outcomes, writes, events: decision.events }
    })
  }

  /** The writes, then the events and outbox rows: what goes with the COMMIT. */
  const closing = <A>(
    tenantId: Ids.TenantId,
    value: A,
    writes: ReadonlyArray<Statement.Statement<unknown>>,
    events: ReadonlyArray<Event.Event>,
  ): Final<A> => {
    const append = Events.appendStatement(sql, tenantId, events)
    return final(value, append === undefined ? writes : [...writes, append])
  }

  /** One conversation's batch in a transaction of its own, through `@effect/sql` (see `commit`). */
  const commitOnce = (tenantId: Ids.TenantId, conversationId: Ids.ConversationId, commands: Commands) =>
    transaction(
      sql,
      [sliceStatement(tenantId, conversationId, ConversationDecider.needs(commands))],
      (rows) =>
        Either.map(decideOn(conversationId, commands, rows[0]), (decided) =>
          closing(tenantId, decided.outcomes, decided.writes, decided.events),
        ),
    )

  /**
   * The batches of several conversations of one tenant in one transaction on the pool: each conversation's
   * lock and slice, its own decision and writes, and one append for all their events. A conversation that
   * is missing or does not decode fails alone; a failed transaction fails (and retries) them all. Locks are
   * taken in conversation order, so that two such transactions never wait for each other in a cycle.
   */
  const commitGroup = (
    client: pg.Pool,
    tenantId: Ids.TenantId,
    requests: ReadonlyArray<CommitRequest>,
  ): Effect.Effect<ReadonlyArray<Either.Either<Outcomes, CommitFailure>>, SqlError> => {
    const order = requests
      .map((_, i) => i)
      .sort((a, b) => (requests[a]!.conversationId < requests[b]!.conversationId ? -1 : 1))
    const first = order.map((i) =>
      sliceStatement(tenantId, requests[i]!.conversationId, ConversationDecider.needs(requests[i]!.commands)),
    )
    return transactionOnPool(client, first, (rows) => {
      const answers: Array<Either.Either<Outcomes, CommitFailure>> = new Array(requests.length)
      const writes: Array<Statement.Statement<unknown>> = []
      const events: Array<Event.Event> = []
      order.forEach((i, k) => {
        const request = requests[i]!
        const decided = decideOn(request.conversationId, request.commands, rows[k])
        if (Either.isLeft(decided)) answers[i] = Either.left(decided.left)
        else {
          answers[i] = Either.right(decided.right.outcomes)
          writes.push(...decided.right.writes)
          events.push(...decided.right.events)
        }
      })
      return Either.right(closing(tenantId, answers, writes, events))
    })
  }

  const traced = <A, E, R>(
    self: Effect.Effect<A, E | SqlError, R>,
    attributes: Record<string, unknown>,
  ): Effect.Effect<A, Exclude<E, SqlError> | Errors.StoreUnavailable, R> =>
    self.pipe(
      retryTransient("ConversationStore.commit"),
      unavailable("ConversationStore.commit"),
      // The call site is always the conversation actor; capturing it cost 20 µs per commit.
      Effect.withSpan("ConversationStore.commit", { attributes, captureStackTrace: false }),
    )

  /**
   * Conversations' batches in one transaction, each answered on its own. A transaction that fails for good
   * (after its retries) is tried again one conversation at a time: otherwise a batch the server refuses (a
   * text it cannot store, say) would fail every other conversation that happened to share its transaction.
   */
  const commitTogether = (
    client: pg.Pool,
    tenantId: Ids.TenantId,
    group: ReadonlyArray<CommitRequest>,
  ): Effect.Effect<ReadonlyArray<Either.Either<Outcomes, CommitFailure>>> => {
    const together = traced(commitGroup(client, tenantId, group), {
      tenantId,
      conversations: group.length,
      commands: group.reduce((sum, request) => sum + request.commands.length, 0),
    })
    return Effect.catchAll(together, (failure) =>
      group.length === 1
        ? Effect.succeed([Either.left(failure)])
        : Effect.map(
            Effect.forEach(group, (request) => commitTogether(client, tenantId, [request])),
            (answers) => answers.flat(),
          ),
    )
  }

  /**
   * A lane's batch: one transaction for all of it, up to `maxCommands` commands (a transaction of tens of
   * thousands of messages would hold its locks and build its statement for too long). The same
   * conversation twice (which the conversation actor never does: it waits for each commit) goes to the
   * next transaction, in order, as does what exceeds the budget.
   */
  const commitLane = (
    client: pg.Pool,
    tenantId: Ids.TenantId,
    requests: ReadonlyArray<CommitRequest>,
  ): Effect.Effect<ReadonlyArray<Either.Either<Outcomes, CommitFailure>>> => {
    const seen = new Set<string>()
    const now: Array<number> = []
    const later: Array<number> = []
    let commands = 0
    requests.forEach((request, i) => {
      // At least one request per transaction, however large; beyond the budget, the next transaction.
      if (
        seen.has(request.conversationId) ||
        (now.length > 0 && commands + request.commands.length > maxCommands)
      )
        later.push(i)
      else {
        seen.add(request.conversationId)
        now.push(i)
        commands += request.commands.length
      }
    })
    const group = commitTogether(
      client,
      tenantId,
      now.map((i) => requests[i]!),
    )
    if (later.length === 0) return group
    return Effect.flatMap(group, (first) =>
      Effect.map(
        commitLane(
          client,
          tenantId,
          later.map((i) => requests[i]!),
        ),
        (rest) => {
          const answers: Array<Either.Either<Outcomes, CommitFailure>> = new Array(requests.length)
          now.forEach((i, k) => {
            answers[i] = first[k]!
          })
          later.forEach((i, k) => {
            answers[i] = rest[k]!
          })
          return answers
        },
      ),
    )
  }

  /**
   * Commit lanes on the pool: a tenant's commits share a few lanes (a conversation always takes the same
   * one), and each lane commits whatever queued up in it, from many conversations, in one transaction.
   * A commit of one conversation paid a transaction's fixed costs (on both sides: about 300 µs of this
   * process and 450 µs of the server) for a few messages; shared, they vanish. Several lanes per tenant
   * keep this process deciding while the server executes. Every tenant's commits serialise on its event
   * head row anyway.
   */
  const lanes = Option.isNone(pool)
    ? undefined
    : yield* KeyedActors.make<CommitRequest, Outcomes, CommitFailure, never>({
        name: "postgres commit lane",
        idleTimeToLive: Duration.minutes(1),
        mailboxCapacity: 4096,
        maxBatch: 128,
        handleBatch: (key, requests) =>
          commitLane(pool.value, key.slice(0, key.indexOf(laneSeparator)) as Ids.TenantId, requests),
      })
  const laneCount = Option.isNone(pool) ? 1 : Math.max(1, Math.floor((pool.value.options.max ?? 10) / 2))
  const laneOf = (tenantId: string, conversationId: string) => {
    let hash = 0
    for (let i = 0; i < conversationId.length; i++) hash = (hash * 31 + conversationId.charCodeAt(i)) | 0
    return `${tenantId}${laneSeparator}${Math.abs(hash) % laneCount}`
  }

  const commit: Service["commit"] = (tenantId, conversationId, commands) =>
    commands.length === 0
      ? Effect.succeed([])
      : Effect.flatMap(Effect.serviceOption(SqlClient.TransactionConnection), (outer) =>
          // Inside a transaction the caller opened, the commit joins it through `@effect/sql`.
          Option.isNone(outer) && lanes !== undefined
            ? lanes.ask(laneOf(tenantId, conversationId), { conversationId, commands })
            : traced(commitOnce(tenantId, conversationId, commands), {
                tenantId,
                conversationId,
                commands: commands.length,
              }),
        )

  return ConversationStore.ConversationStore.of({ create, get, listForUser, commit })
})

export const layer: Layer.Layer<ConversationStore.ConversationStore, never, PgClient.PgClient> = Layer.scoped(
  ConversationStore.ConversationStore,
  make,
)
