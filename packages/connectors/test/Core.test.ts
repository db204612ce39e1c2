import { inspect } from "node:util"
import {
  ConnectorFactory,
  ConnectorSettings,
  InvalidSettings,
  ProviderHttp,
  Registry,
  Signature,
  Telegram,
  UnknownConnector,
  Webhook,
  WebhookRequest,
  WhatsApp,
} from "@chat4all/connectors"
import * as InstagramEntry from "@chat4all/connectors/instagram"
import * as StandIns from "@chat4all/connectors/stand-ins"
import * as TelegramEntry from "@chat4all/connectors/telegram"
import { Conformance } from "@chat4all/connectors/testing"
import * as WhatsAppEntry from "@chat4all/connectors/whatsapp"
import { assert, describe, it } from "@effect/vitest"
import { Effect, Either, Metric, Redacted, Schema } from "effect"
import { build, fixedProvider } from "./support.js"

describe("WebhookRequest.make", () => {
  it("lower-cases and joins headers from Node, Headers and records; keeps the query; encodes string bodies", () => {
    const fromNode = WebhookRequest.make({
      method: "post",
      url: "/hook?hub.mode=subscribe&hub.mode=other&x=1%202",
      headers: { "X-Hub-Signature-256": "sha256=ab", "set-cookie": ["a", "b"], absent: undefined },
      body: "é",
    })
    assert.strictEqual(fromNode.method, "POST")
    assert.deepStrictEqual(fromNode.headers, { "x-hub-signature-256": "sha256=ab", "set-cookie": "a, b" })
    assert.deepStrictEqual(fromNode.query, { "hub.mode": "subscribe", x: "1 2" })
    assert.deepStrictEqual([...fromNode.body], [0xc3, 0xa9])
    const fromWeb = WebhookRequest.make({
      method: "GET",
      url: "https://chat4all.example/v1/connectors/whatsapp/webhook",
      headers: new Headers({ "X-Telegram-Bot-Api-Secret-Token": "t" }),
    })
    assert.strictEqual(WebhookRequest.header(fromWeb, "X-TELEGRAM-BOT-API-SECRET-TOKEN"), "t")
    assert.deepStrictEqual(fromWeb.query, {})
    assert.strictEqual(fromWeb.body.byteLength, 0)
  })
})

describe("Signature", () => {
  const body = new TextEncoder().encode('{"a":1}')
  const hex = Signature.hmacSha256Hex("secret", body)
  it("accepts the HMAC in either case and tells missing, malformed and mismatched apart", () => {
    const check = (header: string | undefined) =>
      Signature.verifyHexHmac({ header, prefix: "sha256=", secret: Redacted.make("secret"), body })
    assert.strictEqual(check(`sha256=${hex}`), "valid")
    assert.strictEqual(check(`sha256=${hex.toUpperCase()}`), "valid")
    assert.strictEqual(check(undefined), "missing")
    assert.strictEqual(check("  "), "missing")
    assert.strictEqual(check(`sha1=${hex}`), "malformed")
    assert.strictEqual(check(`sha256=${hex.slice(2)}`), "malformed")
    assert.strictEqual(check(`sha256=${hex.slice(0, 63)}z`), "malformed")
    assert.strictEqual(check(`sha256=${Signature.hmacSha256Hex("other", body)}`), "mismatch")
  })
  it("compares tokens of any length without throwing", () => {
    assert.isTrue(Signature.tokenEquals("abc", Redacted.make("abc")))
    assert.isFalse(Signature.tokenEquals("abcd", "abc"))
    assert.isFalse(Signature.tokenEquals("", "abc"))
  })
})

