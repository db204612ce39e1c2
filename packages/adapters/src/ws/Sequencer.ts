import type { Event } from "@chat4all/domain"

/** An event let through, with the cursor a client may resume from after it. */
export interface Released {
  readonly event: Event.Event
  /**
   * The EventLog cursor for a client that has seen this event and everything released before it:
   * the event's own position when every position below it has been released, otherwise the watermark
   * (the highest such position, which resumes with a few repeats and never with a gap). Undefined for an
   * event without a position.
   */
  readonly cursor: string | undefined
}

export interface SequencerOptions {
  /** How long a later event waits for a missing earlier one before it goes out anyway. */
  readonly reorderWindowMs: number
  /** How long a missing position may stay missing before the watermark moves past it. */
  readonly giveUpMs: number
  /** The most events held for one tenant; beyond it they go out at once. */
  readonly maxHeld: number
}

/**
 * The reorder window outlasts the outbox relay's lease (10 s) and poll: an event held back by a relay
 * that died is claimed again by another within that time, so a node crash delays a tenant's live events
 * (in order) rather than reordering them. Gaps between relays that are alive last milliseconds.
 */
export const defaultSequencerOptions: SequencerOptions = {
  reorderWindowMs: 12_000,
  giveUpMs: 60_000,
  maxHeld: 10_000,
}

/**
 * Puts one tenant's events back in the order of their log positions on one node.
 *
 * Events reach a node at least once and mostly in order, but not always: several relays publish at
 * once, and a batch whose relay died comes back only when its lease lapses. The sequencer releases
 * position n only after n - 1, holding later ones for `reorderWindowMs`; duplicates are dropped. After
 * the window, held events go out anyway with the watermark as their cursor, and the missing ones go out
 * whenever they come. The watermark moves past a position still missing after `giveUpMs`.
 *
 * It starts from the head a session read (`start`); events that come before it are held.
 */
export class TenantSequencer {
  /** Every position up to this one has been released (or given up on); undefined before `start`. */
  private watermark: number | undefined
  private readonly held = new Map<number, Event.Event>()
  /** Positions above the watermark already released (after a hold ran out). */
  private readonly releasedAhead = new Set<number>()
  /** Positions at or below the watermark that were given up on: they still go out if they come. */
  private readonly lost = new Set<number>()
  private holdingSince: number | undefined
  private gapSince: number | undefined
  private readonly beforeStart: Array<Event.Event> = []

  constructor(private readonly options: SequencerOptions = defaultSequencerOptions) {}

  get started(): boolean {
    return this.watermark !== undefined
  }

  get cursor(): string | undefined {
    return this.watermark === undefined ? undefined : String(this.watermark)
  }

  /** Sets the starting watermark (a head just read); the first call wins. */
  start(position: number, now: number): ReadonlyArray<Released> {
    if (this.watermark !== undefined) return []
    this.watermark = position
    const early = this.beforeStart.splice(0)
    const out: Array<Released> = []
    for (const event of early) out.push(...this.offer(event, now))
    return out
  }

  offer(event: Event.Event, now: number): ReadonlyArray<Released> {
    const position = event.position
    if (position === undefined) return [{ event, cursor: undefined }]
    if (this.watermark === undefined) {
      this.beforeStart.push(event)
      if (this.beforeStart.length > this.options.maxHeld) {
        // Nobody started this tenant in time: start just below the earliest event seen.
        const earliest = Math.min(...this.beforeStart.map((e) => e.position ?? Number.POSITIVE_INFINITY))
        return this.start(earliest - 1, now)
      }
      return []
    }
    if (position <= this.watermark) {
      if (!this.lost.delete(position)) return []
      return [{ event, cursor: String(this.watermark) }]
    }
    if (this.held.has(position) || this.releasedAhead.has(position)) return []
    this.held.set(position, event)
    this.holdingSince ??= now
    const out = this.advance(now)
    if (this.held.size > this.options.maxHeld) out.push(...this.flushHeld(now))
    return out
  }

  /** Lets held events out after the reorder window, and gives up on positions missing for too long. */
  tick(now: number): { readonly released: ReadonlyArray<Released>; readonly lost: number } {
    let released: ReadonlyArray<Released> = []
    if (this.holdingSince !== undefined && now - this.holdingSince >= this.options.reorderWindowMs)
      released = this.flushHeld(now)
    let lost = 0
    if (
      this.gapSince !== undefined &&
      now - this.gapSince >= this.options.giveUpMs &&
      this.watermark !== undefined &&
      this.releasedAhead.size > 0
    ) {
      const highest = Math.max(...this.releasedAhead)
      for (let p = this.watermark + 1; p < highest; p++)
        if (!this.releasedAhead.has(p)) {
          this.lost.add(p)
          lost++
        }
      this.watermark = highest
      this.releasedAhead.clear()
      this.gapSince = undefined
      // Bound the memory of long-lost positions.
      if (this.lost.size > this.options.maxHeld)
        for (const p of this.lost) {
          this.lost.delete(p)
          if (this.lost.size <= this.options.maxHeld) break
        }
      released = [...released, ...this.advance(now)]
    }
    return { released, lost }
  }

  /** Releases held events that are next in line, and moves the watermark over released ones. */
  private advance(now: number): Array<Released> {
    const out: Array<Released> = []
    let moved = false
    for (;;) {
      const next = this.watermark! + 1
      const event = this.held.get(next)
      if (event !== undefined) {
        this.held.delete(next)
        this.watermark = next
        out.push({ event, cursor: String(next) })
        moved = true
      } else if (this.releasedAhead.delete(next)) {
        this.watermark = next
        moved = true
      } else break
    }
    // Ones released here may also have closed the gap to events released ahead: the last can say so.
    const last = out[out.length - 1]
    if (last !== undefined && last.cursor !== String(this.watermark))
      out[out.length - 1] = { event: last.event, cursor: String(this.watermark) }
    if (this.held.size === 0) this.holdingSince = undefined
    else if (moved) this.holdingSince = now
    if (this.releasedAhead.size === 0) this.gapSince = undefined
    return out
  }

  /** Everything held goes out in position order, with the watermark as cursor: the gap stays open. */
  private flushHeld(now: number): Array<Released> {
    const positions = [...this.held.keys()].sort((a, b) => a - b)
    const out: Array<Released> = []
    for (const p of positions) {
      out.push({ event: this.held.get(p)!, cursor: String(this.watermark) })
      this.releasedAhead.add(p)
    }
    this.held.clear()
    this.holdingSince = undefined
    this.gapSince ??= now
    return out
  }
}
