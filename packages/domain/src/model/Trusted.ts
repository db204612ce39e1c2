/**
 * An instance of a Schema class from properties already known to be valid (a decoded command, a stored
 * state), made as the class's own constructor makes it once validation is off: the class's prototype with
 * the properties assigned, nothing else. effect 3.22's constructor, even with validation off, copies the
 * properties twice and walks the class's fields for defaults; in a process where many schemas share the
 * parser's code, that costs microseconds per object, and a send builds three.
 *
 * Only for `Schema.Class` classes without defaults, which is every class of this model: a `TaggedClass`
 * or a field with a default needs the constructor's work. `Trusted.test.ts` checks the instances agree.
 */
export const trusted = <C extends new (props: never, options?: never) => object>(
  klass: C,
  props: ConstructorParameters<C>[0],
): InstanceType<C> => Object.assign(Object.create(klass.prototype) as InstanceType<C>, props)
