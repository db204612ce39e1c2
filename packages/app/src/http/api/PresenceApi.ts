import { HttpApiEndpoint, HttpApiGroup, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Presence } from "../../wire/Presence.js"
import { Authentication } from "../Authentication.js"
import { withCommonErrors } from "./Errors.js"
import { UserPath } from "./Params.js"

export const Heartbeat = Schema.Struct({ status: Schema.Literal("online", "away") }).annotations({
  identifier: "Heartbeat",
})

export const PresenceApi = withCommonErrors(
  HttpApiGroup.make("presence")
    .add(
      HttpApiEndpoint.put("heartbeat", "/v1/presence")
        .setPayload(Heartbeat)
        .addSuccess(Presence)
        .annotate(OpenApi.Summary, "Heartbeat: the caller is online or away for the next 60 s"),
    )
    .add(
      HttpApiEndpoint.get("get", "/v1/presence/:userId")
        .setPath(UserPath)
        .addSuccess(Presence)
        .annotate(OpenApi.Summary, "One user's presence in the caller's tenant"),
    )
    .add(
      HttpApiEndpoint.get("list", "/v1/presence")
        .setUrlParams(
          Schema.Struct({
            userIds: Schema.String.annotations({ description: "Comma-separated user ids, at most 200" }),
          }),
        )
        .addSuccess(
          Schema.Struct({ items: Schema.Array(Presence) }).annotations({ identifier: "PresenceList" }),
        )
        .annotate(OpenApi.Summary, "Several users' presence"),
    )
    .middleware(Authentication),
)
