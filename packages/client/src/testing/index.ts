// Test helpers of @tskv/client (import '@tskv/client/testing'): an in-process fake cluster.
export { FakeCluster, toMetaRegion } from './fake_cluster.js';
export type { FakeRegion, FakeStore, FakeClusterOptions, Injector, InjectContext, InjectOutcome, RequestKind } from './fake_cluster.js';
