// An EndpointSet of plain endpoints and an Observable of it that never changes: what the balancer
// and the balanced agent need for a benchmark, without a watch.

/** Ready IPv4 endpoints in 3 zones; `address(i)` gives the i-th address. */
export function readyEndpoints(count, port, address) {
  return Array.from({ length: count }, (_, i) => ({
    address: address(i),
    port,
    addressType: 'IPv4',
    ready: true,
    serving: true,
    terminating: false,
    zone: `zone-${i % 3}`,
  }));
}

/** The set of Service default/web with these endpoints, and an Observable that emits it once. */
export function staticEndpoints(endpoints) {
  const set = {
    namespace: 'default',
    service: 'web',
    port: { name: 'http', protocol: 'TCP' },
    endpoints,
    all: endpoints,
    resourceVersion: '1',
    source: 'endpointslices',
  };
  const endpoints$ = {
    subscribe(observer) {
      observer.next(set);
      return { unsubscribe() {} };
    },
  };
  return { set, endpoints$ };
}
