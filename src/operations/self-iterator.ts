/**
 * `[Symbol.asyncIterator]` for iterator objects built per stream: one shared function. A method
 * written in an object literal under a computed key is a new function per object, and V8 names
 * each one at run time ("[Symbol.asyncIterator]", three strings per stream and layer).
 */
export function returnThis<T>(this: T): T {
  return this;
}
