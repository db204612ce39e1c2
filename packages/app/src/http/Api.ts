import { HttpApi, OpenApi } from "@effect/platform"
import { FileContentApi, FilesApi, TusApi } from "../files/FilesApi.js"
import { ConnectorsApi, ConnectorWebhooksApi } from "./api/ConnectorsApi.js"
import { ConversationsApi } from "./api/ConversationsApi.js"
import { IdentitiesApi } from "./api/IdentitiesApi.js"
import { MessagesApi } from "./api/MessagesApi.js"
import { OpsApi } from "./api/OpsApi.js"
import { PresenceApi } from "./api/PresenceApi.js"
import { SyncApi } from "./api/SyncApi.js"
import { WebhooksApi } from "./api/WebhooksApi.js"
import * as OpenApiDocument from "./OpenApiDocument.js"

/** The HTTP API of Chat4All v1 (API.md); `/openapi.json` is generated from these definitions. */
export class Api extends HttpApi.make("chat4all")
  .add(ConversationsApi)
  .add(MessagesApi)
  .add(SyncApi)
  .add(PresenceApi)
  .add(OpsApi)
  .add(TusApi)
  .add(FilesApi)
  .add(FileContentApi)
  .add(WebhooksApi)
  .add(IdentitiesApi)
  .add(ConnectorsApi)
  .add(ConnectorWebhooksApi)
  .annotate(OpenApi.Title, "Chat4All")
  .annotate(OpenApi.Version, "1.0.0")
  .annotate(
    OpenApi.Description,
    "Multi-channel messaging engine. JSON, camelCase; times are ISO-8601 UTC; errors are " +
      "`application/problem+json` with a stable `code`. Anything of another tenant answers 404.",
  )
  .annotate(OpenApi.Transform, OpenApiDocument.transform) {}
