// Test helpers of @tskv/client (import '@tskv/client/testing'): an in-process fake cluster.

export type {
  FakeClusterOptions,
  FakeRegion,
  FakeStore,
  InjectContext,
  InjectOutcome,
  Injector,
  RawKind,
  RequestKind,
  TxnKind,
  TxnRequest,
} from './fake_cluster.js';
export { FakeCluster, toMetaRegion } from './fake_cluster.js';
