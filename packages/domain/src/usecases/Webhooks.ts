import { Clock, Effect, Option, Random, Redacted, Schema } from "effect"
import { Forbidden, InvalidRequest } from "../model/Errors.js"
import type { Event } from "../model/Event.js"
import { EventId } from "../model/Ids.js"
import { clampLimit } from "../model/Page.js"
import {
  type DeliveryStatus,
  type EventFilterEntry,
  maxDescriptionLength,
  maxUrlLength,
  rotationOverlapMs,
  WebhookAttempt,
  WebhookDeliveryNotFound,
  WebhookDisabled,
  WebhookEndpoint,
  WebhookId,
  WebhookNotFound,
  type WebhookSecret,
} from "../model/Webhook.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { type SendOutcome, WebhookSender } from "../ports/WebhookSender.js"
import { type ClaimedDelivery, WebhookStore } from "../ports/WebhookStore.js"
import * as WebhookRetry from "../rules/WebhookRetry.js"
import type { Caller } from "./Caller.js"

/** Where an endpoint is, for logs: scheme, host and port only (a path or query may carry a receiver's token). */
const originOf = (url: string): string => {
  try {
    return new URL(url).origin
  } catch {
    return "(unparsable url)"
  }
}

/** Webhooks are managed by the tenant's services and admins; a user token cannot see or change them. */
const requireManager = (caller: Caller): Effect.Effect<void, Forbidden> =>
  caller.isPrivileged
    ? Effect.void
    : Effect.fail(new Forbidden({ message: "only service and admin tokens manage webhooks" }))

/** An endpoint of the caller's tenant; another tenant's does not exist for the caller. */
const ownEndpoint = (caller: Caller, webhookId: WebhookId) =>
  Effect.gen(function* () {
    yield* requireManager(caller)
    const store = yield* WebhookStore
    const found = yield* store.get(caller.tenantId, webhookId)
    if (Option.isNone(found)) return yield* new WebhookNotFound({ webhookId })
    return found.value
  })

export interface CreateWebhookInput {
  readonly url: string
  readonly events: ReadonlyArray<EventFilterEntry>
  readonly description?: string | undefined
}

/** An endpoint with the secret that signs its deliveries: shown once, when made or rotated. */
export interface WithSecret {
  readonly endpoint: WebhookEndpoint
  readonly secret: WebhookSecret
}

/**
 * Registers an endpoint for the caller's tenant. The URL must pass the sender's guard (http or https, no
 * credentials, no address the engine must not reach); the endpoint receives the events committed from
 * now on whose type its filter lists (or all, with `*`).
 */
export const createWebhook = (caller: Caller, input: CreateWebhookInput) =>
  Effect.gen(function* () {
    yield* requireManager(caller)
    if (input.url.length > maxUrlLength)
      return yield* new InvalidRequest({
        field: "url",
        message: `must be at most ${maxUrlLength} characters`,
      })
    if (input.events.length === 0)
      return yield* new InvalidRequest({
        field: "events",
        message: "must list at least one event type (or `*` for all)",
      })
    if (input.description !== undefined && input.description.length > maxDescriptionLength)
      return yield* new InvalidRequest({
        field: "description",
        message: `must be at most ${maxDescriptionLength} characters`,
      })
    const sender = yield* WebhookSender
    const url = yield* sender
      .check(input.url)
      .pipe(Effect.mapError((refused) => new InvalidRequest({ field: "url", message: refused.reason })))
    const ids = yield* IdGenerator
    const secret = yield* sender.newSecret
    const at = yield* Clock.currentTimeMillis
    const endpoint = new WebhookEndpoint({
      // Seed-format ids sort by creation time, which is the order endpoints are listed in.
      id: WebhookId.make(`wh_${yield* ids.eventId}`),
      tenantId: caller.tenantId,
      url,
      events: [...new Set(input.events)],
      ...(input.description === undefined ? {} : { description: input.description }),
      status: "active",
      secret: Redacted.make(secret),
      createdAt: at,
      updatedAt: at,
    })
    const store = yield* WebhookStore
    yield* store.create(endpoint)
    yield* Effect.logInfo("webhook registered").pipe(
      Effect.annotateLogs({
        tenantId: caller.tenantId,
        webhookId: endpoint.id,
        target: originOf(endpoint.url),
      }),
    )
    return { endpoint, secret } satisfies WithSecret
  })

