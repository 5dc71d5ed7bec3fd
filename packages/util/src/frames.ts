// Cutting a queue into frames (stream writes, merged proposals) by approximate size.

/**
 * The end (exclusive) of the frame that starts at `from`: items join while their sizes add up
 * to at most maxBytes and `joins(first, item)` allows it. A frame holds at least one item, so an
 * item bigger than maxBytes goes alone rather than never.
 */
export function frameEnd<T>(
  items: readonly T[],
  from: number,
  sizeOf: (item: T) => number,
  maxBytes: number,
  joins?: (first: T, item: T) => boolean,
): number {
  let end = from;
  let bytes = 0;
  while (end < items.length) {
    const item = items[end]!;
    const size = sizeOf(item);
    if (end > from && (bytes + size > maxBytes || (joins !== undefined && !joins(items[from]!, item)))) break;
    bytes += size;
    end++;
  }
  return end;
}
