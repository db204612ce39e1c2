#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Console, Effect, Logger } from "effect"
import { token, UsageError } from "./commands/Token.js"
import * as AppConfig from "./config.js"
import { serve } from "./main.js"
import * as Storage from "./Storage.js"

const usage = `Usage: chat4all <command> [options]

Commands:
  serve                      start the server (the default)
  migrate                    apply the database migrations and exit
  token --tenant T --user U [--role user|service|admin] [--ttl 24h]
                             print a token signed with the local HS256 secret

Environment: PORT (8080), HOST (127.0.0.1), DATA_DIR (./.chat4all), DATABASE_URL (absent: embedded
PostgreSQL in DATA_DIR), CHAT4ALL_JWT_SECRET (absent: generated into DATA_DIR), CHAT4ALL_JWKS_URL,
CHAT4ALL_RATE_LIMITS (on|off), LOG_LEVEL (Info).`

const program = (argv: ReadonlyArray<string>): Effect.Effect<void, unknown, NodeContext.NodeContext> => {
  const [command = "serve", ...rest] = argv
  switch (command) {
    case "serve":
      return Effect.flatMap(Storage.fromConfig, serve).pipe(Effect.asVoid)
    case "migrate":
      return Effect.flatMap(Storage.fromConfig, (storage) => storage.migrate)
    case "token":
      return token(rest)
    case "help":
    case "--help":
    case "-h":
      return Console.log(usage)
    default:
      return Effect.fail(new UsageError(`unknown command ${JSON.stringify(command)}`))
  }
}

const main = Effect.gen(function* () {
  const level = yield* AppConfig.logLevel
  return yield* program(process.argv.slice(2)).pipe(
    Effect.catchIf(
      (error: unknown): error is UsageError => error instanceof UsageError,
      (error) =>
        Effect.zipRight(
          Console.error(`chat4all: ${error.message}\n\n${usage}`),
          Effect.sync(() => {
            process.exitCode = 2
          }),
        ),
    ),
    Logger.withMinimumLogLevel(level),
  )
})

main.pipe(
  Effect.provide(NodeContext.layer),
  Effect.provide(Logger.json),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
