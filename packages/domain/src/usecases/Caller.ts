import { Schema } from "effect"
import { TenantId, UserId } from "../model/Ids.js"

export const Role = Schema.Literal("user", "service", "admin")
export type Role = typeof Role.Type

/** Who is asking: from the token at the edge (`sub`, `tid`, `role`). Services and admins act for their tenant. */
export class Caller extends Schema.Class<Caller>("Caller")({
  tenantId: TenantId,
  userId: UserId,
  role: Role,
}) {
  get isPrivileged(): boolean {
    return this.role !== "user"
  }
}
