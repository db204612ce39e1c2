import * as Fs from "node:fs"
import * as Os from "node:os"
import * as Path from "node:path"
import { Ids } from "@chat4all/domain"
import { NodeContext } from "@effect/platform-node"
import { ConfigProvider, Effect, Exit, Layer } from "effect"
import { describe, expect, it } from "vitest"
import * as ConnectorSecrets from "../src/connectors/ConnectorSecrets.js"
import * as ProviderEvents from "../src/connectors/ProviderEvents.js"

const keyA = new Uint8Array(32).fill(7)
const keyB = new Uint8Array(32).fill(9)
const settings = {
  baseUrl: "https://graph.facebook.com",
  accessToken: "EAAG-very-secret-token",
  nested: [1, null],
}
const context = ConnectorSecrets.contextOf("acme", "whatsapp")

const run = <A, E>(effect: Effect.Effect<A, E>) => Effect.runPromise(effect)

describe("ConnectorSecrets", () => {
  it("seals settings so that the secret is not in what is stored, and opens them back", async () => {
    const secrets = ConnectorSecrets.make(keyA)
    const sealed = await run(secrets.seal(settings, context))
    expect(sealed).toMatchObject({ sealed: "aes-256-gcm", kid: expect.stringMatching(/^[0-9a-f]{8}$/) })
    const stored = JSON.stringify(sealed)
    expect(stored).not.toContain("EAAG")
    expect(stored).not.toContain("graph.facebook")
    expect(await run(secrets.open(sealed, context))).toEqual(settings)
    // A fresh IV each time: the same settings never seal the same way twice.
    expect((await run(secrets.seal(settings, context))).iv).not.toBe(sealed.iv)
  })

  it("refuses what was altered, sealed for another row, or with another key, saying which", async () => {
    const secrets = ConnectorSecrets.make(keyA)
    const sealed = await run(secrets.seal(settings, context))
    const data = Buffer.from(sealed.data, "base64")
    data[0]! ^= 1
    const altered = { ...sealed, data: data.toString("base64") }
    const failure = async (stored: unknown, ctx: string, s = secrets) => {
      const exit = await Effect.runPromiseExit(s.open(stored, ctx))
      if (Exit.isSuccess(exit)) throw new Error("expected the sealed settings not to open")
      return JSON.stringify(exit.cause)
    }
    expect(await failure(altered, context)).toContain("altered")
    expect(await failure(sealed, ConnectorSecrets.contextOf("other", "whatsapp"))).toContain("another tenant")
    const otherKey = await failure(sealed, context, ConnectorSecrets.make(keyB))
    expect(otherKey).toContain(sealed.kid)
    expect(otherKey).toContain("CHAT4ALL_SECRETS_KEY")
    expect(otherKey).not.toContain("EAAG")
    // Settings stored before sealing existed come back as they are.
    expect(await run(secrets.open({ plain: true }, context))).toEqual({ plain: true })
  })

  it("reads the key as hex, base64 or base64url, 32 bytes only", () => {
    const bytes = Buffer.from(keyA)
    expect(ConnectorSecrets.decodeKey(bytes.toString("hex"))).toEqual(bytes)
    expect(ConnectorSecrets.decodeKey(bytes.toString("base64"))).toEqual(bytes)
    expect(ConnectorSecrets.decodeKey(` ${bytes.toString("base64url")}\n`)).toEqual(bytes)
    expect(ConnectorSecrets.decodeKey(Buffer.alloc(16).toString("hex"))).toBeUndefined()
    expect(ConnectorSecrets.decodeKey("not a key")).toBeUndefined()
  })

  const layerWith = (env: Record<string, string>) =>
    ConnectorSecrets.layerConfig.pipe(
      Layer.provide(NodeContext.layer),
      Layer.provide(Layer.setConfigProvider(ConfigProvider.fromMap(new Map(Object.entries(env))))),
    )
  const withSecrets = <A, E>(
    env: Record<string, string>,
    use: (s: ConnectorSecrets.ConnectorSecrets["Type"]) => Effect.Effect<A, E>,
  ) =>
    Effect.runPromise(
      Effect.flatMap(ConnectorSecrets.ConnectorSecrets, use).pipe(Effect.provide(layerWith(env))),
    )

  it("generates a key into DATA_DIR on first use only (mode 0600), and finds it again", async () => {
    const dir = Fs.mkdtempSync(Path.join(Os.tmpdir(), "chat4all-secrets-"))
    try {
      const dataDir = Path.join(dir, "data")
      await withSecrets({ DATA_DIR: dataDir }, () => Effect.void)
      expect(Fs.existsSync(Path.join(dataDir, ConnectorSecrets.fileName))).toBe(false)
      const sealed = await withSecrets({ DATA_DIR: dataDir }, (s) => s.seal(settings, context))
      const file = Path.join(dataDir, ConnectorSecrets.fileName)
      expect(Fs.statSync(file).mode & 0o777).toBe(0o600)
      // Another process on the same DATA_DIR opens it.
      expect(await withSecrets({ DATA_DIR: dataDir }, (s) => s.open(sealed, context))).toEqual(settings)
      // CHAT4ALL_SECRETS_KEY takes precedence, and a malformed one stops the start.
      const hex = Buffer.from(keyB).toString("hex")
      const withEnv = await withSecrets({ DATA_DIR: dataDir, CHAT4ALL_SECRETS_KEY: hex }, (s) =>
        s.seal(1, context),
      )
      expect(await run(ConnectorSecrets.make(keyB).open(withEnv, context))).toBe(1)
      const bad = await Effect.runPromiseExit(
        Effect.provide(ConnectorSecrets.ConnectorSecrets, layerWith({ CHAT4ALL_SECRETS_KEY: "short" })),
      )
      expect(Exit.isFailure(bad) && JSON.stringify(bad.cause)).toContain("32 bytes")
    } finally {
      Fs.rmSync(dir, { recursive: true, force: true })
    }
  })
})

