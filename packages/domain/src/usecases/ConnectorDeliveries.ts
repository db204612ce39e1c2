import { Cause, Clock, Effect, Option, Random, Schedule } from "effect"
import type { ChannelIdentity } from "../model/ChannelIdentity.js"
import type { ChannelName } from "../model/Delivery.js"
import type { TenantId } from "../model/Ids.js"
import type { Member } from "../model/Member.js"
import type { Message } from "../model/Message.js"
import { ChannelConnectors, type SendOutcome } from "../ports/ChannelConnectors.js"
import { type ClaimedSend, ConnectorOutbox, type RouteClaim } from "../ports/ConnectorOutbox.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import { IdentityStore } from "../ports/IdentityStore.js"
import { MessageStore } from "../ports/MessageStore.js"
import { ProviderRefs } from "../ports/ProviderRefs.js"
import * as ConnectorRetry from "../rules/ConnectorRetry.js"
import * as Routing from "../rules/Routing.js"
import { applyDeliveryUpdate, type DeliveryUpdate } from "./Deliveries.js"

/**
 * Connector deliveries: committed messages -> per recipient and channel sends (routing) -> the provider
 * (delivery), with every status change going through the conversation's decider, so the delivery state
 * and its history stay where every other status change is kept.
 */

/** Who a conversation's messages go to: its members and their channel identities. */
interface Audience {
  readonly members: ReadonlyArray<Member>
  readonly identities: ReadonlyArray<ChannelIdentity>
}

/** Skips that are the message's own fault, recorded as `failed` so the sender sees why. */
const failingSkips = new Set<Routing.SkippedDelivery["reason"]>(["content_unsupported", "text_too_long"])

const skipDetail = (reason: Routing.SkippedDelivery["reason"], channel: string) =>
  reason === "text_too_long"
    ? `the text is longer than the ${channel} connector carries`
    : `the ${channel} connector cannot carry this content type`

/**
 * Applies a status that routing or delivery decided. A store failure fails the caller (its round is tried
 * again); anything else (the message is gone, the member left) is logged, since no retry can change it.
 */
const record = (tenantId: TenantId, update: DeliveryUpdate) =>
  applyDeliveryUpdate(tenantId, update).pipe(
    Effect.asVoid,
    Effect.catchIf(
      (error) => error._tag !== "StoreUnavailable",
      (error) =>
        Effect.logWarning(`connector delivery: status ${update.status} not recorded: ${error.message}`).pipe(
          Effect.annotateLogs({
            tenantId,
            messageId: update.messageId,
            userId: update.userId,
            channel: update.channel,
          }),
        ),
    ),
  )

