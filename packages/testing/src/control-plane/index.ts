export {
  CONTROL_PLANE_BINARIES,
  type ControlPlaneBinariesOptions,
  ControlPlaneBuildError,
  controlPlaneBinaries,
} from './binaries.js';
export {
  type ApiServerRestartOptions,
  type AuditEvent,
  type ControlPlane,
  type ControlPlaneOptions,
  startControlPlane,
} from './control-plane.js';
export {
  type GrantSpec,
  KubeAdmin,
  KubeAdminError,
  type KubeJson,
  type PodSpec,
  type ServicePortSpec,
  type ServiceSpec,
} from './kube-admin.js';
export {
  type NetworkPod,
  type PodNetwork,
  type PodServerCommand,
  podNetworkUnavailable,
  startPodNetwork,
} from './pod-network.js';
export { startTcpProxy, type TcpProxy } from './tcp-proxy.js';
