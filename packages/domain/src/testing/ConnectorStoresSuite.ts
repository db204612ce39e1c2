import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer, Option } from "effect"
import { ConnectorConfig } from "../model/ConnectorConfig.js"
import type { ChannelName } from "../model/Delivery.js"
import type { MessageId, TenantId } from "../model/Ids.js"
import { type ClaimedSend, ConnectorOutbox } from "../ports/ConnectorOutbox.js"
import { ConnectorSettingsStore } from "../ports/ConnectorSettingsStore.js"
import { ProviderRefs } from "../ports/ProviderRefs.js"
import type { PlannedDelivery } from "../rules/Routing.js"
import * as Fixtures from "./Fixtures.js"
import { commitAll, createConversation, type StorageEnv, sendMany } from "./Storage.js"

/** What the suite runs on: an adapter's storage with its connector stores over the same data. */
export type ConnectorStoresEnv = StorageEnv | ConnectorSettingsStore | ProviderRefs | ConnectorOutbox

const channel = (name: string) => name as ChannelName

const config = (tenantId: TenantId, connector: string, at: number, settings: unknown, enabled = true) =>
  new ConnectorConfig({
    tenantId,
    connector: channel(connector),
    enabled,
    settings,
    inboxUserId: Fixtures.user("inbox"),
    createdAt: at,
    updatedAt: at,
  })

const planned = (
  messageId: MessageId,
  userId: string,
  on = "whatsapp",
  address = "5511999990000",
): PlannedDelivery => ({
  messageId,
  userId: Fixtures.user(userId),
  channel: on,
  address,
})

/** Every stretch of `tenantId` claimed and committed with no sends; other tenants' claims are committed too. */
const routeNothing = Effect.gen(function* () {
  const outbox = yield* ConnectorOutbox
  for (;;) {
    const claims = yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })
    if (claims.length === 0) return
    for (const claim of claims) yield* outbox.commitRoute(claim, [])
  }
})

/** Settles whatever is due as succeeded, so that a test starts with nothing pending. */
const drainSends = Effect.gen(function* () {
  const outbox = yield* ConnectorOutbox
  for (;;) {
    const claimed = yield* outbox.claim({ limit: 500, leaseMs: 60_000 })
    if (claimed.length === 0) return
    for (const c of claimed) yield* outbox.settle(c, { status: "succeeded", failures: c.failures })
  }
})

const ofTenant = (claimed: ReadonlyArray<ClaimedSend>, tenantId: TenantId) =>
  claimed.filter((c) => c.tenantId === tenantId)

/**
 * The contracts of the connector stores: per-tenant connector configurations; provider references unique
 * per tenant, connector and provider id; and the connector outbox, which routes each tenant's committed
 * messages from a cursor under a fenced lease and leases sends to one worker at a time.
 */
