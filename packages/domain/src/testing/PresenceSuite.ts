import { assert, describe, layer } from "@effect/vitest"
import { Effect, type Layer } from "effect"
import { Presence } from "../ports/Presence.js"
import * as Fixtures from "./Fixtures.js"

const u = Fixtures.user

/** The Presence contract: heartbeats hold a status for their TTL; then offline with the last time seen. */
export const presenceSuite = <E>(name: string, presence: Layer.Layer<Presence, E>) =>
  describe(`Presence contract: ${name}`, () => {
    layer(presence, { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      it.effect("reports online, away and offline with lastSeen", () =>
        Effect.gen(function* () {
          const p = yield* Presence
          const tenant = Fixtures.freshTenant()
          const before = Date.now()
          yield* p.heartbeat(tenant, u("ann"), "online", 60_000)
          yield* p.heartbeat(tenant, u("bob"), "away", 60_000)
          const [ann, bob, cid] = yield* p.get(tenant, [u("ann"), u("bob"), u("cid")])
          assert.strictEqual(ann?.status, "online")
          assert.isAtLeast(ann?.lastSeen ?? 0, before - 1000)
          assert.strictEqual(bob?.status, "away")
          assert.strictEqual(cid?.status, "offline")
          assert.isUndefined(cid?.lastSeen)
          const gone = yield* p.offline(tenant, u("ann"))
          assert.strictEqual(gone.status, "offline")
          const [annAfter] = yield* p.get(tenant, [u("ann")])
          assert.strictEqual(annAfter?.status, "offline")
          assert.isDefined(annAfter?.lastSeen)
          const [foreign] = yield* p.get(Fixtures.freshTenant(), [u("bob")])
          assert.strictEqual(foreign?.status, "offline")
        }),
      )

      it.effect("lets a heartbeat lapse after its TTL", () =>
        Effect.gen(function* () {
          const p = yield* Presence
          const tenant = Fixtures.freshTenant()
          yield* p.heartbeat(tenant, u("ann"), "online", 1_000)
          assert.strictEqual((yield* p.get(tenant, [u("ann")]))[0]?.status, "online")
          yield* Effect.sleep("1500 millis")
          const [lapsed] = yield* p.get(tenant, [u("ann")])
          assert.strictEqual(lapsed?.status, "offline")
          assert.isDefined(lapsed?.lastSeen)
          yield* p.heartbeat(tenant, u("ann"), "online", 60_000)
          assert.strictEqual((yield* p.get(tenant, [u("ann")]))[0]?.status, "online")
        }),
      )
    })
  })
