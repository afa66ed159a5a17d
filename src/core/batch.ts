/**
 * Groups items in order into batches whose summed size stays within `maxBytes` and whose length
 * stays within `maxCount`. An item larger than `maxBytes` gets a batch of its own (never dropped).
 */
export function batchBySize<T>(
  items: readonly T[],
  sizeOf: (item: T) => number,
  limits: { readonly maxBytes: number; readonly maxCount?: number },
): T[][] {
  const maxCount = limits.maxCount ?? Number.POSITIVE_INFINITY;
  const batches: T[][] = [];
  let current: T[] = [];
  let bytes = 0;
  for (const item of items) {
    const size = sizeOf(item);
    if (current.length > 0 && (current.length >= maxCount || bytes + size > limits.maxBytes)) {
      batches.push(current);
      current = [];
      bytes = 0;
    }
    current.push(item);
    bytes += size;
  }
  if (current.length > 0) batches.push(current);
  return batches;
}
