import { Effect } from "effect"
import { ConversationActor } from "../actor/ConversationActor.js"
import type { ConversationId } from "../model/Ids.js"
import { ConversationCommand } from "../rules/ConversationCommand.js"
import type { ReceiptKind } from "../rules/Horizons.js"
import type { Caller } from "./Caller.js"
import { stamp } from "./Stamp.js"

/** Moves the caller's delivered or read horizon forward to `seq`; a lower seq changes nothing. */
export const recordReceipt = (
  caller: Caller,
  conversationId: ConversationId,
  kind: ReceiptKind,
  seq: number,
) =>
  Effect.gen(function* () {
    const actor = yield* ConversationActor
    const result = yield* actor.execute(
      caller.tenantId,
      conversationId,
      ConversationCommand.Receipt({ userId: caller.userId, kind, seq, stamp: yield* stamp }),
    )
    if (result._tag !== "ReceiptRecorded") return yield* Effect.dieMessage(`Receipt answered ${result._tag}`)
    return result
  })
