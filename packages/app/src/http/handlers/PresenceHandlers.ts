import { Ids } from "@chat4all/domain"
import { HttpApiBuilder } from "@effect/platform"
import { Effect, Either, Schema } from "effect"
import * as Presence from "../../usecases/Presence.js"
import { fromPresence } from "../../wire/Presence.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import * as Problem from "../Problem.js"

const maxUsers = 200
const decodeUserId = Schema.decodeUnknownEither(Ids.UserId)

/** `a,b,c` into user ids: each validated, duplicates dropped, at most 200. */
const parseUserIds = (raw: string): Effect.Effect<ReadonlyArray<Ids.UserId>, Problem.Problem> => {
  const parts = [...new Set(raw.split(",").map((s) => s.trim()))].filter((s) => s.length > 0)
  if (parts.length === 0) return Effect.fail(Problem.invalidRequest("userIds", "name at least one user id"))
  if (parts.length > maxUsers)
    return Effect.fail(Problem.invalidRequest("userIds", `name at most ${maxUsers} user ids`))
  const ids: Array<Ids.UserId> = []
  for (const part of parts) {
    const id = decodeUserId(part)
    if (Either.isLeft(id))
      return Effect.fail(
        Problem.invalidRequest(
          "userIds",
          `${JSON.stringify(part)} must be 1-128 characters of A-Z a-z 0-9 . _ : -`,
        ),
      )
    ids.push(id.right)
  }
  return Effect.succeed(ids)
}

export const PresenceHandlers = HttpApiBuilder.group(Api, "presence", (handlers) =>
  handlers
    .handle("heartbeat", ({ payload }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return fromPresence(yield* Presence.heartbeat(caller, payload.status))
      }),
    )
    .handle("get", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const [state] = yield* Presence.presenceOf(caller, [path.userId])
        return state === undefined
          ? { userId: path.userId, status: "offline" as const, lastSeen: null }
          : fromPresence(state)
      }),
    )
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const userIds = yield* parseUserIds(urlParams.userIds)
        const states = yield* Presence.presenceOf(caller, userIds)
        return { items: states.map(fromPresence) }
      }),
    ),
)
