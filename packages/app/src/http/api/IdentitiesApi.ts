import { Ids } from "@chat4all/domain"
import { HttpApiEndpoint, HttpApiGroup, HttpApiSchema, OpenApi } from "@effect/platform"
import { Schema } from "effect"
import { Identity, IdentityList, PutIdentity } from "../../wire/Identity.js"
import { Authentication } from "../Authentication.js"
import { ProblemJson } from "../Problem.js"
import { withCommonErrors } from "./Errors.js"
import { UserPath } from "./Params.js"

/** A channel name in a path: what connectors and identities are named by. */
export const Channel = Schema.String.pipe(
  Schema.pattern(/^[a-z0-9_-]{1,32}$/, { message: () => "must be 1-32 characters of a-z 0-9 _ -" }),
).annotations({ description: "A channel: `whatsapp`, `instagram`, `telegram`, ..." })

export const IdentityPath = Schema.Struct({ userId: Ids.UserId, channel: Channel })

const identityNotFound = [
  ProblemJson.annotations({ description: "`identity_not_found`: the user has no identity on that channel" }),
  { status: 404 },
] as const

export const IdentitiesApi = withCommonErrors(
  HttpApiGroup.make("identities")
    .add(
      HttpApiEndpoint.put("put", "/v1/users/:userId/channels/:channel")
        .setPath(IdentityPath)
        .setPayload(PutIdentity)
        .addSuccess(Identity)
        .addError(
          ProblemJson.annotations({
            description: "`identity_conflict`: another user of the tenant has that address on the channel",
          }),
          { status: 409 },
        )
        .annotate(OpenApi.Summary, "Set a user's address on a channel")
        .annotate(
          OpenApi.Description,
          "A user sets their own; service and admin tokens anyone's of their tenant. When a connector reads the " +
            "channel, the address is stored in its canonical form (WhatsApp: `+55 (11) 99999-0000` becomes " +
            "`5511999990000`), and one it cannot read is 400 `invalid_request` naming `address`. Messages sent " +
            "to conversations the user is in are delivered there through the tenant's connector; messages the " +
            "address sends in are the user's. `app` is not a connector's channel (400 naming `channel`).",
        ),
    )
    .add(
      HttpApiEndpoint.get("list", "/v1/users/:userId/channels")
        .setPath(UserPath)
        .addSuccess(IdentityList)
        .annotate(OpenApi.Summary, "A user's channel identities, by channel"),
    )
    .add(
      HttpApiEndpoint.get("get", "/v1/users/:userId/channels/:channel")
        .setPath(IdentityPath)
        .addSuccess(Identity)
        .addError(...identityNotFound)
        .annotate(OpenApi.Summary, "A user's identity on one channel"),
    )
    .add(
      HttpApiEndpoint.del("delete", "/v1/users/:userId/channels/:channel")
        .setPath(IdentityPath)
        .addSuccess(HttpApiSchema.NoContent)
        .addError(...identityNotFound)
        .annotate(OpenApi.Summary, "Remove a user's identity on a channel"),
    )
    .middleware(Authentication)
    .annotate(
      OpenApi.Description,
      "Channel identities: a user's address on each connector's channel (WhatsApp number, Instagram id, Telegram chat)",
    ),
)