export const connectorStoresSuite = <E>(name: string, storage: Layer.Layer<ConnectorStoresEnv, E>) =>
  describe(`connector stores contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect(
        "keeps each tenant's connector configurations, replacing them but not their creation time",
        () =>
          Effect.gen(function* () {
            const store = yield* ConnectorSettingsStore
            const tenant = Fixtures.freshTenant()
            const other = Fixtures.freshTenant()
            const settings = {
              baseUrl: "https://graph.example",
              token: "s3cr3t",
              nested: { list: [1, "two", null] },
            }
            yield* store.put(config(tenant, "whatsapp", 1000, settings))
            yield* store.put(config(tenant, "telegram", 1001, { botToken: "t" }, false))
            yield* store.put(config(other, "whatsapp", 1002, { other: true }))

            const got = Option.getOrThrow(yield* store.get(tenant, "whatsapp"))
            assert.deepStrictEqual(got.settings, settings)
            assert.strictEqual(got.enabled, true)
            assert.strictEqual(got.inboxUserId, "inbox")
            assert.strictEqual(got.createdAt, 1000)
            assert.deepStrictEqual(
              (yield* store.list(tenant)).map((c) => [c.connector, c.enabled]),
              [
                ["telegram", false],
                ["whatsapp", true],
              ],
            )
            assert.isTrue(Option.isNone(yield* store.get(tenant, "instagram")))

            yield* store.put(
              new ConnectorConfig({
                ...config(tenant, "whatsapp", 5000, { replaced: 1 }, false),
                inboxUserId: Fixtures.user("desk"),
              }),
            )
            const replaced = Option.getOrThrow(yield* store.get(tenant, "whatsapp"))
            assert.deepStrictEqual(replaced.settings, { replaced: 1 })
            assert.strictEqual(replaced.enabled, false)
            assert.strictEqual(replaced.inboxUserId, "desk")
            assert.strictEqual(replaced.createdAt, 1000, "the first creation time stays")
            assert.strictEqual(replaced.updatedAt, 5000)
            assert.deepStrictEqual(Option.getOrThrow(yield* store.get(other, "whatsapp")).settings, {
              other: true,
            })
          }),
      )

      it.effect("records each provider id once per tenant and connector, and finds it", () =>
        Effect.gen(function* () {
          const refs = yield* ProviderRefs
          const tenant = Fixtures.freshTenant()
          const other = Fixtures.freshTenant()
          const ref = {
            tenantId: tenant,
            connector: channel("whatsapp"),
            providerMessageId: "wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYFjNFQjA=",
            direction: "outbound" as const,
            messageId: "1700000000000-4a9e0c6e-6d1b-4c1f-9a55-3b0c1f2a7d10" as MessageId,
            userId: Fixtures.user("bob"),
            channel: channel("whatsapp"),
            createdAt: 1234,
          }
          assert.isTrue(yield* refs.record(ref))
          assert.isFalse(
            yield* refs.record({ ...ref, direction: "inbound", userId: Fixtures.user("eve") }),
            "a provider id already recorded is not taken again",
          )
          assert.deepStrictEqual(
            Option.getOrThrow(yield* refs.find(tenant, "whatsapp", ref.providerMessageId)),
            ref,
          )
          assert.isTrue(Option.isNone(yield* refs.find(other, "whatsapp", ref.providerMessageId)))
          assert.isTrue(Option.isNone(yield* refs.find(tenant, "telegram", ref.providerMessageId)))
          assert.isTrue(yield* refs.record({ ...ref, tenantId: other }), "another tenant has its own ids")
          assert.isTrue(
            yield* refs.record({ ...ref, connector: channel("telegram") }),
            "so has another connector",
          )
        }),
      )

      it.effect("routes a followed tenant's messages from the head on, once, under a fenced lease", () =>
        Effect.gen(function* () {
          const outbox = yield* ConnectorOutbox
          yield* routeNothing
          yield* drainSends
          const tenant = Fixtures.freshTenant()
          const conversation = yield* createConversation(tenant, "group", ["ann", "bob"])
          yield* sendMany(conversation, "ann", 2, "before")
          // Not followed: nothing to claim.
          const unfollowed = yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })
          assert.isTrue(unfollowed.every((c) => c.tenantId !== tenant))
          for (const claim of unfollowed) yield* outbox.commitRoute(claim, [])

          yield* outbox.follow(tenant)
          yield* outbox.follow(tenant)
          const sent = yield* sendMany(conversation, "bob", 3, "after")
          yield* commitAll(conversation, [yield* Fixtures.addMember(Fixtures.user("cat"))])
          const [claim, ...rest] = (yield* outbox.claimRoutes({
            tenants: 100,
            events: 1000,
            leaseMs: 60_000,
          })).filter((c) => c.tenantId === tenant)
          assert.isDefined(claim)
          assert.strictEqual(rest.length, 0)
          assert.deepStrictEqual(
            claim!.messages.map((m) => m.id),
            sent.map((m) => m.id),
            "the messages committed after follow, in order, and nothing else",
          )
          assert.deepStrictEqual(
            claim!.messages.map((m) => (m.content.type === "text" ? m.content.text : "")),
            ["after 1", "after 2", "after 3"],
          )
          // Leased: another router gets nothing of this tenant.
          const meanwhile = yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })
          assert.isTrue(meanwhile.every((c) => c.tenantId !== tenant))

          const deliveries = sent.map((m) => planned(m.id, "ann"))
          assert.isTrue(yield* outbox.commitRoute(claim!, deliveries))
          assert.isFalse(yield* outbox.commitRoute(claim!, deliveries), "a claim commits once")
          const again = yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })
          assert.isTrue(
            again.every((c) => c.tenantId !== tenant),
            "the cursor moved past the stretch",
          )

          const claimed = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant)
          assert.deepStrictEqual(
            claimed.map((c) => c.delivery),
            deliveries,
          )
          assert.isTrue(claimed.every((c) => c.failures === 0))
          for (const c of claimed) yield* outbox.settle(c, { status: "succeeded", failures: 0 })
        }),
      )

      it.effect(
        "lets a lapsed route lease go to the next router; the late one's commit changes nothing",
        () =>
          Effect.gen(function* () {
            const outbox = yield* ConnectorOutbox
            yield* routeNothing
            yield* drainSends
            const tenant = Fixtures.freshTenant()
            yield* outbox.follow(tenant)
            const conversation = yield* createConversation(tenant, "group", ["ann", "bob"])
            const [message] = yield* sendMany(conversation, "ann", 1)
            const first = (yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 1 })).find(
              (c) => c.tenantId === tenant,
            )
            assert.isDefined(first)
            yield* Effect.sleep("20 millis")
            const second = (yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })).find(
              (c) => c.tenantId === tenant,
            )
            assert.isDefined(second, "the lapsed lease is claimed again")
            assert.deepStrictEqual(
              second!.messages.map((m) => m.id),
              [message!.id],
            )
            assert.isFalse(
              yield* outbox.commitRoute(first!, [planned(message!.id, "bob", "telegram", "1")]),
              "the first router lost its claim",
            )
            assert.isTrue(yield* outbox.commitRoute(second!, [planned(message!.id, "bob")]))
            const claimed = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant)
            assert.deepStrictEqual(
              claimed.map((c) => c.delivery.channel),
              ["whatsapp"],
            )
            for (const c of claimed) yield* outbox.settle(c, { status: "succeeded", failures: 0 })
          }),
      )

      it.effect("makes each send once even when a stretch is routed twice", () =>
        Effect.gen(function* () {
          const outbox = yield* ConnectorOutbox
          yield* routeNothing
          yield* drainSends
          const tenant = Fixtures.freshTenant()
          yield* outbox.follow(tenant)
          const conversation = yield* createConversation(tenant, "group", ["ann", "bob", "cat"])
          const [message] = yield* sendMany(conversation, "ann", 1)
          const claim = (yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })).find(
            (c) => c.tenantId === tenant,
          )!
          const once = [planned(message!.id, "bob"), planned(message!.id, "cat", "telegram", "42")]
          assert.isTrue(yield* outbox.commitRoute(claim, [...once, planned(message!.id, "bob")]))
          // Another stretch names the same sends (a router that redid the work): nothing doubles.
          const [later] = yield* sendMany(conversation, "ann", 1, "later")
          const next = (yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })).find(
            (c) => c.tenantId === tenant,
          )!
          assert.isTrue(yield* outbox.commitRoute(next, [...once, planned(later!.id, "bob")]))
          const claimed = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant)
          assert.deepStrictEqual(
            claimed.map((c) => [c.delivery.messageId, c.delivery.userId, c.delivery.channel]).sort(),
            [
              [message!.id, "bob", "whatsapp"],
              [message!.id, "cat", "telegram"],
              [later!.id, "bob", "whatsapp"],
            ].sort(),
          )
          for (const c of claimed) yield* outbox.settle(c, { status: "succeeded", failures: 0 })
        }),
      )

      it.effect("leases sends to one worker at a time, retries them when due, and fences settlements", () =>
        Effect.gen(function* () {
          const outbox = yield* ConnectorOutbox
          yield* routeNothing
          yield* drainSends
          const tenant = Fixtures.freshTenant()
          yield* outbox.follow(tenant)
          const conversation = yield* createConversation(tenant, "group", ["ann", "bob"])
          const messages = yield* sendMany(conversation, "ann", 3)
          const claim = (yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })).find(
            (c) => c.tenantId === tenant,
          )!
          yield* outbox.commitRoute(
            claim,
            messages.map((m) => planned(m.id, "bob")),
          )
          const before = yield* outbox.depth
          assert.isAtLeast(before.count, 3)
          assert.isDefined(before.oldestAt)

          const [a, b, c] = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant)
          assert.isDefined(c)
          assert.strictEqual(
            ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant).length,
            0,
            "leased sends are nobody else's",
          )
          const now = Date.now()
          assert.isTrue(yield* outbox.settle(a!, { status: "succeeded", failures: 0 }))
          assert.isFalse(
            yield* outbox.settle(a!, { status: "failed", failures: 1, error: "x" }),
            "settled once",
          )
          assert.isTrue(
            yield* outbox.settle(b!, {
              status: "pending",
              failures: 1,
              nextAttemptAt: now + 60_000,
              error: "HTTP 503",
            }),
          )
          assert.isTrue(
            yield* outbox.settle(c!, {
              status: "pending",
              failures: 2,
              nextAttemptAt: now - 1,
              error: "HTTP 429",
            }),
          )

          const retried = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant)
          assert.deepStrictEqual(
            retried.map((r) => [r.delivery.messageId, r.failures]),
            [[c!.delivery.messageId, 2]],
            "only the due retry comes back, with its failures",
          )
          assert.isFalse(
            yield* outbox.settle(c!, { status: "succeeded", failures: 2 }),
            "the earlier claim's lease is fenced off",
          )
          assert.isTrue(
            yield* outbox.settle(retried[0]!, { status: "failed", failures: 3, error: "gave up" }),
          )
          assert.strictEqual(ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant).length, 0)

          // A lapsed lease comes back to the next worker.
          yield* outbox.follow(tenant)
          const [extra] = yield* sendMany(conversation, "ann", 1, "extra")
          const next = (yield* outbox.claimRoutes({ tenants: 100, events: 1000, leaseMs: 60_000 })).find(
            (r) => r.tenantId === tenant,
          )!
          yield* outbox.commitRoute(next, [planned(extra!.id, "bob")])
          const lapsing = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 1 }), tenant)
          assert.strictEqual(lapsing.length, 1)
          yield* Effect.sleep("20 millis")
          const taken = ofTenant(yield* outbox.claim({ limit: 500, leaseMs: 60_000 }), tenant)
          assert.deepStrictEqual(
            taken.map((t) => t.delivery.messageId),
            [extra!.id],
          )
          assert.isFalse(yield* outbox.settle(lapsing[0]!, { status: "succeeded", failures: 0 }))
          assert.isTrue(yield* outbox.settle(taken[0]!, { status: "succeeded", failures: 0 }))
        }),
      )
    })
  })
