/** A page of a list: `nextCursor` is opaque and absent on the last page (API.md: `{ items, nextCursor }`). */
export interface Page<A> {
  readonly items: ReadonlyArray<A>
  readonly nextCursor: string | undefined
}

/** `limit` defaults to 50 and is at most 200. */
export const defaultLimit = 50
export const maxLimit = 200

export const clampLimit = (limit: number | undefined): number =>
  limit === undefined ? defaultLimit : Math.min(maxLimit, Math.max(1, Math.trunc(limit)))
