import { EventLog, Fanout, type Ids, Outbox, OutboxRelay } from "@chat4all/domain"
import { Clock, Context, Duration, Effect, Layer } from "effect"

export type Status = "ok" | "degraded" | "down"

export interface Check {
  readonly status: Status
  readonly latencyMs?: number
  readonly detail?: string
}

export interface Report {
  readonly status: Status
  readonly checks: Record<string, Check>
  readonly uptimeS: number
}

/** Liveness (the process answers) and readiness (a check per dependency). */
export class Health extends Context.Tag("@chat4all/app/Health")<
  Health,
  { readonly live: Effect.Effect<Report>; readonly ready: Effect.Effect<Report> }
>() {}

const probeTimeout = Duration.seconds(2)
/** The relay is stuck when it has not finished a round for this long. */
const relayStaleMs = 10_000
/** The outbox lags when its oldest entry is older than this. */
const outboxLagMs = 60_000

const worst = (checks: ReadonlyArray<Check>): Status =>
  checks.some((c) => c.status === "down")
    ? "down"
    : checks.some((c) => c.status === "degraded")
      ? "degraded"
      : "ok"

/** Runs a probe with a deadline: its failure or timeout is `down`, with the reason. */
const timed = <E, R>(probe: Effect.Effect<Check, E, R>): Effect.Effect<Check, never, R> =>
  Effect.gen(function* () {
    const start = yield* Clock.currentTimeMillis
    const outcome = yield* probe.pipe(Effect.timeout(probeTimeout), Effect.either)
    const latencyMs = (yield* Clock.currentTimeMillis) - start
    if (outcome._tag === "Right") return { ...outcome.right, latencyMs }
    const error = outcome.left
    const detail =
      error !== null && typeof error === "object" && "_tag" in error && error._tag === "TimeoutException"
        ? `no answer within ${Duration.format(probeTimeout)}`
        : error instanceof Error
          ? error.message
          : String(error)
    return { status: "down" as const, latencyMs, detail }
  })

export const make = (options: { readonly databaseName: string }) =>
  Effect.gen(function* () {
    const log = yield* EventLog.EventLog
    const outbox = yield* Outbox.Outbox
    const fanout = yield* Fanout.Fanout
    const relay = yield* OutboxRelay.OutboxRelay
    const startedAt = yield* Clock.currentTimeMillis
    const uptimeS = Effect.map(Clock.currentTimeMillis, (now) => Math.round((now - startedAt) / 100) / 10)

    const database = timed(Effect.as(log.head("health-probe" as Ids.TenantId), { status: "ok" as const }))
    const fanoutCheck = timed(Effect.as(fanout.publish([]), { status: "ok" as const }))
    const outboxCheck = timed(
      Effect.gen(function* () {
        const now = yield* Clock.currentTimeMillis
        const depth = yield* outbox.depth
        const lastRound = yield* relay.lastRoundAt
        const ageMs = depth.oldestAt === undefined ? 0 : now - depth.oldestAt
        const detail = `${depth.count} pending, oldest ${Math.round(ageMs / 1000)} s`
        if (lastRound === undefined || now - lastRound > relayStaleMs)
          return {
            status: "degraded" as const,
            detail: `the relay has not completed a round recently; ${detail}`,
          }
        return ageMs > outboxLagMs
          ? { status: "degraded" as const, detail }
          : { status: "ok" as const, detail }
      }),
    )

    return Health.of({
      live: Effect.map(uptimeS, (s) => ({ status: "ok", checks: {}, uptimeS: s })),
      ready: Effect.gen(function* () {
        const [db, out, fan] = yield* Effect.all([database, outboxCheck, fanoutCheck], {
          concurrency: "unbounded",
        })
        const checks = { [options.databaseName]: db, outbox: out, fanout: fan }
        return { status: worst([db, out, fan]), checks, uptimeS: yield* uptimeS }
      }),
    })
  })

export const layer = (options: { readonly databaseName: string }) => Layer.effect(Health, make(options))
