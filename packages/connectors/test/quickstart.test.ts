import { InboundEvent } from "@chat4all/connectors"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Logger, LogLevel } from "effect"
import { program } from "../examples/quickstart.js"

describe("examples/quickstart.ts (the README's example)", () => {
  it.live("sends, then turns the signed callback into a status update and an inbound message", () =>
    Effect.gen(function* () {
      const { receipt, outcome } = yield* program
      assert.match(receipt.providerMessageId, /^wamid\./)
      assert.strictEqual(receipt.recipient, "5511999990000")
      assert.strictEqual(outcome._tag, "Events")
      assert.strictEqual(outcome.response.status, 200)
      if (outcome._tag !== "Events") return
      const status = outcome.batch.events.find((e) => e instanceof InboundEvent.StatusUpdate)
      const reply = outcome.batch.events.find((e) => e instanceof InboundEvent.InboundMessage)
      assert.strictEqual(outcome.batch.events.length, 2)
      assert.strictEqual(
        status?.providerMessageId,
        receipt.providerMessageId,
        "the receipt names the sent message",
      )
      assert.strictEqual(status?._tag === "StatusUpdate" ? status.status : undefined, "delivered")
      assert.deepStrictEqual(reply?._tag === "InboundMessage" ? reply.content : undefined, {
        type: "text",
        text: "Obrigado!",
      })
    }).pipe(Logger.withMinimumLogLevel(LogLevel.None)),
  )
})
