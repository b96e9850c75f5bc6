export * from './config/index.js';
export type {
  ClientCertificate,
  CredentialSource,
  Credentials,
  KubeConfig,
  KubeConfigSource,
  TlsSettings,
} from './config/types.js';
export { Secret } from './config/types.js';
export * from './endpoints/index.js';
export { EndpointWatchError, ExecCredentialError, KubeConfigError } from './errors.js';
export * from './metrics/index.js';
export {
  KubeApiError,
  type KubeStatus,
  KubeTransportError,
  parseKubeStatus,
} from './transport/kube-api-error.js';
export {
  createKubeClient,
  type KubeClient,
  type KubeClientOptions,
  type KubeClientTransportStats,
  type KubeRequestOptions,
  type KubeStream,
} from './transport/kube-client.js';
export { type RbacGrant, rbacGrantFor } from './transport/rbac-grant.js';
export { Backoff, type BackoffOptions, DEFAULT_BACKOFF } from './watch/backoff.js';
export {
  WatchConnectionLostError,
  WatchDeadlineError,
  WatchDecodeError,
  WatchEventTooLargeError,
  WatchIdleError,
  WatchTooShortError,
  WatchTruncatedError,
} from './watch/errors.js';
export { DEFAULT_MAX_EVENT_BYTES, LineDecoder } from './watch/line-decoder.js';
export {
  DEFAULT_IDLE_TIMEOUT_MS,
  DEFAULT_SILENCE_TIMEOUT_MS,
  type ListWatchNotification,
  type ListWatchOptions,
  listWatch,
} from './watch/list-watch.js';
export {
  type Command,
  type InitialListStrategy,
  type Input,
  ListWatchMachine,
  type ListWatchMachineOptions,
  type Step,
  type WatcherEvent,
} from './watch/list-watch-machine.js';
export { ObjectStore, type StoreChange } from './watch/object-store.js';
export { SharedResourceWatch, type SharedResourceWatchOptions } from './watch/shared-resource-watch.js';
export { type ObjectTransform, stripManagedFields } from './watch/transforms.js';
export {
  INITIAL_EVENTS_END_ANNOTATION,
  type KubeObject,
  type ObjectMeta,
  parseWatchEvent,
  type WatchEvent,
  type WatchEventType,
} from './watch/watch-event.js';
export type { WatchHealth } from './watch/watch-health.js';
export { WatchStats } from './watch/watch-stats.js';