const decodeWebhookId = Schema.decodeUnknownOption(WebhookId)

/** The caller's tenant's endpoints, newest first. */
export const listWebhooks = (
  caller: Caller,
  options: { readonly limit?: number | undefined; readonly cursor?: string | undefined },
) =>
  Effect.gen(function* () {
    yield* requireManager(caller)
    let cursor: WebhookId | undefined
    if (options.cursor !== undefined) {
      const decoded = decodeWebhookId(options.cursor)
      if (Option.isNone(decoded))
        return yield* new InvalidRequest({
          field: "cursor",
          message: "is not a cursor this server handed out",
        })
      cursor = decoded.value
    }
    const store = yield* WebhookStore
    return yield* store.list(caller.tenantId, { limit: clampLimit(options.limit), cursor })
  })

export const getWebhook = ownEndpoint

export const deleteWebhook = (caller: Caller, webhookId: WebhookId) =>
  Effect.gen(function* () {
    yield* requireManager(caller)
    const store = yield* WebhookStore
    const removed = yield* store.remove(caller.tenantId, webhookId)
    if (!removed) return yield* new WebhookNotFound({ webhookId })
    yield* Effect.logInfo("webhook removed").pipe(
      Effect.annotateLogs({ tenantId: caller.tenantId, webhookId }),
    )
  })

/**
 * Gives an endpoint a new secret, shown once. The old one keeps signing beside it for
 * `rotationOverlapMs` (24 h), so receivers can switch without missing a delivery.
 */
export const rotateSecret = (caller: Caller, webhookId: WebhookId) =>
  Effect.gen(function* () {
    yield* ownEndpoint(caller, webhookId)
    const sender = yield* WebhookSender
    const secret = yield* sender.newSecret
    const at = yield* Clock.currentTimeMillis
    const store = yield* WebhookStore
    const rotated = yield* store.rotateSecret(caller.tenantId, webhookId, {
      secret,
      previousExpiresAt: at + rotationOverlapMs,
      at,
    })
    if (Option.isNone(rotated)) return yield* new WebhookNotFound({ webhookId })
    return { endpoint: rotated.value, secret } satisfies WithSecret
  })

const positionCursor = /^(0|[1-9][0-9]{0,15})$/

/** An endpoint's delivery log, newest event first, each delivery with every attempt. */
export const listDeliveries = (
  caller: Caller,
  webhookId: WebhookId,
  options: {
    readonly status?: DeliveryStatus | undefined
    readonly limit?: number | undefined
    readonly cursor?: string | undefined
  },
) =>
  Effect.gen(function* () {
    yield* ownEndpoint(caller, webhookId)
    if (options.cursor !== undefined && !positionCursor.test(options.cursor))
      return yield* new InvalidRequest({ field: "cursor", message: "is not a cursor this server handed out" })
    const store = yield* WebhookStore
    return yield* store.deliveries(caller.tenantId, webhookId, {
      limit: clampLimit(options.limit),
      status: options.status,
      cursor: options.cursor === undefined ? undefined : Number(options.cursor),
    })
  })

const decodeEventId = Schema.decodeUnknownOption(EventId)

/**
 * Replays a delivery now, whatever its status, with a fresh series of retries. The `webhook-id` stays
 * the event id, so a receiver that already has it can tell.
 */
export const retryDelivery = (caller: Caller, webhookId: WebhookId, deliveryId: string) =>
  Effect.gen(function* () {
    const endpoint = yield* ownEndpoint(caller, webhookId)
    const id = decodeEventId(deliveryId)
    if (Option.isNone(id)) return yield* new WebhookDeliveryNotFound({ webhookId, deliveryId })
    if (endpoint.status === "disabled")
      return yield* new WebhookDisabled({ webhookId, reason: endpoint.disabledReason ?? "disabled" })
    const store = yield* WebhookStore
    const at = yield* Clock.currentTimeMillis
    const replayed = yield* store.retry(caller.tenantId, webhookId, id.value, at)
    if (Option.isNone(replayed)) return yield* new WebhookDeliveryNotFound({ webhookId, deliveryId })
    return replayed.value
  })

