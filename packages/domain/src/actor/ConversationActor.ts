import { Config, Context, Duration, Effect, Layer } from "effect"
import type { CommandError, ConversationNotFound, StoreUnavailable } from "../model/Errors.js"
import type { ConversationId, TenantId } from "../model/Ids.js"
import { ConversationStore } from "../ports/ConversationStore.js"
import type { CommandResult, ConversationCommand } from "../rules/ConversationCommand.js"
import * as KeyedActors from "./KeyedActors.js"

export type ExecuteError = CommandError | ConversationNotFound | StoreUnavailable

/**
 * The write path of a conversation: commands go to the conversation's actor, which serialises them on
 * this node and commits whatever has queued up in one `ConversationStore.commit` (group commit).
 */
export class ConversationActor extends Context.Tag("@chat4all/domain/ConversationActor")<
  ConversationActor,
  {
    readonly execute: (
      tenantId: TenantId,
      conversationId: ConversationId,
      command: ConversationCommand,
    ) => Effect.Effect<CommandResult, ExecuteError>
    readonly active: Effect.Effect<ReadonlyArray<string>>
  }
>() {}

export interface Options {
  readonly idleTimeToLive: Duration.DurationInput
  readonly mailboxCapacity: number
  /** The most commands one group commit carries. */
  readonly maxBatch: number
}

export const defaults: Options = { idleTimeToLive: Duration.minutes(1), mailboxCapacity: 1024, maxBatch: 256 }

const separator = "\u0000"

export const make = (options: Options = defaults) =>
  Effect.gen(function* () {
    const store = yield* ConversationStore
    const actors = yield* KeyedActors.make<ConversationCommand, CommandResult, ExecuteError, never>({
      name: "conversation",
      ...options,
      handleBatch: (key, commands) => {
        const at = key.indexOf(separator)
        return store.commit(
          key.slice(0, at) as TenantId,
          key.slice(at + separator.length) as ConversationId,
          commands,
        )
      },
    })
    return ConversationActor.of({
      execute: (tenantId, conversationId, command) =>
        actors.ask(`${tenantId}${separator}${conversationId}`, command),
      active: actors.active,
    })
  })

export const layer = (
  options: Options = defaults,
): Layer.Layer<ConversationActor, never, ConversationStore> => Layer.scoped(ConversationActor, make(options))

/** Options from `CHAT4ALL_ACTOR_IDLE_MS`, `CHAT4ALL_ACTOR_MAILBOX` and `CHAT4ALL_ACTOR_MAX_BATCH`. */
export const layerConfig: Layer.Layer<ConversationActor, never, ConversationStore> = Layer.scoped(
  ConversationActor,
  Effect.gen(function* () {
    const options = yield* Config.all({
      idleTimeToLive: Config.integer("CHAT4ALL_ACTOR_IDLE_MS").pipe(
        Config.map(Duration.millis),
        Config.withDefault(Duration.decode(defaults.idleTimeToLive)),
      ),
      mailboxCapacity: Config.integer("CHAT4ALL_ACTOR_MAILBOX").pipe(
        Config.withDefault(defaults.mailboxCapacity),
      ),
      maxBatch: Config.integer("CHAT4ALL_ACTOR_MAX_BATCH").pipe(Config.withDefault(defaults.maxBatch)),
    }).pipe(Effect.orDie)
    return yield* make(options)
  }),
)
