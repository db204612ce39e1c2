import { inspect } from "node:util"
import { Content, type Delivery, DeliveryState, type Ids } from "@chat4all/domain"
import { assert } from "@effect/vitest"
import { Effect, Either, type Scope } from "effect"
import * as fc from "fast-check"
import type { Connector, OutboundDelivery } from "../Connector.js"
import type { ConnectorError } from "../ConnectorError.js"
import type { ConnectorFactory } from "../ConnectorFactory.js"
import { type InboundEvent, InboundMessage, StatusUpdate } from "../InboundEvent.js"
import * as StandIn from "../StandIn.js"
import * as Webhook from "../Webhook.js"
import type { WebhookRequest } from "../WebhookRequest.js"

/**
 * The connector conformance checks. Each check drives a connector, built by its own factory from
 * settings the provider stand-in hands out, against that stand-in over real HTTP on loopback, and
 * fails with an assertion that says what the connector did wrong.
 */

/** What a check works with. */
export interface Context {
  readonly factory: ConnectorFactory
  readonly standIn: StandIn.StandIn
  /** fast-check runs for the property checks. */
  readonly runs: number
}

export interface Check {
  readonly name: string
  readonly run: (context: Context) => Effect.Effect<void, unknown>
}

/** The connector for the stand-in's settings (or a variation of them). */
export const connect = (context: Context, options?: StandIn.SettingsOptions): Effect.Effect<Connector> =>
  context.factory
    .build(context.standIn.settings(options))
    .pipe(
      Effect.catchAll((error) =>
        Effect.dieMessage(`${context.factory.name} refused the stand-in's settings: ${error.message}`),
      ),
    )

const textDecoder = new TextDecoder()

let sequence = 0
/** A message id in the seed format, unique within the process. */
export const messageId = (): Ids.MessageId => {
  sequence += 1
  const tail = sequence.toString(16).padStart(12, "0")
  return `${Date.now()}-00000000-0000-4000-8000-${tail}` as Ids.MessageId
}

export const textDelivery = (address: string, text: string): OutboundDelivery => ({
  messageId: messageId(),
  address,
  content: new Content.TextContent({ type: "text", text }),
})

/** The failure of `effect`, or an assertion error when it succeeds. */
export const failureOf = <A, E>(effect: Effect.Effect<A, E>, what: string): Effect.Effect<E> =>
  Effect.flatMap(
    Effect.either(effect),
    Either.match({
      onLeft: Effect.succeed,
      onRight: (value) => Effect.sync(() => assert.fail(`${what}: expected a failure, got ${show(value)}`)),
    }),
  )

/** The success of `effect`, or an assertion error naming the failure. */
export const successOf = <A, E>(effect: Effect.Effect<A, E>, what: string): Effect.Effect<A> =>
  Effect.flatMap(
    Effect.either(effect),
    Either.match({
      onRight: Effect.succeed,
      onLeft: (error) => Effect.sync(() => assert.fail(`${what}: expected success, got ${show(error)}`)),
    }),
  )

const show = (value: unknown): string => {
  if (value instanceof Error) return `${value.name}: ${value.message}`
  try {
    return JSON.stringify(value)
  } catch {
    return String(value)
  }
}

/** Every inbound event of these requests, in order; a rejected request fails the check. */
export const inboundAll = (
  connector: Connector,
  requests: ReadonlyArray<WebhookRequest>,
): Effect.Effect<ReadonlyArray<InboundEvent>> =>
  Effect.map(
    Effect.forEach(requests, (request, i) =>
      successOf(connector.inbound(request), `inbound of webhook ${i + 1} of ${requests.length}`),
    ),
    (batches) => batches.flatMap((b) => b.events),
  )

