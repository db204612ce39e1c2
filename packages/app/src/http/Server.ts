import { HttpApiBuilder, HttpApiSwagger } from "@effect/platform"
import { Layer } from "effect"
import * as Files from "../files/index.js"
import { Api } from "./Api.js"
import * as Authentication from "./Authentication.js"
import { ConnectorsHandlers } from "./handlers/ConnectorsHandlers.js"
import { ConnectorWebhooksHandlers } from "./handlers/ConnectorWebhooksHandlers.js"
import { ConversationsHandlers } from "./handlers/ConversationsHandlers.js"
import { IdentitiesHandlers } from "./handlers/IdentitiesHandlers.js"
import { MessagesHandlers } from "./handlers/MessagesHandlers.js"
import { OpsHandlers } from "./handlers/OpsHandlers.js"
import { PresenceHandlers } from "./handlers/PresenceHandlers.js"
import { SyncHandlers } from "./handlers/SyncHandlers.js"
import { WebhooksHandlers } from "./handlers/WebhooksHandlers.js"
import * as Middleware from "./Middleware.js"
import * as Routes from "./Routes.js"

/** Routes served beside the API's own endpoints. */
const extraRoutes = [
  { method: "GET", path: "/openapi.json" },
  { method: "GET", path: "/docs" },
]

export const routes = Routes.make(Api, extraRoutes)

/** The API with its handlers and authentication. */
export const ApiLive = HttpApiBuilder.api(Api).pipe(
  Layer.provide([
    ConversationsHandlers,
    MessagesHandlers,
    SyncHandlers,
    PresenceHandlers,
    OpsHandlers,
    WebhooksHandlers,
    IdentitiesHandlers,
    ConnectorsHandlers,
    ConnectorWebhooksHandlers,
  ]),
  Layer.provide(Files.handlers),
  Layer.provide(Authentication.layer),
)

/**
 * The HTTP server: the API, `/openapi.json`, `/docs`; problem+json for every failure; metrics, request
 * ids and access logs around everything. Needs an `HttpServer` and the services the handlers use.
 */
export const layer = HttpApiBuilder.serve(Middleware.observe(routes)).pipe(
  Layer.provide(HttpApiSwagger.layer({ path: "/docs" })),
  Layer.provide(HttpApiBuilder.middlewareOpenApi({ path: "/openapi.json" })),
  Layer.provide(HttpApiBuilder.middleware(Middleware.problems(routes))),
  Layer.provide(ApiLive),
)
