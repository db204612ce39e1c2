import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { ChannelIdentity } from "../model/ChannelIdentity.js"
import type { ChannelName } from "../model/Delivery.js"
import type { TenantId } from "../model/Ids.js"
import { IdentityStore } from "../ports/IdentityStore.js"
import * as Fixtures from "./Fixtures.js"
import type { StorageEnv } from "./Storage.js"

const identity = (
  tenantId: TenantId,
  userId: string,
  channel: string,
  address: string,
  displayName?: string,
) =>
  new ChannelIdentity({
    tenantId,
    userId: Fixtures.user(userId),
    channel: channel as ChannelName,
    address,
    ...(displayName === undefined ? {} : { displayName }),
    updatedAt: 1_700_000_000_000,
  })

/** The IdentityStore contract: one address per user and channel, found both ways, within a tenant. */
export const identityStoreSuite = <E>(name: string, storage: Layer.Layer<StorageEnv, E>) =>
  describe(`IdentityStore contract: ${name}`, () => {
    layer(storage, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("stores, replaces, finds and removes identities", () =>
        Effect.gen(function* () {
          const store = yield* IdentityStore
          const tenant = Fixtures.freshTenant()
          yield* store.put(identity(tenant, "ann", "whatsapp", "+5511999990000", "Ann"))
          yield* store.put(identity(tenant, "ann", "telegram", "1234"))
          yield* store.put(identity(tenant, "bob", "whatsapp", "+5511888880000"))
          yield* store.put(identity(tenant, "ann", "whatsapp", "+5511777770000"))
          const ann = yield* store.list(tenant, [Fixtures.user("ann")])
          assert.deepStrictEqual(ann.map((i) => [i.channel, i.address, i.displayName ?? null]).sort(), [
            ["telegram", "1234", null],
            ["whatsapp", "+5511777770000", null],
          ])
          const both = yield* store.list(tenant, [Fixtures.user("ann"), Fixtures.user("bob")])
          assert.strictEqual(both.length, 3)
          const found = yield* store.findByAddress(tenant, "whatsapp", "+5511888880000")
          assert.strictEqual(found?.userId, "bob")
          assert.isUndefined(yield* store.findByAddress(tenant, "whatsapp", "+5511999990000"))
          assert.isUndefined(yield* store.findByAddress(tenant, "telegram", "+5511888880000"))
          assert.isTrue(yield* store.remove(tenant, Fixtures.user("ann"), "telegram"))
          assert.isFalse(yield* store.remove(tenant, Fixtures.user("ann"), "telegram"))
          assert.strictEqual((yield* store.list(tenant, [Fixtures.user("ann")])).length, 1)
        }),
      )

      it.effect("keeps tenants apart", () =>
        Effect.gen(function* () {
          const store = yield* IdentityStore
          const a = Fixtures.freshTenant()
          const b = Fixtures.freshTenant()
          yield* store.put(identity(a, "ann", "whatsapp", "+1"))
          assert.strictEqual((yield* store.list(b, [Fixtures.user("ann")])).length, 0)
          assert.isUndefined(yield* store.findByAddress(b, "whatsapp", "+1"))
          assert.isFalse(yield* store.remove(b, Fixtures.user("ann"), "whatsapp"))
          assert.strictEqual((yield* store.list(a, [Fixtures.user("ann")])).length, 1)
        }),
      )
    })
  })
