import type { DeliveryStatus } from "../model/Delivery.js"

/**
 * The delivery state machine as a total order, applied with `max`:
 * pending < sent < failed < delivered < read.
 *
 * `failed` sits above `sent` and below `delivered`, which gives every rule at once: a failure applies only
 * before delivery, a real delivery proves the failure wrong, and nothing ever moves backwards. Because
 * `max` is commutative and idempotent, the final state does not depend on the order updates arrive in.
 */
export const rank: Record<DeliveryStatus, number> = {
  pending: 0,
  sent: 1,
  failed: 2,
  delivered: 3,
  read: 4,
}

/**
 * The status after an update, or `undefined` when the update is stale (a lower rank) or a repeat.
 * Because the result is the max, the final status does not depend on the order updates arrive in.
 */
export const advance = (
  current: DeliveryStatus | undefined,
  update: DeliveryStatus,
): DeliveryStatus | undefined => (current === undefined || rank[update] > rank[current] ? update : undefined)

export const max = (a: DeliveryStatus, b: DeliveryStatus): DeliveryStatus => (rank[b] > rank[a] ? b : a)
export const min = (a: DeliveryStatus, b: DeliveryStatus): DeliveryStatus => (rank[b] < rank[a] ? b : a)
