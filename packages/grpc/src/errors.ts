import { EndpointWatchError } from '@endpoint-watch/core';

/**
 * A `kubernetes:` target that does not name a Service: thrown by grpc-js when the channel is made
 * (`new Client(target, …)`), so a typo fails at once instead of as an UNAVAILABLE call later.
 */
export class KubernetesTargetError extends EndpointWatchError {
  readonly target: string;
  constructor(target: string, reason: string) {
    super(
      'ERR_GRPC_TARGET',
      `${target} is not a Kubernetes Service target: ${reason}; expected kubernetes:///service.namespace:port or kubernetes:///service:port (port by name or number)`,
    );
    this.target = target;
  }
}

/** An option of `registerKubernetesResolver` or of the least-request policy is out of range. */
export class GrpcBalancingOptionsError extends EndpointWatchError {
  constructor(message: string) {
    super('ERR_GRPC_BALANCING_OPTIONS', message);
  }
}