/** Plans the messages of one claimed stretch, records each send as `pending`, and commits the stretch. */
export const routeClaim = (claim: RouteClaim) =>
  Effect.gen(function* () {
    const outbox = yield* ConnectorOutbox
    if (claim.messages.length === 0) return { moved: yield* outbox.commitRoute(claim, []), planned: 0 }
    const connectors = yield* ChannelConnectors
    const capabilities = yield* connectors.capabilities(claim.tenantId)
    const conversations = yield* ConversationStore
    const identities = yield* IdentityStore
    const planned: Array<Routing.PlannedDelivery> = []
    const refused: Array<DeliveryUpdate> = []
    // A stretch often holds many messages of one conversation: its members and their identities are
    // read once per stretch.
    const audiences = new Map<string, Option.Option<Audience>>()
    const audienceOf = (conversationId: Message["conversationId"]) =>
      Effect.gen(function* () {
        const known = audiences.get(conversationId)
        if (known !== undefined) return known
        const conversation = yield* conversations.get(claim.tenantId, conversationId)
        const audience = Option.isNone(conversation)
          ? Option.none<Audience>()
          : Option.some({
              members: conversation.value.members,
              identities: yield* identities.list(
                claim.tenantId,
                conversation.value.members.map((m) => m.userId),
              ),
            })
        audiences.set(conversationId, audience)
        return audience
      })
    for (const message of capabilities.length === 0 ? [] : claim.messages) {
      const audience = yield* audienceOf(message.conversationId)
      if (Option.isNone(audience)) continue
      const { members, identities: found } = audience.value
      const plan = Routing.plan(message, members, found, capabilities)
      planned.push(...plan.deliveries)
      for (const skip of plan.skipped) {
        if (failingSkips.has(skip.reason))
          refused.push({
            messageId: message.id,
            userId: skip.userId,
            channel: skip.channel as ChannelName,
            status: "failed",
            detail: skipDetail(skip.reason, skip.channel),
          })
        else
          yield* Effect.logDebug(`connector routing: skipped (${skip.reason})`).pipe(
            Effect.annotateLogs({ messageId: message.id, userId: skip.userId, channel: skip.channel }),
          )
      }
    }
    // Concurrently, so that a conversation's actor commits the updates of a stretch in few batches.
    yield* Effect.forEach(
      [
        ...planned.map(
          (d): DeliveryUpdate => ({
            messageId: d.messageId,
            userId: d.userId,
            channel: d.channel as ChannelName,
            status: "pending",
          }),
        ),
        ...refused,
      ],
      (update) => record(claim.tenantId, update),
      { concurrency: 16, discard: true },
    )
    const moved = yield* outbox.commitRoute(claim, planned)
    if (!moved)
      yield* Effect.logInfo(
        "connector routing: the stretch was claimed again meanwhile; left to that router",
      ).pipe(Effect.annotateLogs({ tenantId: claim.tenantId }))
    return { moved, planned: moved ? planned.length : 0 }
  }).pipe(Effect.withSpan("ConnectorDeliveries.routeClaim", { attributes: { tenantId: claim.tenantId } }))

/** Routes what is due: answers how many stretches moved and how many sends they made. */
export const routeDue = (options: {
  readonly tenants: number
  readonly events: number
  readonly leaseMs: number
}) =>
  Effect.gen(function* () {
    const outbox = yield* ConnectorOutbox
    const claims = yield* outbox.claimRoutes(options)
    let moved = 0
    let planned = 0
    for (const claim of claims) {
      const routed = yield* routeClaim(claim)
      if (routed.moved) moved++
      planned += routed.planned
    }
    return { claimed: claims.length, moved, planned }
  })

export interface DeliverOptions {
  /** `CHAT4ALL_CONNECTORS_RETRY_SCALE`: multiplies every wait of the retry schedule. */
  readonly retryScale: number
}

/** Once the provider has a message, recording that must not give up at the first store hiccup. */
const persistently = Schedule.exponential("100 millis").pipe(Schedule.intersect(Schedule.recurs(6)))

const describeCause = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  return Option.isSome(failure) && failure.value instanceof Error
    ? failure.value.message
    : Cause.pretty(cause)
}

/**
 * Sends one claimed delivery and settles it. Sent: the provider's id is recorded (status callbacks find
 * the delivery by it) and the status moves to `sent`. A retryable failure is tried again after the
 * schedule's wait (never before the provider's `retryAfterMs`); a failure that cannot be retried, or the
 * last attempt's, moves the status to `failed` with the error as its detail.
 */
