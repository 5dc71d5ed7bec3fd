// Public API of @tskv/util: helpers over keys, regions, epochs and peers, a sorted index of key
// ranges, frame cutting, and the seeded PRNG. No dependencies: the region types are structural.
export { bytesEqual, compareBytes } from './bytes.js';
export { frameEnd } from './frames.js';
export { fmix32 } from './hash.js';
export { deriveSeed, envSeed, mulberry32, Prng, splitmix32 } from './prng.js';
export { SortedRangeIndex } from './range_index.js';
export type { Epoch, EpochLike, KeyRange, PeerLike } from './region.js';
export { endsAfter, epochEquals, epochOf, findPeer, findPeerById, isEpochStale, keyInRange, keyInRegion, rangesOverlap } from './region.js';