describe("ProviderHttp", () => {
  it("reads Retry-After as seconds or as an HTTP date", () => {
    const now = Date.parse("2025-01-01T00:00:00Z")
    assert.strictEqual(ProviderHttp.parseRetryAfter("120", now), 120_000)
    assert.strictEqual(ProviderHttp.parseRetryAfter(" 0 ", now), 0)
    assert.strictEqual(ProviderHttp.parseRetryAfter("Wed, 01 Jan 2025 00:00:30 GMT", now), 30_000)
    assert.strictEqual(ProviderHttp.parseRetryAfter("Tue, 31 Dec 2024 23:00:00 GMT", now), 0)
    assert.isUndefined(ProviderHttp.parseRetryAfter("soon", now))
    assert.isUndefined(ProviderHttp.parseRetryAfter("-5", now))
    assert.isUndefined(ProviderHttp.parseRetryAfter(null, now))
  })

  it("classifies statuses", () => {
    assert.deepStrictEqual(ProviderHttp.classifyStatus(429), { reason: "rate_limited", retryable: true })
    assert.deepStrictEqual(ProviderHttp.classifyStatus(408), {
      reason: "provider_unavailable",
      retryable: true,
    })
    assert.deepStrictEqual(ProviderHttp.classifyStatus(503), {
      reason: "provider_unavailable",
      retryable: true,
    })
    assert.deepStrictEqual(ProviderHttp.classifyStatus(403), { reason: "unauthorized", retryable: false })
    assert.deepStrictEqual(ProviderHttp.classifyStatus(422), { reason: "rejected", retryable: false })
  })

  it.scopedLive("refuses an answer over the size limit instead of buffering it", () =>
    Effect.gen(function* () {
      const server = yield* fixedProvider(() => ({
        status: 200,
        body: "x".repeat(ProviderHttp.maxResponseBytes + 1),
      }))
      const error = yield* Effect.flip(
        ProviderHttp.request({ connector: "test", method: "GET", url: server.url, timeoutMs: 5_000 }),
      )
      assert.strictEqual(error.reason, "bad_response")
      assert.isFalse(error.retryable)
    }),
  )

  it.scopedLive("scrubs secrets from what it reports", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        ProviderHttp.request({
          connector: "test",
          method: "GET",
          url: "http://127.0.0.1:1/botSECRET123/getMe",
          timeoutMs: 2_000,
          secrets: [Redacted.make("SECRET123")],
        }),
      )
      assert.strictEqual(error.reason, "network")
      assert.notInclude(error.message, "SECRET123")
      assert.strictEqual(ProviderHttp.scrub("a SECRET b SECRET", ["SECRET", ""]), "a <redacted> b <redacted>")
    }),
  )
})

describe("ConnectorSettings", () => {
  const decodeUrl = Schema.decodeUnknownEither(ConnectorSettings.BaseUrl)
  it.each([
    ["https://graph.facebook.com", "https://graph.facebook.com"],
    ["https://proxy.example.com/meta/", "https://proxy.example.com/meta"],
    ["http://127.0.0.1:8080", "http://127.0.0.1:8080"],
    ["http://localhost:9/x", "http://localhost:9/x"],
    ["http://[::1]:9", "http://[::1]:9"],
  ])("accepts %s as %s", (input, expected) => {
    assert.strictEqual(Either.getOrThrow(decodeUrl(input)), expected)
  })
  it.each([
    "graph.facebook.com",
    "http://graph.facebook.com",
    "ftp://localhost",
    "https://user:pass@graph.facebook.com",
    "https://graph.facebook.com/?access_token=x",
    "https://graph.facebook.com/#x",
  ])("refuses %s", (input) => {
    assert.strictEqual(decodeUrl(input)._tag, "Left")
  })

  it.effect("refuses the redaction marker as a secret, naming the field", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(
        WhatsApp.factory.parse({
          phoneNumberId: "1",
          accessToken: "<redacted>",
          appSecret: "s",
          verifyToken: "v",
        }),
      )
      assert.instanceOf(error, InvalidSettings)
      assert.strictEqual(error.field, "accessToken")
      assert.include(error.message, "send the secret itself")
    }),
  )

  it.effect("stores secrets in clear, shows them redacted, and prints them nowhere", () =>
    Effect.gen(function* () {
      const input = {
        phoneNumberId: "123",
        accessToken: "tok-123",
        appSecret: "app-456",
        verifyToken: "ver-789",
      }
      const parsed = yield* WhatsApp.factory.parse(input)
      assert.deepStrictEqual(parsed.forStorage, {
        ...input,
        enabled: true,
        baseUrl: "https://graph.facebook.com",
        timeoutMs: 10_000,
        apiVersion: "v21.0",
      })
      assert.deepStrictEqual(parsed.redacted, {
        ...input,
        accessToken: "<redacted>",
        appSecret: "<redacted>",
        verifyToken: "<redacted>",
        enabled: true,
        baseUrl: "https://graph.facebook.com",
        timeoutMs: 10_000,
        apiVersion: "v21.0",
      })
      const settings = Schema.decodeUnknownSync(WhatsApp.Settings)(input)
      for (const shown of [
        JSON.stringify(settings),
        String(settings.accessToken),
        inspect(settings, { depth: 5 }),
      ])
        for (const secret of ["tok-123", "app-456", "ver-789"]) assert.notInclude(shown, secret)
      const rebuilt = yield* WhatsApp.factory.build(parsed.forStorage)
      assert.isTrue(rebuilt.capabilities.enabled, "stored settings build the connector again")
    }),
  )
})

