/**
 * The connectors package end to end, against a local stand-in of the WhatsApp Cloud API:
 *
 *   npx tsx packages/connectors/examples/quickstart.ts
 *
 * It validates a tenant's settings as `PUT /v1/connectors/whatsapp` would, builds the connector from
 * the stored form, sends a message as a delivery worker would, and hands the provider's signed
 * callback (a delivery receipt and a reply) to `Webhook.dispatch` as the webhook endpoint would.
 */
import { randomUUID } from "node:crypto"
import { pathToFileURL } from "node:url"
import { Registry, Webhook } from "@chat4all/connectors"
import { WhatsAppStandIn } from "@chat4all/connectors/stand-ins"
import { Content, Ids } from "@chat4all/domain"
import { Effect, Schema } from "effect"

export const program = Effect.gen(function* () {
  const provider = yield* WhatsAppStandIn.make
  const registry = yield* Registry.ConnectorRegistry

  // PUT /v1/connectors/whatsapp: validate, keep `forStorage`, show `redacted`.
  const settings = yield* registry.parse("whatsapp", provider.settings())
  yield* Effect.log("settings as GET /v1/connectors shows them", settings.redacted)

  // A delivery worker: build the tenant's connector and send.
  const whatsapp = yield* registry.build("whatsapp", settings.forStorage)
  const receipt = yield* whatsapp.send({
    messageId: Schema.decodeSync(Ids.MessageId)(Ids.formatSeedId(Date.now(), randomUUID())),
    address: "+55 11 99999-0000",
    content: new Content.TextContent({ type: "text", text: "Olá! Your order has shipped." }),
  })
  yield* Effect.log(`sent as ${receipt.providerMessageId}`)

  // WhatsApp calls back: a delivery receipt for that message and the person's reply, in one signed POST.
  const now = Math.floor(Date.now() / 1000) * 1000
  const [callback] = provider.webhooks([
    {
      kind: "status",
      providerMessageId: receipt.providerMessageId,
      status: "delivered",
      recipient: "5511999990000",
      at: now,
    },
    provider.inboundMessage({ from: "5511999990000", text: "Obrigado!", at: now }),
  ])
  if (callback === undefined) return yield* Effect.dieMessage("the stand-in produced no webhook")

  // The webhook endpoint: one call, then store the events and answer.
  const outcome = yield* Webhook.dispatch(whatsapp, callback)
  if (outcome._tag === "Events")
    for (const event of outcome.batch.events) yield* Effect.log(`${event._tag}`, { ...event })
  return { receipt, outcome }
}).pipe(Effect.scoped, Effect.provide(Registry.layer()))

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href)
  Effect.runPromise(program).then(
    ({ outcome }) => console.log(`answered the provider ${outcome.response.status}`),
    (error) => {
      console.error(error)
      process.exitCode = 1
    },
  )
