import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { fromEvent } from "../../wire/Event.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { SyncResult } from "../api/SyncApi.js"
import { problems } from "../DomainErrors.js"
import { syncLongPoll } from "../LongPoll.js"
import { json } from "../Respond.js"

export const SyncHandlers = HttpApiBuilder.group(Api, "sync", (handlers) =>
  handlers.handle("sync", ({ urlParams }) =>
    Effect.gen(function* () {
      const caller = yield* CurrentCaller
      const batch = yield* problems(syncLongPoll(caller, urlParams))
      return json(SyncResult, {
        events: batch.events.map(fromEvent),
        nextCursor: batch.nextCursor,
        hasMore: batch.hasMore,
      })
    }),
  ),
)