/** Turns committed events into deliveries (one atomic step per tenant, see `WebhookStore`). */
export const route = (options: { readonly tenants: number; readonly events: number }) =>
  Effect.flatMap(WebhookStore, (store) => store.route(options))

export interface DeliverOptions {
  /** `CHAT4ALL_WEBHOOKS_RETRY_SCALE`: multiplies every wait of the retry schedule. */
  readonly retryScale: number
  /** The event as the body goes out: the same JSON the HTTP API and the WebSocket send. */
  readonly encode: (event: Event) => string
}

/** What the retry rules read of a send's outcome. */
const answerOf = (outcome: SendOutcome): WebhookRetry.Answer =>
  outcome._tag === "Answered"
    ? { _tag: "Answered", statusCode: outcome.statusCode }
    : { _tag: "NoAnswer", error: outcome.error }

/**
 * Sends one claimed delivery, logs the attempt and settles it: done on 2xx; retried after the scheduled
 * wait otherwise; failed after the last attempt; failed with the endpoint disabled on 410 Gone.
 */
export const deliver = (claimed: ClaimedDelivery, options: DeliverOptions) =>
  Effect.gen(function* () {
    const sender = yield* WebhookSender
    const store = yield* WebhookStore
    const at = yield* Clock.currentTimeMillis
    const encoded = yield* Effect.either(Effect.try(() => options.encode(claimed.event)))
    const outcome: SendOutcome =
      encoded._tag === "Left"
        ? ({
            _tag: "NoAnswer",
            error: `the event could not be encoded: ${String(encoded.left.error)}`,
            durationMs: 0,
          } as const)
        : yield* sender.send({
            url: claimed.endpoint.url,
            webhookId: claimed.delivery.id,
            timestamp: Math.floor(at / 1000),
            body: encoded.right,
            secrets: claimed.endpoint.signingSecrets(at),
          })
    const attempt = new WebhookAttempt({
      at,
      durationMs: outcome.durationMs,
      ...(outcome._tag === "Answered"
        ? { statusCode: outcome.statusCode, ...(outcome.note === undefined ? {} : { error: outcome.note }) }
        : { error: outcome.error }),
    })
    const settlement = WebhookRetry.settle(answerOf(outcome), {
      failuresBefore: claimed.failures,
      now: yield* Clock.currentTimeMillis,
      scale: options.retryScale,
      random: yield* Random.next,
    })
    const moved = yield* store.settle(claimed, attempt, settlement)
    const annotations = {
      tenantId: claimed.delivery.tenantId,
      webhookId: claimed.delivery.webhookId,
      eventId: claimed.delivery.id,
      target: originOf(claimed.endpoint.url),
      outcome: outcome._tag === "Answered" ? String(outcome.statusCode) : outcome.error,
    }
    if (!moved)
      yield* Effect.logInfo("webhook attempt made after the lease moved on (replayed or claimed again)").pipe(
        Effect.annotateLogs(annotations),
      )
    else if (settlement.status === "failed")
      yield* Effect.logWarning(
        settlement.disable !== undefined
          ? "webhook endpoint disabled: it answered 410 Gone"
          : `webhook delivery failed after ${settlement.failures} attempts`,
      ).pipe(Effect.annotateLogs(annotations))
    else if (settlement.status === "pending")
      yield* Effect.logDebug("webhook attempt failed; retrying").pipe(
        Effect.annotateLogs({
          ...annotations,
          nextAttemptAt: new Date(settlement.nextAttemptAt).toISOString(),
        }),
      )
    return { claimed, attempt, settlement, moved }
  }).pipe(Effect.withSpan("Webhooks.deliver"))

/** Claims the due deliveries and sends them, `concurrency` at a time; answers what became of each. */
export const deliverDue = (
  options: DeliverOptions & {
    readonly limit: number
    readonly leaseMs: number
    readonly concurrency: number
  },
) =>
  Effect.gen(function* () {
    const store = yield* WebhookStore
    const claimed = yield* store.claim({ limit: options.limit, leaseMs: options.leaseMs })
    return yield* Effect.forEach(claimed, (c) => deliver(c, options), { concurrency: options.concurrency })
  })
