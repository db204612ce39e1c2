#!/usr/bin/env node
import { NodeContext, NodeRuntime } from "@effect/platform-node"
import { Cause, Console, Effect, Logger, Option } from "effect"
import { token, UsageError } from "./commands/Token.js"
import * as AppConfig from "./config.js"

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
    // The server's modules load only for the commands that need them: `token` starts fast.
    case "serve":
      return Effect.promise(() => import("./main.js")).pipe(
        Effect.flatMap(({ serve, Storage }) => Effect.flatMap(Storage.fromConfig, serve)),
        Effect.asVoid,
      )
    case "migrate":
      return Effect.promise(() => import("./main.js")).pipe(
        Effect.flatMap(({ Storage }) => Effect.flatMap(Storage.fromConfig, (storage) => storage.migrate)),
      )
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

const exitWith = (code: number) =>
  Effect.sync(() => {
    process.exitCode = code
  })

/** A failure to start or to run a command: one clear line on stderr, a JSON log line, exit code 1. */
const report = (cause: Cause.Cause<unknown>) => {
  const failure = Cause.failureOption(cause)
  const message = Option.match(failure, {
    onNone: () => Cause.pretty(cause),
    onSome: (error) => (error instanceof Error ? error.message : String(error)),
  })
  return Effect.logError("chat4all stopped", message).pipe(
    Effect.zipRight(Console.error(`chat4all: ${message}`)),
    Effect.zipRight(exitWith(1)),
  )
}

const main = AppConfig.logLevel.pipe(
  Effect.flatMap((level) => program(process.argv.slice(2)).pipe(Logger.withMinimumLogLevel(level))),
  Effect.catchIf(
    (error: unknown): error is UsageError => error instanceof UsageError,
    (error) => Effect.zipRight(Console.error(`chat4all: ${error.message}\n\n${usage}`), exitWith(2)),
  ),
  Effect.catchAllCause((cause) => (Cause.isInterruptedOnly(cause) ? Effect.failCause(cause) : report(cause))),
)

main.pipe(
  Effect.provide(NodeContext.layer),
  Effect.provide(Logger.json),
  NodeRuntime.runMain({ disablePrettyLogger: true }),
)
