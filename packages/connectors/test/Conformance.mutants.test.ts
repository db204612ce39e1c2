import {
  type Connector,
  ConnectorError,
  type ConnectorFactory,
  InboundEvent,
  Instagram,
  type SendReceipt,
  Telegram,
  WhatsApp,
} from "@chat4all/connectors"
import {
  Conformance,
  InstagramStandIn,
  type StandIn,
  TelegramStandIn,
  WhatsAppStandIn,
} from "@chat4all/connectors/testing"
import { assert, describe, layer } from "@effect/vitest"
import { Cause, Context, Effect, Either, Exit, Layer, type Scope } from "effect"

/**
 * The kit must be able to fail: each mutant below is a shipped connector with one defect a connector
 * author could plausibly write, and the named check must catch it.
 */

type Mutate = (connector: Connector, standIn: StandIn.StandIn) => Connector

const mutant = (base: ConnectorFactory.ConnectorFactory, standIn: StandIn.StandIn, mutate: Mutate) => ({
  ...base,
  build: (settings: unknown) => Effect.map(base.build(settings), (c) => mutate(c, standIn)),
})

const check = (name: string): Conformance.Check => {
  const found = Conformance.checks.find((c) => c.name.startsWith(name))
  if (found === undefined) throw new Error(`no check named ${name}`)
  return found
}

const withError = (mutate: (e: ConnectorError) => ConnectorError) => (c: Connector) => ({
  ...c,
  send: (d: Parameters<Connector["send"]>[0]) => Effect.mapError(c.send(d), mutate),
})

const errorWith = (e: ConnectorError, changes: Partial<ConstructorParameters<typeof ConnectorError>[0]>) =>
  new ConnectorError({
    connector: e.connector,
    reason: e.reason,
    retryable: e.retryable,
    detail: e.detail,
    ...(e.status === undefined ? {} : { status: e.status }),
    ...(e.providerCode === undefined ? {} : { providerCode: e.providerCode }),
    ...(e.retryAfterMs === undefined ? {} : { retryAfterMs: e.retryAfterMs }),
    ...changes,
  })

const mapEvents =
  (f: (e: InboundEvent.InboundEvent) => InboundEvent.InboundEvent): Mutate =>
  (c) => ({
    ...c,
    inbound: (r) => Effect.map(c.inbound(r), (b) => ({ ...b, events: b.events.map(f) })),
  })

const mutants: ReadonlyArray<readonly [string, string, Mutate]> = [
  [
    "accepts any signature (re-signs what it gets)",
    "rejects webhooks with",
    (c, standIn) => ({ ...c, inbound: (r) => c.inbound(standIn.signedRequest(r.body)) }),
  ],
  [
    "calls every failure retryable",
    "classifies provider errors",
    withError((e) => errorWith(e, { retryable: true })),
  ],
  [
    "calls nothing retryable",
    "treats dropped connections",
    withError((e) => errorWith(e, { retryable: false })),
  ],
  [
    "drops the provider's retry-after",
    "treats 429 as retryable",
    withError(
      (e) =>
        new ConnectorError({
          connector: e.connector,
          reason: e.reason,
          retryable: e.retryable,
          detail: e.detail,
        }),
    ),
  ],
  [
    "reports random ids for inbound messages",
    "parses inbound messages",
    mapEvents((e) =>
      e._tag === "InboundMessage"
        ? new InboundEvent.InboundMessage({
            ...e,
            providerMessageId: `${e.providerMessageId}-${Math.random()}`,
          })
        : e,
    ),
  ],
  [
    "trims inbound text",
    "parses inbound messages",
    mapEvents((e) =>
      e._tag === "InboundMessage" && e.content.type === "text"
        ? new InboundEvent.InboundMessage({
            ...e,
            content: { type: "text", text: e.content.text.trim() || "x" },
          })
        : e,
    ),
  ],
  [
    "reads delivered as read",
    "parses status callbacks",
    mapEvents((e) =>
      e._tag === "StatusUpdate" && e.status === "delivered"
        ? new InboundEvent.StatusUpdate({ ...e, status: "read" })
        : e,
    ),
  ],
  [
    "answers any handshake",
    "answers the handshake",
    (c) => ({
      ...c,
      handshake: (r) => Effect.succeed({ status: 200, headers: {}, body: r.query["hub.challenge"] ?? "" }),
    }),
  ],
  [
    "claims a longer text limit than the provider's",
    "sends text of exactly the maximum length",
    (c) => ({ ...c, capabilities: { ...c.capabilities, maxTextLength: c.capabilities.maxTextLength + 100 } }),
  ],
  [
    "claims read receipts the provider does not send",
    "declares capabilities",
    (c) => ({ ...c, capabilities: { ...c.capabilities, receipts: [...c.capabilities.receipts, "read"] } }),
  ],
  [
    "puts the token in its error messages",
    "keeps secrets out",
    (c, standIn) =>
      withError((e) => errorWith(e, { detail: `${e.detail} (token ${standIn.secrets[0]})` }))(c),
  ],
  [
    "ignores the enabled flag",
    "when disabled",
    (c) => ({ ...c, capabilities: { ...c.capabilities, enabled: true } }),
  ],
  [
    "returns the previous send's reference",
    "sends concurrently",
    (c) => {
      let last: SendReceipt | undefined
      return {
        ...c,
        send: (d) =>
          Effect.map(c.send(d), (receipt) => {
            const answer = last ?? receipt
            last = receipt
            return answer
          }),
      }
    },
  ],
  [
    "normalizes nothing",
    "normalizes addresses",
    (c) => ({ ...c, normalizeAddress: (a: string) => Either.right(a) }),
  ],
]

const suites: ReadonlyArray<
  readonly [
    ConnectorFactory.ConnectorFactory,
    Effect.Effect<StandIn.StandIn, never, Scope.Scope>,
    ReadonlyArray<string>,
  ]
> = [
  [WhatsApp.factory, WhatsAppStandIn.make, []],
  [
    Instagram.factory,
    InstagramStandIn.make,
    ["reads delivered as read", "claims read receipts the provider does not send"],
  ],
  [
    Telegram.factory,
    TelegramStandIn.make,
    ["accepts any signature (re-signs what it gets)", "reads delivered as read", "answers any handshake"],
  ],
]

for (const [factory, standIn, notApplicable] of suites) {
  class Provider extends Context.Tag(`mutants/${factory.name}`)<Provider, StandIn.StandIn>() {}
  describe(`the conformance kit catches defects: ${factory.name}`, () => {
    layer(Layer.scoped(Provider, standIn), { excludeTestServices: true, timeout: "60 seconds" })((it) => {
      for (const [defect, checkName, mutate] of mutants) {
        if (notApplicable.includes(defect)) continue
        it.effect(`a connector that ${defect} fails "${checkName}..."`, () =>
          Effect.gen(function* () {
            const provider = yield* Provider
            const target = check(checkName)
            const context = { factory: mutant(factory, provider, mutate), standIn: provider, runs: 10 }
            const exit = yield* Effect.exit(target.run(context))
            assert.isTrue(
              Exit.isFailure(exit),
              `the check "${target.name}" passed a connector that ${defect}`,
            )
            if (Exit.isFailure(exit)) assert.isFalse(Cause.isInterruptedOnly(exit.cause))
            const intact = yield* Effect.exit(target.run({ factory, standIn: provider, runs: 10 }))
            assert.isTrue(
              Exit.isSuccess(intact),
              `the intact ${factory.name} connector passes "${target.name}"`,
            )
          }),
        )
      }
    })
  })
}
