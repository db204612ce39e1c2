import { parseArgs } from "node:util"
import { Caller, Ids } from "@chat4all/domain"
import { Console, Effect, Either, Option, Schema } from "effect"
import * as Jwt from "../auth/Jwt.js"
import * as AppConfig from "../config.js"

/** A wrong command line: the message and the usage, exit code 2. */
export class UsageError extends Error {}

/** `3600`, `90s`, `30m`, `24h` or `7d`, in seconds. */
export const parseTtl = (raw: string): number | undefined => {
  const match = /^([0-9]+)([smhd]?)$/.exec(raw.trim())
  if (match === null) return undefined
  const unit = { "": 1, s: 1, m: 60, h: 3600, d: 86400 }[match[2] as "" | "s" | "m" | "h" | "d"]
  const seconds = Number(match[1]) * unit
  return seconds > 0 ? seconds : undefined
}

/** `chat4all token`: prints a token signed with the local HS256 secret (stdout has the token only). */
export const token = (args: ReadonlyArray<string>) =>
  Effect.gen(function* () {
    const { values } = yield* Effect.try({
      try: () =>
        parseArgs({
          args: [...args],
          options: {
            tenant: { type: "string" },
            user: { type: "string" },
            role: { type: "string", default: "user" },
            ttl: { type: "string", default: "24h" },
          },
          strict: true,
          allowPositionals: false,
        }),
      catch: (error) => new UsageError((error as Error).message),
    })
    const check = <A, I>(schema: Schema.Schema<A, I>, value: unknown, name: string) =>
      Either.mapLeft(
        Schema.decodeUnknownEither(schema)(value),
        () =>
          new UsageError(
            `--${name} ${value === undefined ? "is required" : `${JSON.stringify(value)} is not valid`}`,
          ),
      )
    const tenant = yield* check(Ids.TenantId, values.tenant, "tenant")
    const user = yield* check(Ids.UserId, values.user, "user")
    const role = yield* check(Caller.Role, values.role, "role")
    const ttl = parseTtl(values.ttl)
    if (ttl === undefined)
      return yield* Effect.fail(new UsageError(`--ttl ${values.ttl}: use e.g. 3600, 30m, 24h, 7d`))
    if (Option.isSome(yield* AppConfig.jwksUrl))
      return yield* Effect.fail(
        new UsageError(
          "CHAT4ALL_JWKS_URL is set: tokens come from your identity provider, not from chat4all",
        ),
      )
    const secret = yield* Jwt.sharedSecret
    yield* Console.log(yield* Jwt.sign(secret, { sub: user, tid: tenant, role }, ttl))
  })
