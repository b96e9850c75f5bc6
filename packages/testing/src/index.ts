export * from './control-plane/index.js';
export type {
  FailNextOptions,
  FakeApiServerFaults,
  HeldRequest,
  ListBodyStallOptions,
  PaddedAnswer,
  RequestMatch,
  RestartOptions,
  SplitWritesOptions,
  StallOptions,
} from './faults.js';
export {
  CONTROLLER_NAME,
  type EndpointAddressSpec,
  type EndpointSliceSpec,
  type EndpointSpec,
  type EndpointsSpec,
  endpointSlice,
  MANAGED_BY_LABEL,
  type PortSpec,
  type RealisticSpec,
  realisticEndpointSlices,
  SERVICE_NAME_LABEL,
  type ServiceSpec,
  service,
  v1Endpoints,
} from './fixtures.js';
export { buildKubeconfig, type KubeconfigOptions, type ServiceAccountFiles } from './kubeconfig.js';
export {
  type EndpointSetOptions,
  endpointSet,
  eventually,
  type LoopbackEndpoint,
  type LoopbackEndpointSet,
  type LoopbackPod,
  type LoopbackPodHandler,
  type LoopbackPodMode,
  type LoopbackPodRequest,
  type LoopbackPods,
  type LoopbackPodsOptions,
  readyEndpoint,
  rejection,
  startLoopbackPods,
  within,
} from './loopback-pods.js';
export { seededRandom } from './random.js';
export { parseFieldSelector, parseLabelSelector, type Selector, SelectorError } from './selectors.js';
export {
  type FakeApiServer,
  type FakeApiServerOptions,
  startFakeApiServer,
  type WaitForRequestOptions,
  type WatchChange,
} from './server.js';
export { failureStatus, type Status, type StatusCause } from './status.js';
export {
  type CertificateAndKey,
  type CertificateAuthority,
  type CertificateOptions,
  createCertificateAuthority,
  createClientCertificate,
  createServerCertificate,
  type TlsMaterial,
} from './tls.js';
export type {
  EndpointAddress,
  EndpointConditions,
  EndpointPort,
  EndpointSliceEndpoint,
  EndpointSliceObject,
  EndpointSlicePort,
  EndpointSubset,
  EndpointsObject,
  KubeObject,
  ObjectMeta,
  ObjectReference,
  RecordedRequest,
  ResourceKind,
  ServiceObject,
  ServicePort,
} from './types.js';
export { PADDING_ANNOTATION, type WatchCloser, type WatchInfo } from './watch-stream.js';
