import { assert, describe, layer } from "@effect/vitest"
import { Clock, Effect, type Layer, Option, Redacted } from "effect"
import type { TenantId } from "../model/Ids.js"
import {
  type EventFilterEntry,
  WebhookAttempt,
  WebhookEndpoint,
  WebhookId,
  WebhookSecret,
} from "../model/Webhook.js"
import { IdGenerator } from "../ports/IdGenerator.js"
import { type ClaimedDelivery, WebhookStore } from "../ports/WebhookStore.js"
import * as Fixtures from "./Fixtures.js"
import { commitAll, createConversation, type StorageEnv, sendMany } from "./Storage.js"

/** What the suite runs on: an adapter's storage with its WebhookStore over the same data. */
export type WebhookStoreEnv = StorageEnv | WebhookStore

const secretA = WebhookSecret.make(`whsec_${"A".repeat(43)}=`)
const secretB = WebhookSecret.make(`whsec_${"B".repeat(43)}=`)

const endpoint = (
  tenantId: TenantId,
  events: ReadonlyArray<EventFilterEntry>,
  options: { readonly url?: string; readonly description?: string } = {},
) =>
  Effect.gen(function* () {
    const ids = yield* IdGenerator
    const at = yield* Clock.currentTimeMillis
    const made = new WebhookEndpoint({
      id: WebhookId.make(`wh_${yield* ids.eventId}`),
      tenantId,
      url: options.url ?? "https://hooks.example.com/chat4all",
      events,
      ...(options.description === undefined ? {} : { description: options.description }),
      status: "active",
      secret: Redacted.make(secretA),
      createdAt: at,
      updatedAt: at,
    })
    yield* Effect.flatMap(WebhookStore, (store) => store.create(made))
    return made
  })

/** Routes everything committed so far. */
const routeAll = Effect.gen(function* () {
  const store = yield* WebhookStore
  let deliveries = 0
  for (;;) {
    const round = yield* store.route({ tenants: 100, events: 1000 })
    deliveries += round.deliveries
    if (round.advanced === 0) return deliveries
  }
})

const attempt = (statusCode: number | undefined, error?: string) =>
  Effect.map(
    Clock.currentTimeMillis,
    (at) =>
      new WebhookAttempt({
        at,
        durationMs: 12,
        ...(statusCode === undefined ? {} : { statusCode }),
        ...(error === undefined ? {} : { error }),
      }),
  )

/** Claims and settles as delivered whatever is due, so that a test starts with nothing pending. */
const drain = Effect.gen(function* () {
  const store = yield* WebhookStore
  yield* routeAll
  for (;;) {
    const claimed = yield* store.claim({ limit: 500, leaseMs: 60_000 })
    if (claimed.length === 0) return
    for (const c of claimed) yield* store.settle(c, yield* attempt(200), { status: "succeeded", failures: 0 })
  }
})

const claimOf = (claimed: ReadonlyArray<ClaimedDelivery>, tenantId: TenantId) =>
  claimed.filter((c) => c.delivery.tenantId === tenantId)

/**
 * The WebhookStore contract: endpoints per tenant; committed events routed to the endpoints whose
 * filter matches, once; deliveries leased to one worker at a time, settled with their attempt log, and
 * replayed on demand.
 */
