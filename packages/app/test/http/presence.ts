import { MemoryPresence } from "@chat4all/adapters/memory"
import { Caller, type Ids } from "@chat4all/domain"
import { assert, it as effectIt } from "@effect/vitest"
import { Effect, TestClock } from "effect"
import { expect, it } from "vitest"
import * as Presence from "../../src/usecases/Presence.js"
import { eachBackend } from "../support/Backends.js"
import { expectProblem, isoPattern, tenant } from "../support/Fixtures.js"

eachBackend("presence over HTTP", (server) => {
  it("records heartbeats and reads one user or several, in the caller's tenant only", async () => {
    const { tokens } = await tenant(server())
    const other = await tenant(server())
    const never = await server().request("GET", "/v1/presence/bob", { token: tokens.alice })
    expect(never.body).toEqual({ userId: "bob", status: "offline", lastSeen: null })
    const put = await server().request("PUT", "/v1/presence", { token: tokens.bob, body: { status: "away" } })
    expect(put.status).toBe(200)
    expect(put.body).toMatchObject({ userId: "bob", status: "away" })
    expect(put.body.lastSeen).toMatch(isoPattern)
    await server().request("PUT", "/v1/presence", { token: tokens.carol, body: { status: "online" } })
    const one = await server().request("GET", "/v1/presence/bob", { token: tokens.alice })
    expect(one.body).toMatchObject({ userId: "bob", status: "away" })
    const many = await server().request("GET", "/v1/presence?userIds=bob,carol,dave", { token: tokens.alice })
    expect(many.status).toBe(200)
    expect(many.body.items.map((p: { userId: string; status: string }) => [p.userId, p.status])).toEqual([
      ["bob", "away"],
      ["carol", "online"],
      ["dave", "offline"],
    ])
    const elsewhere = await server().request("GET", "/v1/presence/bob", { token: other.tokens.alice })
    expect(elsewhere.body.status).toBe("offline")
  })

  it("refuses bad presence input", async () => {
    const { tokens } = await tenant(server())
    expectProblem(
      await server().request("PUT", "/v1/presence", { token: tokens.bob, body: { status: "offline" } }),
      400,
      "invalid_request",
      "status",
    )
    expectProblem(
      await server().request("GET", "/v1/presence?userIds=a,b%20c", { token: tokens.bob }),
      400,
      "invalid_request",
      "userIds",
    )
    expectProblem(
      await server().request("GET", "/v1/presence", { token: tokens.bob }),
      400,
      "invalid_request",
      "userIds",
    )
    expectProblem(
      await server().request("GET", "/v1/presence?userIds=,", { token: tokens.bob }),
      400,
      "invalid_request",
      "userIds",
    )
    const tooMany = Array.from({ length: 201 }, (_, i) => `u${i}`).join(",")
    expectProblem(
      await server().request("GET", `/v1/presence?userIds=${tooMany}`, { token: tokens.bob }),
      400,
      "invalid_request",
      "userIds",
    )
    expectProblem(
      await server().request("PUT", "/v1/presence", { body: { status: "online" } }),
      401,
      "unauthorized",
    )
    const still = await server().request("GET", "/v1/presence/bob", { token: tokens.alice })
    expect(still.body.status).toBe("offline")
  })
})

effectIt.effect("a heartbeat lapses after 60 s", () =>
  Effect.gen(function* () {
    const caller = new Caller.Caller({
      tenantId: "t" as Ids.TenantId,
      userId: "bob" as Ids.UserId,
      role: "user",
    })
    yield* Presence.heartbeat(caller, "online")
    yield* TestClock.adjust("59 seconds")
    assert.strictEqual((yield* Presence.presenceOf(caller, [caller.userId]))[0]?.status, "online")
    yield* TestClock.adjust("2 seconds")
    const [state] = yield* Presence.presenceOf(caller, [caller.userId])
    assert.strictEqual(state?.status, "offline")
    assert.strictEqual(state?.lastSeen, 0)
  }).pipe(Effect.provide(MemoryPresence.layer)),
)
