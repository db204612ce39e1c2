import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Event } from "../../wire/Event.js"
import { Authentication } from "../Authentication.js"
import { withCommonErrors } from "./Errors.js"
import { IntParam, Limit } from "./Params.js"

/** The longest a sync request may wait for something new. */
export const maxTimeoutMs = 30_000

export const SyncResult = Schema.Struct({
  events: Schema.Array(Event),
  nextCursor: Schema.String.annotations({
    description: "Pass as `since` next time (or as a WebSocket `cursor`)",
  }),
  hasMore: Schema.Boolean,
}).annotations({ identifier: "SyncResult" })

export const SyncApi = withCommonErrors(
  HttpApiGroup.make("sync")
    .add(
      HttpApiEndpoint.get("sync", "/v1/sync")
        .setUrlParams(
          Schema.Struct({
            since: Schema.optional(
              Schema.String.annotations({ description: "A cursor from an earlier sync" }),
            ),
            limit: Schema.optional(Limit),
            timeoutMs: Schema.optional(
              IntParam(0, maxTimeoutMs, "Long-poll: wait up to this long when nothing is new (<= 30000)"),
            ),
          }),
        )
        .addSuccess(SyncResult)
        .annotate(OpenApi.Summary, "Everything that changed in the caller's conversations since a cursor")
        .annotate(
          OpenApi.Description,
          "No `since`: the current cursor and no events. With `timeoutMs`, a request that finds nothing new " +
            "waits for the next event (or the timeout) before answering.",
        ),
    )
    .middleware(Authentication),
)