export const webhookStoreSuite = <E>(name: string, storage: Layer.Layer<WebhookStoreEnv, E>) =>
  describe(`WebhookStore contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect(
        "keeps endpoints per tenant: create, get, list newest first with a cursor, rotate, remove",
        () =>
          Effect.gen(function* () {
            const store = yield* WebhookStore
            const tenant = Fixtures.freshTenant()
            const other = Fixtures.freshTenant()
            const first = yield* endpoint(tenant, ["message.created"], { description: "first" })
            const second = yield* endpoint(tenant, ["*"])
            const third = yield* endpoint(tenant, ["member.added", "member.removed"])
            yield* endpoint(other, ["*"])

            const got = Option.getOrThrow(yield* store.get(tenant, first.id))
            assert.strictEqual(got.url, first.url)
            assert.deepStrictEqual(got.events, ["message.created"])
            assert.strictEqual(got.description, "first")
            assert.strictEqual(got.status, "active")
            assert.strictEqual(Redacted.value(got.secret), secretA)
            assert.isUndefined(got.previousSecret)
            assert.strictEqual(got.createdAt, first.createdAt)
            assert.isTrue(
              Option.isNone(yield* store.get(other, first.id)),
              "another tenant's endpoint is not there",
            )

            const page1 = yield* store.list(tenant, { limit: 2 })
            assert.deepStrictEqual(
              page1.items.map((e) => e.id),
              [third.id, second.id],
            )
            assert.isDefined(page1.nextCursor)
            const page2 = yield* store.list(tenant, { limit: 2, cursor: WebhookId.make(page1.nextCursor!) })
            assert.deepStrictEqual(
              page2.items.map((e) => e.id),
              [first.id],
            )
            assert.isUndefined(page2.nextCursor)

            const at = yield* Clock.currentTimeMillis
            const rotated = Option.getOrThrow(
              yield* store.rotateSecret(tenant, first.id, {
                secret: secretB,
                previousExpiresAt: at + 1000,
                at,
              }),
            )
            assert.strictEqual(Redacted.value(rotated.secret), secretB)
            assert.strictEqual(rotated.previousSecret && Redacted.value(rotated.previousSecret), secretA)
            assert.strictEqual(rotated.previousSecretExpiresAt, at + 1000)
            assert.deepStrictEqual(rotated.signingSecrets(at), [secretB, secretA])
            assert.deepStrictEqual(rotated.signingSecrets(at + 1000), [secretB])
            const reread = Option.getOrThrow(yield* store.get(tenant, first.id))
            assert.deepStrictEqual(reread.signingSecrets(at), [secretB, secretA])
            assert.isTrue(
              Option.isNone(
                yield* store.rotateSecret(other, first.id, { secret: secretB, previousExpiresAt: at, at }),
              ),
            )

            assert.isFalse(yield* store.remove(other, first.id))
            assert.isTrue(yield* store.remove(tenant, first.id))
            assert.isFalse(yield* store.remove(tenant, first.id))
            assert.isTrue(Option.isNone(yield* store.get(tenant, first.id)))
            assert.deepStrictEqual(
              (yield* store.list(tenant, { limit: 10 })).items.map((e) => e.id),
              [third.id, second.id],
            )
          }),
      )

      it.effect(
        "routes each committed event once to the endpoints that existed and whose filter matches",
        () =>
          Effect.gen(function* () {
            const store = yield* WebhookStore
            yield* drain
            const tenant = Fixtures.freshTenant()
            const other = Fixtures.freshTenant()
            // Committed before any endpoint: nobody gets it.
            const conversation = yield* createConversation(tenant, "group", ["ann", "bob"])
            yield* routeAll
            const all = yield* endpoint(tenant, ["*"])
            const messages = yield* endpoint(tenant, ["message.created"])
            const members = yield* endpoint(tenant, ["member.added"])
            const elsewhere = yield* endpoint(other, ["*"])
            const sent = yield* sendMany(conversation, "ann", 3)
            yield* commitAll(conversation, [yield* Fixtures.addMember(Fixtures.user("cat"))])
            yield* commitAll(conversation, [yield* Fixtures.receipt(Fixtures.user("bob"), "read", 2)])

            assert.strictEqual(yield* routeAll, 3 + 1 + 1 + 3 + 1)
            assert.strictEqual(yield* routeAll, 0, "routing again makes nothing new")

            const ofAll = yield* store.deliveries(tenant, all.id, { limit: 50 })
            assert.deepStrictEqual(
              ofAll.items.map((d) => d.eventType),
              ["receipt.read", "member.added", "message.created", "message.created", "message.created"],
            )
            assert.isTrue(ofAll.items.every((d) => d.status === "pending" && d.attempts.length === 0))
            assert.isTrue(ofAll.items.every((d) => d.webhookId === all.id && d.tenantId === tenant))
            const ofMessages = yield* store.deliveries(tenant, messages.id, { limit: 50 })
            assert.strictEqual(ofMessages.items.length, 3)
            assert.isTrue(ofMessages.items.every((d) => d.eventType === "message.created"))
            // The same event for two endpoints: one delivery each, both with the event's id.
            assert.deepStrictEqual(
              ofMessages.items.map((d) => d.id),
              ofAll.items.filter((d) => d.eventType === "message.created").map((d) => d.id),
            )
            assert.strictEqual((yield* store.deliveries(tenant, members.id, { limit: 50 })).items.length, 1)
            assert.strictEqual((yield* store.deliveries(other, elsewhere.id, { limit: 50 })).items.length, 0)

            const claimed = claimOf(yield* store.claim({ limit: 100, leaseMs: 60_000 }), tenant)
            assert.strictEqual(claimed.length, 9)
            const created = claimed.filter(
              (c) => c.event.type === "message.created" && c.delivery.webhookId === messages.id,
            )
            assert.deepStrictEqual(
              created.map((c) => (c.event.type === "message.created" ? c.event.data.message.id : "")).sort(),
              sent.map((m) => m.id as string).sort(),
            )
            for (const c of claimed) {
              assert.strictEqual(c.delivery.id, c.event.id, "a delivery's id is its event's id")
              assert.strictEqual(c.failures, 0)
              assert.strictEqual(c.endpoint.id, c.delivery.webhookId)
            }
            for (const c of claimed)
              yield* store.settle(c, yield* attempt(204), { status: "succeeded", failures: 0 })
            for (const id of [all.id, messages.id, members.id]) yield* store.remove(tenant, id)
            yield* store.remove(other, elsewhere.id)
          }),
      )

      it.effect("makes each delivery once when several routers run at the same time", () =>
        Effect.gen(function* () {
          const store = yield* WebhookStore
          yield* drain
          const tenants = [Fixtures.freshTenant(), Fixtures.freshTenant(), Fixtures.freshTenant()]
          const hooks = yield* Effect.forEach(tenants, (t) => endpoint(t, ["message.created"]))
          yield* Effect.forEach(
            tenants,
            (t) => Effect.flatMap(createConversation(t, "group", ["ann"]), (c) => sendMany(c, "ann", 20)),
            { concurrency: "unbounded" },
          )
          const rounds = yield* Effect.all(
            Array.from({ length: 4 }, () =>
              Effect.gen(function* () {
                let made = 0
                for (;;) {
                  const round = yield* store.route({ tenants: 2, events: 7 })
                  made += round.deliveries
                  if (round.advanced === 0) return made
                }
              }),
            ),
            { concurrency: "unbounded" },
          )
          assert.strictEqual(
            rounds.reduce((a, b) => a + b, 0),
            60,
          )
          for (const [i, tenant] of tenants.entries()) {
            const log = yield* store.deliveries(tenant, hooks[i]!.id, { limit: 50 })
            assert.strictEqual(log.items.length, 20)
            assert.strictEqual(new Set(log.items.map((d) => d.id)).size, 20)
            yield* store.remove(tenant, hooks[i]!.id)
          }
        }),
      )

      it.effect("leases a delivery to one claimer, and gives it back when the lease lapses", () =>
        Effect.gen(function* () {
          const store = yield* WebhookStore
          yield* drain
          const tenant = Fixtures.freshTenant()
          const hook = yield* endpoint(tenant, ["message.created"])
          const conversation = yield* createConversation(tenant, "group", ["ann"])
          yield* sendMany(conversation, "ann", 9)
          yield* routeAll

          const claims = yield* Effect.all(
            Array.from({ length: 4 }, () => store.claim({ limit: 3, leaseMs: 60_000 })),
            { concurrency: "unbounded" },
          )
          assert.isTrue(claims.every((c) => c.length <= 3))
          // Claimers racing may leave some for later (each holds a window of rows while it picks), but they
          // never share one, and a later claim gets exactly what they left.
          const concurrent = claims.flatMap((c) => c.map((d) => d.delivery.id))
          assert.isAtLeast(concurrent.length, 3)
          const after = yield* store.claim({ limit: 10, leaseMs: 60_000 })
          const ids = [...concurrent, ...after.map((d) => d.delivery.id)]
          assert.strictEqual(ids.length, 9)
          assert.strictEqual(new Set(ids).size, 9)
          assert.strictEqual((yield* store.claim({ limit: 10, leaseMs: 60_000 })).length, 0, "all leased")
          for (const c of [...claims.flat(), ...after])
            yield* store.settle(c, yield* attempt(200), { status: "succeeded", failures: 0 })

          yield* sendMany(conversation, "ann", 1, "late")
          yield* routeAll
          const [leased] = yield* store.claim({ limit: 1, leaseMs: 300 })
          assert.isDefined(leased)
          assert.strictEqual((yield* store.claim({ limit: 1, leaseMs: 300 })).length, 0)
          yield* Effect.sleep("450 millis")
          const [again] = yield* store.claim({ limit: 1, leaseMs: 60_000 })
          assert.strictEqual(again?.delivery.id, leased!.delivery.id)
          assert.notStrictEqual(again?.token, leased!.token)
          // The worker whose lease lapsed finishes late: its attempt is logged, but it moves nothing.
          assert.isFalse(yield* store.settle(leased!, yield* attempt(500), { status: "failed", failures: 1 }))
          assert.isTrue(
            yield* store.settle(again!, yield* attempt(200), { status: "succeeded", failures: 0 }),
          )
          const log = Option.getOrThrow(yield* store.delivery(tenant, hook.id, leased!.delivery.id))
          assert.strictEqual(log.status, "succeeded")
          assert.deepStrictEqual(
            log.attempts.map((a) => a.statusCode),
            [500, 200],
          )
          yield* store.remove(tenant, hook.id)
        }),
      )

      it.effect(
        "claims at most perEndpoint of one endpoint, and none of the endpoints it is told to skip",
        () =>
          Effect.gen(function* () {
            const store = yield* WebhookStore
            yield* drain
            const tenant = Fixtures.freshTenant()
            const slow = yield* endpoint(tenant, ["message.created"])
            const fast = yield* endpoint(tenant, ["message.created"])
            const conversation = yield* createConversation(tenant, "group", ["ann"])
            yield* sendMany(conversation, "ann", 6)
            yield* routeAll
            const perHook = (claimed: ReadonlyArray<ClaimedDelivery>, id: string) =>
              claimOf(claimed, tenant).filter((c) => c.delivery.webhookId === id).length

            const first = yield* store.claim({ limit: 5, leaseMs: 60_000, perEndpoint: 2 })
            assert.strictEqual(perHook(first, slow.id), 2)
            assert.strictEqual(perHook(first, fast.id), 2)
            assert.strictEqual(first.length, 4, "the cap leaves the limit unfilled rather than overrun it")
            const second = yield* store.claim({
              limit: 10,
              leaseMs: 60_000,
              skip: [{ tenantId: tenant, webhookId: slow.id }],
            })
            assert.strictEqual(perHook(second, slow.id), 0)
            assert.strictEqual(perHook(second, fast.id), 4)
            const rest = yield* store.claim({ limit: 10, leaseMs: 60_000 })
            assert.strictEqual(perHook(rest, slow.id), 4)
            for (const c of [...first, ...second, ...rest])
              yield* store.settle(c, yield* attempt(200), { status: "succeeded", failures: 0 })
            yield* store.remove(tenant, slow.id)
            yield* store.remove(tenant, fast.id)
          }),
      )

      it.effect("settles attempts: retried when due, failed for good, and logged oldest first", () =>
        Effect.gen(function* () {
          const store = yield* WebhookStore
          yield* drain
          const tenant = Fixtures.freshTenant()
          const hook = yield* endpoint(tenant, ["message.created"])
          const conversation = yield* createConversation(tenant, "group", ["ann"])
          const [message] = yield* sendMany(conversation, "ann", 1)
          yield* routeAll

          const [first] = claimOf(yield* store.claim({ limit: 10, leaseMs: 60_000 }), tenant)
          assert.isDefined(first)
          assert.strictEqual(first!.event.type, "message.created")
          assert.strictEqual(
            first!.event.type === "message.created" ? first!.event.data.message.id : undefined,
            message!.id,
          )
          const now = yield* Clock.currentTimeMillis
          assert.isTrue(
            yield* store.settle(first!, yield* attempt(500), {
              status: "pending",
              failures: 1,
              nextAttemptAt: now + 300,
            }),
          )
          const waiting = Option.getOrThrow(yield* store.delivery(tenant, hook.id, first!.delivery.id))
          assert.strictEqual(waiting.status, "pending")
          assert.strictEqual(waiting.nextAttemptAt, now + 300)
          assert.strictEqual((yield* store.claim({ limit: 10, leaseMs: 60_000 })).length, 0, "not due yet")
          yield* Effect.sleep("400 millis")
          const [second] = yield* store.claim({ limit: 10, leaseMs: 60_000 })
          assert.strictEqual(second?.delivery.id, first!.delivery.id)
          assert.strictEqual(second?.failures, 1)
          yield* store.settle(second!, yield* attempt(undefined, "connect ECONNREFUSED"), {
            status: "failed",
            failures: 2,
          })
          const failed = Option.getOrThrow(yield* store.delivery(tenant, hook.id, first!.delivery.id))
          assert.strictEqual(failed.status, "failed")
          assert.isUndefined(failed.nextAttemptAt)
          assert.deepStrictEqual(
            failed.attempts.map((a) => [a.statusCode ?? null, a.error ?? null, a.durationMs]),
            [
              [500, null, 12],
              [null, "connect ECONNREFUSED", 12],
            ],
          )
          assert.isTrue(failed.attempts[0]!.at <= failed.attempts[1]!.at)
          assert.strictEqual((yield* store.claim({ limit: 10, leaseMs: 60_000 })).length, 0)
          yield* store.remove(tenant, hook.id)
        }),
      )

      it.effect(
        "filters and pages the log by status, replays a delivery with its id, and forgets a removed endpoint",
        () =>
          Effect.gen(function* () {
            const store = yield* WebhookStore
            yield* drain
            const tenant = Fixtures.freshTenant()
            const other = Fixtures.freshTenant()
            const hook = yield* endpoint(tenant, ["message.created"])
            const conversation = yield* createConversation(tenant, "group", ["ann"])
            yield* sendMany(conversation, "ann", 5)
            yield* routeAll
            const claimed = claimOf(yield* store.claim({ limit: 10, leaseMs: 60_000 }), tenant)
            assert.strictEqual(claimed.length, 5)
            // Oldest two succeed, the next fails for good, the last two stay pending.
            const ordered = [...claimed].sort((a, b) => (a.delivery.id < b.delivery.id ? -1 : 1))
            const now = yield* Clock.currentTimeMillis
            yield* store.settle(ordered[0]!, yield* attempt(200), { status: "succeeded", failures: 0 })
            yield* store.settle(ordered[1]!, yield* attempt(200), { status: "succeeded", failures: 0 })
            yield* store.settle(ordered[2]!, yield* attempt(400), { status: "failed", failures: 8 })
            for (const c of ordered.slice(3))
              yield* store.settle(c, yield* attempt(503), {
                status: "pending",
                failures: 1,
                nextAttemptAt: now + 60_000,
              })

            const byStatus = (status: "pending" | "succeeded" | "failed") =>
              Effect.map(store.deliveries(tenant, hook.id, { limit: 50, status }), (page) =>
                page.items.map((d) => d.id),
              )
            assert.deepStrictEqual(yield* byStatus("succeeded"), [
              ordered[1]!.delivery.id,
              ordered[0]!.delivery.id,
            ])
            assert.deepStrictEqual(yield* byStatus("failed"), [ordered[2]!.delivery.id])
            assert.deepStrictEqual(yield* byStatus("pending"), [
              ordered[4]!.delivery.id,
              ordered[3]!.delivery.id,
            ])

            const pages: Array<string> = []
            let cursor: number | undefined
            for (;;) {
              const page = yield* store.deliveries(tenant, hook.id, { limit: 2, cursor })
              pages.push(...page.items.map((d) => d.id))
              if (page.nextCursor === undefined) break
              cursor = Number(page.nextCursor)
            }
            assert.deepStrictEqual(pages, ordered.map((c) => c.delivery.id as string).reverse())
            assert.strictEqual((yield* store.deliveries(other, hook.id, { limit: 50 })).items.length, 0)

            const depth = yield* store.depth
            assert.isAtLeast(depth.count, 2)
            assert.isDefined(depth.oldestAt)

            // Replay of the failed one: pending now, a fresh series, the same id.
            const at = yield* Clock.currentTimeMillis
            const replayed = Option.getOrThrow(
              yield* store.retry(tenant, hook.id, ordered[2]!.delivery.id, at),
            )
            assert.strictEqual(replayed.id, ordered[2]!.delivery.id)
            assert.strictEqual(replayed.status, "pending")
            assert.strictEqual(replayed.nextAttemptAt, at)
            assert.strictEqual(replayed.attempts.length, 1)
            const [again] = claimOf(yield* store.claim({ limit: 10, leaseMs: 60_000 }), tenant)
            assert.strictEqual(again?.delivery.id, ordered[2]!.delivery.id)
            assert.strictEqual(again?.failures, 0, "a replay starts a new series")
            // A replay while a worker holds the lease takes the delivery from it.
            const reclaimed = Option.getOrThrow(yield* store.retry(tenant, hook.id, again!.delivery.id, at))
            assert.strictEqual(reclaimed.status, "pending")
            assert.isFalse(
              yield* store.settle(again!, yield* attempt(200), { status: "succeeded", failures: 0 }),
            )
            const [third] = claimOf(yield* store.claim({ limit: 10, leaseMs: 60_000 }), tenant)
            assert.strictEqual(third?.delivery.id, again!.delivery.id)
            assert.isTrue(
              yield* store.settle(third!, yield* attempt(200), { status: "succeeded", failures: 0 }),
            )
            const done = Option.getOrThrow(yield* store.delivery(tenant, hook.id, third!.delivery.id))
            assert.strictEqual(done.status, "succeeded")
            assert.strictEqual(done.attempts.length, 3)

            assert.isTrue(Option.isNone(yield* store.retry(other, hook.id, third!.delivery.id, at)))
            assert.isTrue(Option.isNone(yield* store.delivery(other, hook.id, third!.delivery.id)))

            yield* store.remove(tenant, hook.id)
            assert.isTrue(Option.isNone(yield* store.delivery(tenant, hook.id, third!.delivery.id)))
            assert.strictEqual((yield* store.deliveries(tenant, hook.id, { limit: 50 })).items.length, 0)
            assert.strictEqual(
              claimOf(yield* store.claim({ limit: 50, leaseMs: 60_000 }), tenant).length,
              0,
              "a removed endpoint's deliveries are gone",
            )
          }),
      )

      it.effect(
        "disables an endpoint that answered 410: its pending deliveries fail and nothing new is routed",
        () =>
          Effect.gen(function* () {
            const store = yield* WebhookStore
            yield* drain
            const tenant = Fixtures.freshTenant()
            const hook = yield* endpoint(tenant, ["message.created"])
            const conversation = yield* createConversation(tenant, "group", ["ann"])
            yield* sendMany(conversation, "ann", 3)
            yield* routeAll
            const [gone, ...rest] = claimOf(yield* store.claim({ limit: 1, leaseMs: 60_000 }), tenant)
            assert.isDefined(gone)
            assert.strictEqual(rest.length, 0)
            yield* store.settle(gone!, yield* attempt(410), {
              status: "failed",
              failures: 1,
              disable: { reason: "the endpoint answered 410 Gone" },
            })
            const disabled = Option.getOrThrow(yield* store.get(tenant, hook.id))
            assert.strictEqual(disabled.status, "disabled")
            assert.strictEqual(disabled.disabledReason, "the endpoint answered 410 Gone")
            const log = yield* store.deliveries(tenant, hook.id, { limit: 50 })
            assert.deepStrictEqual(
              log.items.map((d) => d.status),
              ["failed", "failed", "failed"],
            )
            assert.strictEqual(claimOf(yield* store.claim({ limit: 50, leaseMs: 60_000 }), tenant).length, 0)
            yield* sendMany(conversation, "ann", 2, "after")
            yield* routeAll
            assert.strictEqual((yield* store.deliveries(tenant, hook.id, { limit: 50 })).items.length, 3)
            yield* store.remove(tenant, hook.id)
          }),
      )
    })
  })
