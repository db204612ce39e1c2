import type { Webhook } from "@chat4all/domain"
import { Webhooks } from "@chat4all/domain"
import { HttpApiBuilder } from "@effect/platform"
import { Effect } from "effect"
import { fromDelivery, fromWebhook, withSecret } from "../../wire/Webhook.js"
import { Api } from "../Api.js"
import { CurrentCaller } from "../Authentication.js"
import { type DomainError, problems } from "../DomainErrors.js"
import * as Problem from "../Problem.js"

type WebhookError = Webhook.WebhookNotFound | Webhook.WebhookDeliveryNotFound | Webhook.WebhookDisabled

const titled = (status: number, code: string, title: string, detail: string) =>
  new Problem.Problem({ ...Problem.make(status, code, detail), title }, { disableValidation: true })

/** The problem of a webhook error; the others are the app's domain errors. */
const webhookProblem = (error: WebhookError): Problem.Problem => {
  switch (error._tag) {
    case "WebhookNotFound":
      return titled(404, error.code, "Webhook not found", error.message)
    case "WebhookDeliveryNotFound":
      return titled(404, error.code, "Delivery not found", error.message)
    case "WebhookDisabled":
      return titled(409, error.code, "Webhook disabled", error.message)
  }
}

const isWebhookError = (error: WebhookError | DomainError): error is WebhookError =>
  error._tag === "WebhookNotFound" ||
  error._tag === "WebhookDeliveryNotFound" ||
  error._tag === "WebhookDisabled"

/** Runs a webhook use case and answers its errors as problems. */
const answer = <A, R>(
  effect: Effect.Effect<A, WebhookError | DomainError, R>,
): Effect.Effect<A, Problem.Problem, R> =>
  Effect.catchAll(effect, (error) =>
    isWebhookError(error) ? Effect.fail(webhookProblem(error)) : problems(Effect.fail(error)),
  )

export const WebhooksHandlers = HttpApiBuilder.group(Api, "webhooks", (handlers) =>
  handlers
    .handle("create", ({ payload }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return withSecret(yield* answer(Webhooks.createWebhook(caller, payload)))
      }),
    )
    .handle("list", ({ urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const page = yield* answer(Webhooks.listWebhooks(caller, urlParams))
        return { items: page.items.map(fromWebhook), nextCursor: page.nextCursor ?? null }
      }),
    )
    .handle("get", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return fromWebhook(yield* answer(Webhooks.getWebhook(caller, path.webhookId)))
      }),
    )
    .handle("delete", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        yield* answer(Webhooks.deleteWebhook(caller, path.webhookId))
      }),
    )
    .handle("rotateSecret", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return withSecret(yield* answer(Webhooks.rotateSecret(caller, path.webhookId)))
      }),
    )
    .handle("deliveries", ({ path, urlParams }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        const page = yield* answer(Webhooks.listDeliveries(caller, path.webhookId, urlParams))
        return { items: page.items.map(fromDelivery), nextCursor: page.nextCursor ?? null }
      }),
    )
    .handle("retry", ({ path }) =>
      Effect.gen(function* () {
        const caller = yield* CurrentCaller
        return fromDelivery(yield* answer(Webhooks.retryDelivery(caller, path.webhookId, path.deliveryId)))
      }),
    ),
)