describe("ProviderEvents ids", () => {
  it("uses a provider id as the client message id when it is a valid one, a stable digest otherwise", () => {
    expect(ProviderEvents.clientMessageIdFor("123456789:42")).toBe("123456789:42")
    const wamid = "wamid.HBgNNTUxMTk5OTk5MDAwMBUCABIYFjNFQjA5QjA5AA=="
    const digest = ProviderEvents.clientMessageIdFor(wamid)
    expect(digest).toMatch(/^p:[0-9a-f]{64}$/)
    expect(ProviderEvents.clientMessageIdFor(wamid)).toBe(digest)
    expect(ProviderEvents.clientMessageIdFor(`${wamid}x`)).not.toBe(digest)
    expect(ProviderEvents.clientMessageIdFor("a".repeat(129))).toMatch(/^p:/)
  })

  it("gives a sender the same contact id every time, per tenant, without spelling out the address", () => {
    const tenant = Ids.TenantId.make("acme")
    const id = ProviderEvents.contactIdFor(tenant, "whatsapp", "5511999990000")
    expect(id).toMatch(/^contact:whatsapp:[0-9a-f]{24}$/)
    expect(id).not.toContain("5511999990000")
    expect(ProviderEvents.contactIdFor(tenant, "whatsapp", "5511999990000")).toBe(id)
    expect(ProviderEvents.contactIdFor(Ids.TenantId.make("other"), "whatsapp", "5511999990000")).not.toBe(id)
    expect(ProviderEvents.contactIdFor(tenant, "telegram", "5511999990000")).not.toBe(id)
  })

  it("keeps media at the provider and says what it was", () => {
    expect(
      ProviderEvents.contentOf({
        type: "media",
        kind: "image",
        providerMediaId: "m1",
        mimeType: "image/jpeg",
      }),
    ).toMatchObject({
      content: { type: "text", text: "[image]" },
      metadata: { media: { kind: "image", providerMediaId: "m1", mimeType: "image/jpeg" } },
    })
    expect(
      ProviderEvents.contentOf({ type: "media", kind: "video", providerMediaId: "m2", caption: "olha" })
        .content,
    ).toMatchObject({ text: "olha" })
    expect(ProviderEvents.contentOf({ type: "unsupported", kind: "location" })).toMatchObject({
      content: { text: "[unsupported location message]" },
      metadata: { unsupported: "location" },
    })
  })
})
