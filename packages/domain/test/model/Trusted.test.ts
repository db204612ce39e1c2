import { Conversation, Delivery, Event, Member, Message, Trusted } from "@chat4all/domain"
import { describe, expect, it } from "@effect/vitest"
import { Arbitrary, FastCheck as fc, Schema } from "effect"
import { numRuns } from "../rules/support.js"

/** Every class the decider (and the send use case, for its validated draft) builds trusted. */
const classes = [
  Message.Message,
  Message.MessageDraft,
  Conversation.Conversation,
  Member.Member,
  Delivery.DeliveryRecord,
  Event.MessageCreated,
  Event.MessageStatusChanged,
  Event.MemberAdded,
  Event.MemberRemoved,
  Event.ReceiptDelivered,
  Event.ReceiptRead,
] as const

describe("Trusted.trusted", () => {
  for (const klass of classes)
    it(`builds the same ${klass.identifier} as its constructor does`, () => {
      const anyClass = klass as unknown as Schema.Schema<object> &
        (new (
          props: object,
          trusted?: boolean,
        ) => object)
      fc.assert(
        fc.property(Arbitrary.make(anyClass), (valid) => {
          const props = { ...valid }
          const built = new anyClass(props)
          const fast = Trusted.trusted(anyClass, props)
          expect(fast).toBeInstanceOf(klass)
          // The same class and fields as the constructor without validation (NaN included, which Equal
          // would not call equal to itself). The validating constructor also normalises what it is given
          // (a copy of each record, on a plain prototype), so against it the comparison is of values.
          expect(fast).toStrictEqual(new anyClass(props, true))
          expect(fast).toEqual(built)
          expect(Object.keys(fast)).toEqual(Object.keys(built))
          expect(JSON.stringify(fast)).toEqual(JSON.stringify(built))
          expect(Schema.is(anyClass)(fast)).toBe(true)
          expect(Schema.encodeSync(anyClass)(fast)).toEqual(Schema.encodeSync(anyClass)(built))
        }),
        { numRuns: Math.min(numRuns, 100) },
      )
    })
})

describe("Event.withPosition", () => {
  it("gives any event its position, keeping its class and every field", () => {
    fc.assert(
      fc.property(Arbitrary.make(Event.Event), fc.integer({ min: 1 }), (event, position) => {
        const placed = Event.withPosition(event, position)
        const make = event.constructor as new (props: object, trusted?: boolean) => Event.Event
        expect(placed).toBeInstanceOf(make)
        expect(placed).toStrictEqual(new make({ ...event, position }, true))
        expect(placed.position).toBe(position)
        expect(Schema.is(Event.Event)(placed)).toBe(true)
      }),
      { numRuns: Math.min(numRuns, 200) },
    )
  })
})
