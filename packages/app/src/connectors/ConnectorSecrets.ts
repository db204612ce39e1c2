import { createCipheriv, createDecipheriv, createHash, randomBytes } from "node:crypto"
import { FileSystem, Path } from "@effect/platform"
import { Config, ConfigError, Context, Data, Effect, Either, Layer, Option, Redacted } from "effect"
import * as AppConfig from "../config.js"

/**
 * Connector settings hold the providers' credentials, so they are sealed before they are stored:
 * AES-256-GCM with a random 96-bit IV per write, the tenant and connector bound in as additional data
 * (a sealed value copied to another row does not open), and the key's id kept beside it so that a wrong
 * key is told apart from tampering.
 *
 * The key is `CHAT4ALL_SECRETS_KEY` (32 bytes in base64, base64url or hex), or one generated into
 * `DATA_DIR/secrets-key` (mode 0600) the first time a setting is stored. Nodes that share a database must
 * share the key: set the variable on each.
 */

/** The file under DATA_DIR that holds the generated key. */
export const fileName = "secrets-key"

/** What is stored in place of the settings. */
export interface Sealed {
  readonly sealed: "aes-256-gcm"
  /** The first 8 hex digits of the key's SHA-256: which key sealed it. */
  readonly kid: string
  readonly iv: string
  readonly tag: string
  readonly data: string
}

/** Sealed settings that cannot be opened: another key, or altered. Never carries the plaintext. */
export class SealError extends Data.TaggedError("SealError")<{ readonly reason: string }> {
  override get message() {
    return this.reason
  }
}

export class ConnectorSecrets extends Context.Tag("@chat4all/app/ConnectorSecrets")<
  ConnectorSecrets,
  {
    /** Seals `value` (JSON) for the row named by `context`. */
    readonly seal: (value: unknown, context: string) => Effect.Effect<Sealed, SealError>
    /** Opens what `seal` made for the same `context`; a value that was never sealed comes back as is. */
    readonly open: (stored: unknown, context: string) => Effect.Effect<unknown, SealError>
  }
>() {}

/** The additional data that binds a sealed value to its row. */
export const contextOf = (tenantId: string, connector: string) =>
  `chat4all:connector-settings:${tenantId}:${connector}`

/** 32 bytes from base64, base64url or hex; undefined when the text is none of them at that length. */
export const decodeKey = (text: string): Uint8Array | undefined => {
  const trimmed = text.trim()
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return Buffer.from(trimmed, "hex")
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(trimmed.replace(/-/g, "+").replace(/_/g, "/"), "base64")
    if (bytes.length === 32) return bytes
  }
  return undefined
}

const kidOf = (key: Uint8Array) => createHash("sha256").update(key).digest("hex").slice(0, 8)

const isSealed = (value: unknown): value is Sealed =>
  typeof value === "object" &&
  value !== null &&
  (value as { sealed?: unknown }).sealed === "aes-256-gcm" &&
  ["kid", "iv", "tag", "data"].every((k) => typeof (value as Record<string, unknown>)[k] === "string")

/** Seal and open with one key. */
export const make = (key: Uint8Array): Context.Tag.Service<ConnectorSecrets> => {
  if (key.length !== 32) throw new Error("the secrets key must be 32 bytes")
  const kid = kidOf(key)
  return {
    seal: (value, context) =>
      Effect.try({
        try: () => {
          const iv = randomBytes(12)
          const cipher = createCipheriv("aes-256-gcm", key, iv)
          cipher.setAAD(Buffer.from(context, "utf8"))
          const data = Buffer.concat([cipher.update(JSON.stringify(value), "utf8"), cipher.final()])
          return {
            sealed: "aes-256-gcm",
            kid,
            iv: iv.toString("base64"),
            tag: cipher.getAuthTag().toString("base64"),
            data: data.toString("base64"),
          } satisfies Sealed
        },
        catch: (cause) => new SealError({ reason: `the settings could not be sealed: ${String(cause)}` }),
      }),
    open: (stored, context) => {
      if (!isSealed(stored)) return Effect.succeed(stored)
      if (stored.kid !== kid)
        return Effect.fail(
          new SealError({
            reason:
              `the settings were sealed with key ${stored.kid}, and this server's key is ${kid}: ` +
              "set CHAT4ALL_SECRETS_KEY (or DATA_DIR/secrets-key) to the key they were sealed with",
          }),
        )
      return Effect.try({
        try: () => {
          const decipher = createDecipheriv("aes-256-gcm", key, Buffer.from(stored.iv, "base64"))
          decipher.setAAD(Buffer.from(context, "utf8"))
          decipher.setAuthTag(Buffer.from(stored.tag, "base64"))
          const plain = Buffer.concat([decipher.update(Buffer.from(stored.data, "base64")), decipher.final()])
          return JSON.parse(plain.toString("utf8")) as unknown
        },
        catch: () =>
          new SealError({
            reason:
              "the sealed settings do not open: they were altered, or belong to another tenant or connector",
          }),
      })
    },
  }
}