const assertSendFailure = (
  error: ConnectorError,
  expected: { readonly retryable: boolean; readonly reason?: ConnectorError["reason"] },
  what: string,
) => {
  assert.strictEqual(error._tag, "ConnectorError", `${what}: fails with a ConnectorError`)
  assert.strictEqual(
    error.retryable,
    expected.retryable,
    `${what}: retryable should be ${expected.retryable} (${error.message})`,
  )
  if (expected.reason !== undefined)
    assert.strictEqual(error.reason, expected.reason, `${what}: reason (${error.message})`)
  assert.isAbove(error.detail.length, 0, `${what}: the error says what went wrong`)
}

const noSecrets = (context: Context, text: string, what: string) => {
  for (const secret of context.standIn.secrets)
    assert.isFalse(text.includes(secret), `${what} shows a secret of the settings`)
}

const sentCount = (context: Context) => Effect.map(context.standIn.sent, (s) => s.length)

const fresh = (context: Context) => Effect.zipRight(context.standIn.reset, connect(context))

const property = <T>(
  context: Context,
  arbitrary: fc.Arbitrary<T>,
  body: (value: T) => Effect.Effect<void, unknown>,
  options?: { readonly runs?: number; readonly examples?: ReadonlyArray<T> },
) =>
  Effect.promise(() =>
    fc.assert(
      fc.asyncProperty(arbitrary, (value) => Effect.runPromise(body(value))),
      {
        numRuns: options?.runs ?? context.runs,
        endOnFailure: true,
        examples: (options?.examples ?? []).map((e): [T] => [e]),
      },
    ),
  )

/** Texts that connectors get wrong: padding, control characters, markup, astral and combining characters. */
export const awkwardTexts: ReadonlyArray<string> = [
  "  padded on both sides  ",
  "tab\tand\nnewline\r\nand CRLF",
  "emoji 👩🏽‍💻, ação, 你好, עברית",
  'quote " backslash \\ slash / <b>not markup</b> &amp;',
  // No U+0000: the model refuses it (no store can keep it), so it never reaches a connector.
  "line\u2028separator, \u0007 bell and \u001b escape",
]

/** The request with every header that carries its signature or token emptied. */
const withEmptySignature = (request: WebhookRequest): WebhookRequest => {
  const headers: Record<string, string> = {}
  for (const [name, value] of Object.entries(request.headers))
    headers[name] = /signature|secret|token/i.test(name) ? "" : value
  return { ...request, headers }
}

const unique = () => Math.random().toString(36).slice(2, 10)