describe("package entry points", () => {
  it("expose the same modules as the root", () => {
    assert.strictEqual(WhatsAppEntry.factory, WhatsApp.factory)
    assert.strictEqual(TelegramEntry.factory, Telegram.factory)
    assert.strictEqual(
      InstagramEntry.factory,
      Registry.builtIn.find((f) => f.name === "instagram"),
    )
    assert.isDefined(StandIns.WhatsAppStandIn.make)
    assert.isFunction(StandIns.StandIn.listen)
  })
})

describe("Registry", () => {
  const registry = Registry.make(Registry.builtIn)

  it("lists the built-in connectors", () => {
    assert.deepStrictEqual(registry.names, ["instagram", "telegram", "whatsapp"])
  })

  it.effect("fails with UnknownConnector naming the known ones", () =>
    Effect.gen(function* () {
      const error = yield* Effect.flip(registry.build("sms", {}))
      assert.instanceOf(error, UnknownConnector)
      assert.strictEqual(error.message, 'no connector named "sms"; known: instagram, telegram, whatsapp')
    }),
  )

  it.effect("parses and builds by name, through the service", () =>
    Effect.gen(function* () {
      const service = yield* Registry.ConnectorRegistry
      const parsed = yield* service.parse("telegram", {
        botToken: "1:AAAAAAAAAAAAAAAAAAAAAAAA",
        secretToken: "s",
      })
      const connector = yield* service.build("telegram", parsed.forStorage)
      assert.strictEqual(connector.name, "telegram")
      assert.deepStrictEqual(connector.capabilities.receipts, [])
    }).pipe(Effect.provide(Registry.layer())),
  )

  it("refuses two connectors with one name, and names that are not channel names", () => {
    assert.throws(
      () => Registry.make([WhatsApp.factory, WhatsApp.factory]),
      /two connectors are named "whatsapp"/,
    )
    assert.throws(() => Registry.make([{ ...Telegram.factory, name: "Tele Gram" }]), /not a channel name/)
  })
})

describe("Webhook.dispatch", () => {
  it.effect("answers other methods 405 with Allow", () =>
    Effect.gen(function* () {
      const whatsapp = yield* build(WhatsApp.factory, {
        phoneNumberId: "1",
        accessToken: "a",
        appSecret: "b",
        verifyToken: "c",
      })
      const put = yield* Webhook.dispatch(
        whatsapp,
        WebhookRequest.make({ method: "PUT", url: "/", headers: {} }),
      )
      assert.strictEqual(put.response.status, 405)
      assert.strictEqual(put.response.headers.allow, "GET, POST")
      const telegram = yield* build(Telegram.factory, {
        botToken: "1:AAAAAAAAAAAAAAAAAAAAAAAA",
        secretToken: "s",
      })
      const get = yield* Webhook.dispatch(
        telegram,
        WebhookRequest.make({ method: "GET", url: "/", headers: {} }),
      )
      assert.strictEqual(get.response.status, 405)
      assert.strictEqual(get.response.headers.allow, "POST")
      assert.strictEqual(JSON.parse(get.response.body).code, "method_not_allowed")
    }),
  )
})

describe("instrumentation", () => {
  it.scopedLive("counts sends by connector and outcome", () =>
    Effect.gen(function* () {
      const counter = (outcome: string) =>
        ConnectorFactory.sends.pipe(Metric.tagged("connector", "telegram"), Metric.tagged("outcome", outcome))
      const before = (yield* Metric.value(counter("failed"))).count
      const telegram = yield* build(Telegram.factory, {
        botToken: "1:AAAAAAAAAAAAAAAAAAAAAAAA",
        secretToken: "s",
        enabled: false,
      })
      yield* Effect.flip(telegram.send(Conformance.textDelivery("1", "x")))
      assert.strictEqual((yield* Metric.value(counter("failed"))).count, before + 1)
    }),
  )
})