export const deliver = (claimed: ClaimedSend, options: DeliverOptions) =>
  Effect.gen(function* () {
    const { tenantId, delivery } = claimed
    const channel = delivery.channel as ChannelName
    const messages = yield* MessageStore
    const message: Option.Option<Message> = yield* messages.get(tenantId, delivery.messageId)
    const connectors = yield* ChannelConnectors
    const outcome: SendOutcome = Option.isNone(message)
      ? { _tag: "Failed", retryable: false, detail: "the message no longer exists" }
      : yield* connectors
          .send(tenantId, channel, {
            messageId: delivery.messageId,
            address: delivery.address,
            content: message.value.content,
          })
          .pipe(
            Effect.catchAll((error) =>
              Effect.succeed<SendOutcome>({
                _tag: "Failed",
                retryable: true,
                detail: `the ${channel} connector's settings could not be read (${error.operation})`,
              }),
            ),
          )
    const now = yield* Clock.currentTimeMillis
    const settlement = ConnectorRetry.settle(outcome, {
      failuresBefore: claimed.failures,
      now,
      scale: options.retryScale,
      random: yield* Random.next,
    })
    const annotations = { tenantId, messageId: delivery.messageId, userId: delivery.userId, channel }
    const settleAndRecord = Effect.gen(function* () {
      const update = { messageId: delivery.messageId, userId: delivery.userId, channel }
      if (outcome._tag === "Sent") {
        const refs = yield* ProviderRefs
        yield* refs.record({
          tenantId,
          connector: channel,
          providerMessageId: outcome.providerMessageId,
          direction: "outbound",
          messageId: delivery.messageId,
          userId: delivery.userId,
          channel,
          createdAt: now,
        })
        yield* record(tenantId, { ...update, status: "sent" })
      } else if (settlement.status === "failed")
        yield* record(tenantId, { ...update, status: "failed", detail: settlement.error })
      const outbox = yield* ConnectorOutbox
      return yield* outbox.settle(claimed, settlement)
    })
    const moved =
      outcome._tag === "Sent"
        ? yield* settleAndRecord.pipe(
            Effect.tapError((error) =>
              Effect.logWarning(`connector delivery: recording a send failed; retrying: ${error.message}`),
            ),
            Effect.retry(persistently),
          )
        : yield* settleAndRecord
    if (outcome._tag === "Sent" && outcome.recipient !== undefined && outcome.recipient !== delivery.address)
      yield* Effect.logInfo(
        `connector delivery: the provider resolved ${delivery.address} as ${outcome.recipient}`,
      ).pipe(Effect.annotateLogs(annotations))
    if (!moved)
      yield* Effect.logInfo("connector delivery: settled after the lease moved on (claimed again)").pipe(
        Effect.annotateLogs(annotations),
      )
    else if (settlement.status === "failed")
      yield* Effect.logWarning(`connector delivery failed: ${settlement.error}`).pipe(
        Effect.annotateLogs({ ...annotations, attempts: settlement.failures }),
      )
    else if (settlement.status === "pending")
      yield* Effect.logDebug(`connector delivery: retrying after ${settlement.error}`).pipe(
        Effect.annotateLogs({
          ...annotations,
          nextAttemptAt: new Date(settlement.nextAttemptAt).toISOString(),
        }),
      )
    return { claimed, outcome, settlement, moved }
  }).pipe(Effect.withSpan("ConnectorDeliveries.deliver"))

/** Claims the due sends and makes them, `concurrency` at a time; one that fails is logged, not fatal. */
export const deliverDue = (
  options: DeliverOptions & {
    readonly limit: number
    readonly leaseMs: number
    readonly concurrency: number
  },
) =>
  Effect.gen(function* () {
    const outbox = yield* ConnectorOutbox
    const claimed = yield* outbox.claim({ limit: options.limit, leaseMs: options.leaseMs })
    const results = yield* Effect.forEach(
      claimed,
      (c) =>
        deliver(c, options).pipe(
          Effect.map(Option.some),
          Effect.catchAllCause((cause) =>
            Cause.isInterruptedOnly(cause)
              ? Effect.failCause(cause)
              : Effect.as(
                  Effect.logWarning(
                    `connector delivery: left to its lease after a failure: ${describeCause(cause)}`,
                  ).pipe(Effect.annotateLogs({ tenantId: c.tenantId, messageId: c.delivery.messageId })),
                  Option.none(),
                ),
          ),
        ),
      { concurrency: options.concurrency },
    )
    return { claimed: claimed.length, results: results.flatMap((r) => (Option.isSome(r) ? [r.value] : [])) }
  })