/** The key kept in `DATA_DIR/secrets-key`: read when it exists, otherwise generated once (mode 0600). */
const loadOrCreate = (dataDir: string) =>
  Effect.gen(function* () {
    const fs = yield* FileSystem.FileSystem
    const path = yield* Path.Path
    const file = path.join(dataDir, fileName)
    yield* fs.makeDirectory(dataDir, { recursive: true, mode: 0o700 })
    if (!(yield* fs.exists(file))) {
      yield* fs
        .writeFileString(file, `${randomBytes(32).toString("base64")}\n`, { flag: "wx", mode: 0o600 })
        .pipe(
          Effect.catchIf(
            (error) => error._tag === "SystemError" && error.reason === "AlreadyExists",
            () => Effect.void,
          ),
        )
      yield* Effect.logInfo(`generated the connector secrets key into ${file} (mode 0600)`)
    }
    const key = decodeKey(yield* fs.readFileString(file))
    if (key === undefined)
      return yield* new SealError({ reason: `${file} does not hold a 32-byte key in base64 or hex` })
    return key
  }).pipe(
    Effect.mapError((error) =>
      error instanceof SealError
        ? error
        : new SealError({ reason: `the secrets key could not be loaded: ${error.message}` }),
    ),
  )

/** `CHAT4ALL_SECRETS_KEY`: 32 bytes in base64, base64url or hex; unset (or empty) for the key file. */
export const keyConfig = Config.option(Config.redacted("CHAT4ALL_SECRETS_KEY")).pipe(
  Config.mapOrFail((value) => {
    if (Option.isNone(value) || Redacted.value(value.value).trim() === "") return Either.right(Option.none())
    const key = decodeKey(Redacted.value(value.value))
    return key === undefined
      ? Either.left(
          ConfigError.InvalidData([], "CHAT4ALL_SECRETS_KEY must be 32 bytes in base64, base64url or hex"),
        )
      : Either.right(Option.some(key))
  }),
)

/**
 * The secrets from `CHAT4ALL_SECRETS_KEY`, or from the key file in DATA_DIR, read (or made) on first use:
 * a server that never stores connector settings never touches the file. A malformed variable fails at
 * start.
 */
export const layerConfig: Layer.Layer<
  ConnectorSecrets,
  ConfigError.ConfigError,
  FileSystem.FileSystem | Path.Path
> = Layer.effect(
  ConnectorSecrets,
  Effect.gen(function* () {
    const configured = yield* keyConfig
    if (Option.isSome(configured)) return make(configured.value)
    const dataDir = yield* AppConfig.dataDir
    const context = yield* Effect.context<FileSystem.FileSystem | Path.Path>()
    const lock = yield* Effect.makeSemaphore(1)
    let loaded: Context.Tag.Service<ConnectorSecrets> | undefined
    const secrets = lock.withPermits(1)(
      Effect.suspend(() =>
        loaded !== undefined
          ? Effect.succeed(loaded)
          : Effect.map(Effect.provide(loadOrCreate(dataDir), context), (key) => {
              loaded = make(key)
              return loaded
            }),
      ),
    )
    return ConnectorSecrets.of({
      seal: (value, ctx) => Effect.flatMap(secrets, (s) => s.seal(value, ctx)),
      open: (stored, ctx) => Effect.flatMap(secrets, (s) => s.open(stored, ctx)),
    })
  }),
)