/** The checks, in the order the suite runs them. */
export const checks: ReadonlyArray<Check> = [
  {
    name: "declares capabilities it can honour",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const caps = connector.capabilities
        assert.match(connector.name, /^[a-z0-9_-]{1,32}$/, "the name is a channel name")
        assert.strictEqual(connector.name, context.factory.name, "the connector has its factory's name")
        assert.strictEqual(caps.channel, connector.name, "capabilities.channel is the connector's name")
        assert.isTrue(caps.enabled, "enabled by default")
        assert.include(caps.contentTypes, "text", "carries text")
        assert.isTrue(Number.isInteger(caps.maxTextLength) && caps.maxTextLength > 0, "maxTextLength > 0")
        const reported = new Set(context.standIn.statuses.filter((s) => s !== "sent"))
        assert.sameMembers(
          [...caps.receipts],
          [...reported],
          "capabilities.receipts lists exactly the statuses the provider reports",
        )
        assert.strictEqual(
          connector.handshake !== undefined,
          context.standIn.handshake !== undefined,
          "a connector has a handshake exactly when its provider does",
        )
      }),
  },
  {
    name: "validates settings and names the field at fault",
    run: (context) =>
      Effect.gen(function* () {
        const settings = context.standIn.settings()
        const parsed = yield* successOf(context.factory.parse(settings), "parse of the stand-in's settings")
        assert.isTrue(parsed.enabled)
        const empty = yield* failureOf(context.factory.parse({}), "parse of {}")
        assert.strictEqual(empty._tag, "InvalidSettings")
        assert.notStrictEqual(empty.field, "", "names the missing field")
        const badUrl = yield* failureOf(
          context.factory.parse({ ...settings, baseUrl: "ftp://example.com" }),
          "a non-http baseUrl",
        )
        assert.strictEqual(badUrl.field, "baseUrl")
        const plainHttp = yield* failureOf(
          context.factory.parse({ ...settings, baseUrl: "http://provider.example.com" }),
          "plain http to a remote host",
        )
        assert.strictEqual(plainHttp.field, "baseUrl")
        const excess = yield* failureOf(
          context.factory.parse({ ...settings, acessToken: "typo" }),
          "a misspelt field",
        )
        assert.strictEqual(excess.field, "acessToken")
      }),
  },
  {
    name: "keeps secrets out of every output",
    run: (context) =>
      Effect.gen(function* () {
        const settings = context.standIn.settings()
        const parsed = yield* successOf(context.factory.parse(settings), "parse")
        noSecrets(context, JSON.stringify(parsed.redacted), "the redacted settings")
        const connector = yield* fresh(context)
        noSecrets(context, JSON.stringify(connector) ?? "", "JSON.stringify(connector)")
        noSecrets(context, inspect(connector, { depth: 8, showHidden: true }), "util.inspect(connector)")
        for (const [field, value] of Object.entries(settings)) {
          if (typeof value !== "string" || !context.standIn.secrets.includes(value)) continue
          const error = yield* failureOf(
            context.factory.parse({ ...settings, [field]: value.repeat(Math.ceil(5000 / value.length)) }),
            `an oversize ${field}`,
          )
          assert.strictEqual(error.field, field)
          noSecrets(context, `${error.message} ${JSON.stringify(error)}`, `the error for an invalid ${field}`)
        }
        const refused = yield* connect(context, { credentials: "invalid" })
        const error = yield* failureOf(refused.send(textDelivery(context.standIn.newAddress(), "hi")), "send")
        noSecrets(context, `${error.message} ${JSON.stringify(error)} ${inspect(error)}`, "a send error")
      }),
  },
  {
    name: "sends text that reaches the provider intact and returns its reference",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const address = context.standIn.newAddress()
        const canonical = Either.getOrThrow(connector.normalizeAddress(address))
        const texts = [`hello ${unique()}`, ...awkwardTexts]
        const receipts = []
        for (const text of texts)
          receipts.push(yield* successOf(connector.send(textDelivery(address, text)), "send"))
        const system = yield* successOf(
          connector.send({
            messageId: messageId(),
            address,
            content: new Content.SystemContent({ type: "system", text: "system notice" }),
          }),
          "send of a system message",
        )
        receipts.push(system)
        const sent = yield* context.standIn.sent
        assert.strictEqual(sent.length, texts.length + 1, "each send reaches the provider once")
        assert.deepStrictEqual(
          sent.map((s) => s.text),
          [...texts, "system notice"],
          "the provider received each text exactly as sent",
        )
        for (const [i, s] of sent.entries()) {
          assert.strictEqual(s.to, canonical, "sent to the recipient's address")
          assert.strictEqual(receipts[i]?.providerMessageId, s.providerMessageId, "returns the provider's id")
        }
        assert.strictEqual(
          new Set(receipts.map((r) => r.providerMessageId)).size,
          receipts.length,
          "references are distinct",
        )
      }),
  },
  {
    name: "sends concurrently without mixing up references",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const texts = Array.from({ length: 24 }, (_, i) => `concurrent ${i} ${unique()}`)
        const receipts = yield* Effect.forEach(
          texts,
          (text) =>
            Effect.map(
              successOf(connector.send(textDelivery(context.standIn.newAddress(), text)), "send"),
              (receipt) => [text, receipt.providerMessageId] as const,
            ),
          { concurrency: "unbounded" },
        )
        const sent = new Map((yield* context.standIn.sent).map((s) => [s.providerMessageId, s.text]))
        assert.strictEqual(sent.size, texts.length, "every send reached the provider once")
        for (const [text, ref] of receipts)
          assert.strictEqual(sent.get(ref), text, "each send returns the reference of its own message")
      }),
  },
  {
    name: "sends text of exactly the maximum length and refuses longer text before calling the provider",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const max = connector.capabilities.maxTextLength
        const address = context.standIn.newAddress()
        yield* successOf(connector.send(textDelivery(address, "x".repeat(max))), "send of maxTextLength")
        const error = yield* failureOf(
          connector.send(textDelivery(address, "x".repeat(max + 1))),
          "send of max + 1",
        )
        assertSendFailure(error, { retryable: false, reason: "text_too_long" }, "text over the limit")
        assert.strictEqual(yield* sentCount(context), 1, "the over-long text never reached the provider")
        if (!connector.capabilities.contentTypes.includes("file")) {
          const file = yield* failureOf(
            connector.send({
              messageId: messageId(),
              address,
              content: new Content.FileContent({ type: "file", fileId: "file-1" as Ids.FileId }),
            }),
            "send of a file",
          )
          assertSendFailure(file, { retryable: false, reason: "content_unsupported" }, "a file message")
        }
        assert.strictEqual((yield* context.standIn.requests).length, 1, "refusals make no provider call")
      }),
  },
  {
    name: "normalizes addresses and refuses invalid ones before calling the provider",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const address = context.standIn.newAddress()
        const once = connector.normalizeAddress(address)
        assert.isTrue(Either.isRight(once), "a provider address is valid")
        const canonical = Either.getOrThrow(once)
        assert.deepStrictEqual(connector.normalizeAddress(canonical), Either.right(canonical), "idempotent")
        for (const bad of ["", "   ", "not an address", "12ab34", "../../etc/passwd"]) {
          const result = connector.normalizeAddress(bad)
          assert.isTrue(Either.isLeft(result), `${JSON.stringify(bad)} is refused`)
          if (Either.isLeft(result)) assert.strictEqual(result.left._tag, "InvalidAddress")
          const error = yield* failureOf(
            connector.send(textDelivery(bad, "hi")),
            `send to ${JSON.stringify(bad)}`,
          )
          assertSendFailure(error, { retryable: false, reason: "invalid_address" }, "an invalid address")
        }
        assert.strictEqual((yield* context.standIn.requests).length, 0, "refusals make no provider call")
      }),
  },
  {
    name: "classifies provider errors: 5xx retryable, other 4xx not",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        // 408 and 429 are retryable and checked on their own. fetch (per the Fetch standard) turns a 407
        // into a network error and retries a 421 on a fresh connection, so neither reaches a connector.
        const excluded = new Set([407, 408, 421, 429])
        const statuses = fc.oneof(
          fc.integer({ min: 500, max: 599 }),
          fc.integer({ min: 400, max: 499 }).filter((s) => !excluded.has(s)),
        )
        yield* property(context, statuses, (status) =>
          Effect.gen(function* () {
            yield* context.standIn.reset
            yield* context.standIn.failNext({ _tag: "Status", status })
            const error = yield* failureOf(
              connector.send(textDelivery(context.standIn.newAddress(), "hi")),
              `send answered ${status}`,
            )
            assertSendFailure(error, { retryable: status >= 500 }, `HTTP ${status}`)
            assert.strictEqual(error.status, status, "carries the provider's HTTP status")
          }),
        )
      }),
  },
  {
    name: "treats 429 as retryable and carries the provider's retry-after",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        yield* property(
          context,
          fc.integer({ min: 1, max: 3600 }),
          (seconds) =>
            Effect.gen(function* () {
              yield* context.standIn.failNext({ _tag: "Status", status: 429, retryAfterSeconds: seconds })
              const error = yield* failureOf(
                connector.send(textDelivery(context.standIn.newAddress(), "hi")),
                "send answered 429",
              )
              assertSendFailure(error, { retryable: true, reason: "rate_limited" }, "HTTP 429")
              assert.strictEqual(error.retryAfterMs, seconds * 1000, "retryAfterMs is the provider's hint")
            }),
          { runs: Math.min(context.runs, 10) },
        )
        yield* context.standIn.failNext({ _tag: "Status", status: 429 })
        const bare = yield* failureOf(connector.send(textDelivery(context.standIn.newAddress(), "hi")), "429")
        assertSendFailure(bare, { retryable: true, reason: "rate_limited" }, "HTTP 429 without a hint")
      }),
  },
  {
    name: "treats dropped connections and timeouts as retryable",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* Effect.zipRight(context.standIn.reset, connect(context, { timeoutMs: 300 }))
        yield* context.standIn.failNext({ _tag: "Disconnect" })
        const dropped = yield* failureOf(
          connector.send(textDelivery(context.standIn.newAddress(), "hi")),
          "send on a dropped connection",
        )
        assertSendFailure(dropped, { retryable: true, reason: "network" }, "a dropped connection")
        yield* context.standIn.failNext({ _tag: "Hang" })
        const started = Date.now()
        const hung = yield* failureOf(
          connector.send(textDelivery(context.standIn.newAddress(), "hi")),
          "send to a provider that never answers",
        )
        const waited = Date.now() - started
        assertSendFailure(hung, { retryable: true, reason: "timeout" }, "no answer")
        assert.isBelow(waited, 5_000, `gives up after its timeout (waited ${waited} ms)`)
        const after = yield* successOf(
          connector.send(textDelivery(context.standIn.newAddress(), "after")),
          "a send after the failures",
        )
        const sent = yield* context.standIn.sent
        assert.deepStrictEqual(
          sent.map((s) => s.providerMessageId),
          [after.providerMessageId],
          "only the last send was accepted",
        )
      }),
  },
  {
    name: "does not follow redirects",
    run: (context) =>
      Effect.scoped(
        Effect.gen(function* () {
          const connector = yield* fresh(context)
          const trap = yield* StandIn.listen({
            handle: () => ({ status: 200, body: {} }),
            renderFailure: (status) => ({ status, body: {} }),
          })
          for (const target of [`${trap.url}/collect`, "https://example.invalid/elsewhere"]) {
            yield* context.standIn.failNext({ _tag: "Redirect", location: target })
            const error = yield* failureOf(
              connector.send(textDelivery(context.standIn.newAddress(), "hi")),
              "send answered with a redirect",
            )
            assertSendFailure(error, { retryable: false, reason: "redirect" }, "a redirect")
          }
          assert.strictEqual((yield* trap.requests).length, 0, "the redirect target received nothing")
        }),
      ),
  },
  {
    name: "reports refused credentials as not retryable, and probes the provider",
    run: (context) =>
      Effect.gen(function* () {
        const good = yield* fresh(context)
        yield* successOf(good.probe, "probe with valid credentials")
        const bad = yield* connect(context, { credentials: "invalid" })
        const probe = yield* failureOf(bad.probe, "probe with refused credentials")
        assertSendFailure(
          probe,
          { retryable: false, reason: "unauthorized" },
          "a probe with refused credentials",
        )
        const send = yield* failureOf(bad.send(textDelivery(context.standIn.newAddress(), "hi")), "send")
        assertSendFailure(
          send,
          { retryable: false, reason: "unauthorized" },
          "a send with refused credentials",
        )
        assert.strictEqual(yield* sentCount(context), 0)
        yield* context.standIn.failNext({ _tag: "Status", status: 503 })
        const down = yield* failureOf(good.probe, "probe of a provider answering 503")
        assertSendFailure(down, { retryable: true }, "a probe answered 503")
      }),
  },
  {
    name: "parses inbound messages with stable provider ids, so redeliveries dedup",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const arbitrary = fc.record({
          texts: fc.array(fc.string({ unit: "grapheme", minLength: 1, maxLength: 80 }), {
            minLength: 1,
            maxLength: 6,
          }),
          senders: fc.integer({ min: 1, max: 3 }),
          at: fc.integer({ min: 1_500_000_000, max: 2_000_000_000 }).map((s) => s * 1000),
        })
        const examples = [{ texts: [...awkwardTexts], senders: 2, at: 1_700_000_000_000 }]
        yield* property(
          context,
          arbitrary,
          ({ texts, senders, at }) =>
            Effect.gen(function* () {
              const from = Array.from({ length: senders }, () => context.standIn.newAddress())
              const messages = texts.map((text, i) =>
                context.standIn.inboundMessage({ from: from[i % senders] ?? "", text, at: at + i * 1000 }),
              )
              const first = yield* inboundAll(connector, context.standIn.webhooks(messages))
              const again = yield* inboundAll(connector, context.standIn.webhooks(messages))
              const parsed = first.filter((e): e is InboundMessage => e._tag === "InboundMessage")
              assert.strictEqual(parsed.length, messages.length, "one InboundMessage per message")
              assert.strictEqual(first.length, messages.length, "and nothing else")
              for (const [i, message] of messages.entries()) {
                const event = parsed[i]
                assert.instanceOf(event, InboundMessage)
                assert.strictEqual(event?.connector, connector.name)
                assert.strictEqual(
                  event?.providerMessageId,
                  message.providerMessageId,
                  "the provider's own id",
                )
                assert.strictEqual(event?.from, message.from, "the sender's address")
                assert.deepStrictEqual(
                  connector.normalizeAddress(event?.from ?? ""),
                  Either.right(message.from),
                  "the sender's address is canonical",
                )
                assert.deepStrictEqual(
                  event?.content,
                  { type: "text", text: message.text },
                  "the text, intact",
                )
                assert.strictEqual(event?.at, message.at, "the provider's timestamp")
              }
              assert.strictEqual(
                new Set(parsed.map((e) => e.providerMessageId)).size,
                parsed.length,
                "distinct messages have distinct ids, also across senders",
              )
              assert.deepStrictEqual(
                again.map((e) => (e._tag === "InboundMessage" ? e.providerMessageId : e._tag)),
                parsed.map((e) => e.providerMessageId),
                "a redelivered webhook carries the same ids",
              )
            }),
          { examples },
        )
      }),
  },
  {
    name: "parses status callbacks in any order, for the references sends returned",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const reported = context.standIn.statuses
        if (reported.length === 0) {
          assert.lengthOf(connector.capabilities.receipts, 0, "no callbacks, no receipts")
          return
        }
        const recipient = context.standIn.newAddress()
        const refs: Array<string> = []
        for (let i = 0; i < 3; i++)
          refs.push(
            (yield* successOf(connector.send(textDelivery(recipient, `m${i}`)), "send")).providerMessageId,
          )
        const plans = fc.tuple(
          ...refs.map((ref) =>
            fc
              .record({
                statuses: fc.subarray([...reported], { minLength: 1 }),
                start: fc.integer({ min: 1_600_000_000, max: 1_900_000_000 }),
              })
              .map(({ statuses, start }) =>
                statuses.map(
                  (status, i): StandIn.SimulatedStatus => ({
                    kind: "status",
                    providerMessageId: ref,
                    status,
                    recipient,
                    at: (start + i) * 1000,
                  }),
                ),
              ),
          ),
        )
        const arbitrary = plans.chain((perRef) => {
          const all = perRef.flat()
          return fc.record({
            all: fc.constant(all),
            shuffled: fc.shuffledSubarray(all, { minLength: all.length, maxLength: all.length }),
            redelivered: fc.subarray(all),
          })
        })
        yield* property(context, arbitrary, ({ all, shuffled, redelivered }) =>
          Effect.gen(function* () {
            const delivered = [...shuffled, ...redelivered]
            const events = yield* inboundAll(connector, context.standIn.webhooks(delivered))
            assert.strictEqual(events.length, delivered.length, "one event per callback")
            const key = (e: { providerMessageId: string; status: string; at: number }) =>
              `${e.providerMessageId} ${e.status} ${e.at}`
            for (const [i, event] of events.entries()) {
              assert.instanceOf(event, StatusUpdate, `event ${i} is a StatusUpdate`)
              assert.strictEqual(event.connector, connector.name)
              assert.include(refs, (event as StatusUpdate).providerMessageId, "names a message that was sent")
            }
            // Order within a delivery is the connector's business; what each callback says is not.
            assert.deepStrictEqual(
              events.map((e) => key(e as StatusUpdate)).sort(),
              delivered.map(key).sort(),
              "each callback parses to its message, status and provider timestamp",
            )
            for (const ref of refs) {
              const expected = all
                .filter((c) => c.providerMessageId === ref)
                .map((c): Delivery.DeliveryStatus => c.status)
                .reduce(DeliveryState.max)
              const folded = events
                .filter((e): e is StatusUpdate => e._tag === "StatusUpdate" && e.providerMessageId === ref)
                .map((e): Delivery.DeliveryStatus => e.status)
                .reduce(DeliveryState.max)
              assert.strictEqual(folded, expected, "the delivery state ends where the provider's did")
            }
          }),
        )
      }),
  },
  {
    name: "rejects webhooks with a tampered body, a wrong secret or no signature",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const original = `tamper-me-${unique()}`
        const message = context.standIn.inboundMessage({
          from: context.standIn.newAddress(),
          text: original,
          at: 1_700_000_000_000,
        })
        const [valid] = context.standIn.webhooks([message])
        assert.isDefined(valid)
        if (valid === undefined) return
        yield* successOf(connector.inbound(valid), "the untouched webhook")
        const body = textDecoder.decode(valid.body)
        assert.include(body, original, "the stand-in's body carries the text")
        const tampered: Array<[string, WebhookRequest]> = [
          [
            "a tampered body",
            { ...valid, body: new TextEncoder().encode(body.replace(original, original.toUpperCase())) },
          ],
          ["a body with a byte appended", { ...valid, body: new Uint8Array([...valid.body, 0x20]) }],
        ]
        const variants: Array<[string, WebhookRequest]> = [
          // A shared-token scheme (Telegram) cannot detect an altered body; TLS is what protects it there.
          ...(context.standIn.verification === "body" ? tampered : []),
          ["a wrong secret", context.standIn.webhooks([message], "wrong-secret")[0] as WebhookRequest],
          ["no signature", context.standIn.webhooks([message], "missing")[0] as WebhookRequest],
          ["an empty signature header", withEmptySignature(valid)],
        ]
        for (const [what, request] of variants) {
          const error = yield* failureOf(connector.inbound(request), `inbound of ${what}`)
          assert.strictEqual(
            error._tag,
            "InvalidSignature",
            `${what} is an InvalidSignature (${error.message})`,
          )
          const outcome = yield* Webhook.dispatch(connector, request)
          assert.strictEqual(outcome._tag, "Rejected")
          assert.strictEqual(outcome.response.status, 401, `${what} is answered 401`)
        }
      }),
  },
  {
    name: "rejects signed bodies that are not the provider's format as malformed",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const bodies: Array<[string, Uint8Array]> = [
          ["an empty body", new Uint8Array(0)],
          ["not JSON", new TextEncoder().encode("hello, world")],
          ["invalid UTF-8", new Uint8Array([0x7b, 0xff, 0xfe, 0x7d])],
          ["JSON of another shape", new TextEncoder().encode('{"unexpected":true}')],
          ["a JSON array", new TextEncoder().encode("[1,2,3]")],
        ]
        for (const [what, body] of bodies) {
          const request = context.standIn.signedRequest(body)
          const error = yield* failureOf(connector.inbound(request), `inbound of ${what}`)
          assert.strictEqual(
            error._tag,
            "MalformedWebhook",
            `${what} is a MalformedWebhook (${error.message})`,
          )
          const outcome = yield* Webhook.dispatch(connector, request)
          assert.strictEqual(outcome.response.status, 400, `${what} is answered 400`)
        }
      }),
  },
  {
    name: "answers the handshake only with the right verify token",
    run: (context) =>
      Effect.gen(function* () {
        const connector = yield* fresh(context)
        const handshake = context.standIn.handshake
        if (handshake === undefined || connector.handshake === undefined) {
          assert.isUndefined(connector.handshake, "no handshake without a provider handshake")
          const outcome = yield* Webhook.dispatch(connector, {
            method: "GET",
            headers: {},
            query: { "hub.mode": "subscribe", "hub.challenge": "1" },
            body: new Uint8Array(0),
          })
          assert.strictEqual(outcome.response.status, 405, "a GET is answered 405")
          return
        }
        const challenge = String(Math.floor(Math.random() * 1e9))
        const ok = yield* successOf(
          connector.handshake(handshake({ token: "valid", challenge })),
          "handshake",
        )
        assert.strictEqual(ok.status, 200)
        assert.strictEqual(ok.body, challenge, "echoes the challenge")
        const dispatched = yield* Webhook.dispatch(connector, handshake({ token: "valid", challenge }))
        assert.strictEqual(dispatched._tag, "Handshake")
        assert.strictEqual(dispatched.response.body, challenge)
        const refusals: Array<[string, WebhookRequest]> = [
          ["a wrong token", handshake({ token: "wrong", challenge })],
          ["no token", handshake({ token: "missing", challenge })],
          ["mode unsubscribe", handshake({ token: "valid", challenge, mode: "unsubscribe" })],
          ["a challenge with markup", handshake({ token: "valid", challenge: "<script>alert(1)</script>" })],
        ]
        for (const [what, request] of refusals) {
          const error = yield* failureOf(connector.handshake(request), `handshake with ${what}`)
          assert.strictEqual(error._tag, "HandshakeRejected")
          const outcome = yield* Webhook.dispatch(connector, request)
          assert.strictEqual(outcome._tag, "Rejected")
          assert.strictEqual(outcome.response.status, 403, `${what} is answered 403`)
          assert.notInclude(outcome.response.body, challenge, `${what}: the challenge is not echoed`)
        }
      }),
  },
  {
    name: "when disabled, refuses sends and webhooks without calling the provider",
    run: (context) =>
      Effect.gen(function* () {
        yield* context.standIn.reset
        const connector = yield* context.factory
          .build({ ...context.standIn.settings(), enabled: false })
          .pipe(Effect.orDie)
        assert.isFalse(connector.capabilities.enabled, "capabilities.enabled is false")
        const error = yield* failureOf(
          connector.send(textDelivery(context.standIn.newAddress(), "hi")),
          "send through a disabled connector",
        )
        assertSendFailure(error, { retryable: false, reason: "disabled" }, "a disabled connector")
        const message = context.standIn.inboundMessage({
          from: context.standIn.newAddress(),
          text: "hi",
          at: 1_700_000_000_000,
        })
        for (const request of context.standIn.webhooks([message])) {
          const outcome = yield* Webhook.dispatch(connector, request)
          assert.strictEqual(outcome.response.status, 404, "webhooks are answered 404")
        }
        assert.strictEqual((yield* context.standIn.requests).length, 0, "no provider call")
      }),
  },
]

/** Starts a stand-in for the length of a scope and gives the check context. */
export const context = (
  factory: ConnectorFactory,
  standIn: Effect.Effect<StandIn.StandIn, unknown, Scope.Scope>,
  runs = 25,
): Effect.Effect<Context, unknown, Scope.Scope> =>
  Effect.flatMap(standIn, (s) =>
    s.provider === factory.name
      ? Effect.succeed({ factory, standIn: s, runs })
      : Effect.dieMessage(`the stand-in is for ${s.provider}, but the factory builds ${factory.name}`),
  )
