// Public API of @tskv/util: helpers over keys, regions, epochs and peers, a sorted index of key
// ranges, frame cutting, and the seeded PRNG. No dependencies: the region types are structural.
export { compareBytes, bytesEqual } from './bytes.js';
export { keyInRange, keyInRegion, endsAfter, rangesOverlap, epochOf, isEpochStale, epochEquals, findPeer, findPeerById } from './region.js';
export type { KeyRange, EpochLike, Epoch, PeerLike } from './region.js';
export { SortedRangeIndex } from './range_index.js';
export { frameEnd } from './frames.js';
export { Prng, mulberry32, splitmix32, deriveSeed, envSeed } from './prng.js';
