/** How `inBatches` cuts: a batch's largest total weight and, optionally, item count. */
export interface BatchBounds<T> {
  readonly weigh: (item: T) => number;
  readonly maxWeight: number;
  readonly maxItems?: number;
}

/**
 * `items` in order, cut into batches within `bounds`: an item that would take its batch past
 * either bound starts the next one; one item heavier than `maxWeight` is a batch of its own.
 */
export function inBatches<T>(items: readonly T[], bounds: BatchBounds<T>): T[][] {
  const { weigh, maxWeight, maxItems = Number.POSITIVE_INFINITY } = bounds;
  const result: T[][] = [];
  let batch: T[] = [];
  let weight = 0;
  for (const item of items) {
    const itemWeight = weigh(item);
    if (batch.length > 0 && (weight + itemWeight > maxWeight || batch.length >= maxItems)) {
      result.push(batch);
      batch = [];
      weight = 0;
    }
    batch.push(item);
    weight += itemWeight;
  }
  if (batch.length > 0) result.push(batch);
  return result;
}
