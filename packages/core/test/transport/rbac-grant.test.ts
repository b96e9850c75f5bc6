import { describe, expect, it } from 'vitest';
import { KubeApiError } from '../../src/transport/kube-api-error.js';
import { rbacGrantFor } from '../../src/transport/rbac-grant.js';

const refused = (path: string, code = 403, message = '') =>
  new KubeApiError({ method: 'GET', path, status: { code, reason: 'Forbidden', message } });

describe('rbacGrantFor', () => {
  it('reads the resource, namespace, verb and identity of the RBAC authorizer’s refusal', () => {
    const grant = rbacGrantFor(
      refused(
        '/apis/discovery.k8s.io/v1/namespaces/shop/endpointslices',
        403,
        'endpointslices.discovery.k8s.io is forbidden: User "system:serviceaccount:shop:web" cannot watch resource "endpointslices" in API group "discovery.k8s.io" in the namespace "shop"',
      ),
    );
    expect(grant).toEqual({
      resource: 'endpointslices.discovery.k8s.io',
      namespace: 'shop',
      verb: 'watch',
      subject: '--serviceaccount=shop:web',
      commands: [
        'kubectl create role endpoint-watch -n shop --verb=list,watch --resource=endpointslices.discovery.k8s.io',
        'kubectl create rolebinding endpoint-watch -n shop --role=endpoint-watch --serviceaccount=shop:web',
      ],
      advice:
        "grant list and watch on endpointslices.discovery.k8s.io in namespace shop to the client's identity, e.g. kubectl create role endpoint-watch -n shop --verb=list,watch --resource=endpointslices.discovery.k8s.io and kubectl create rolebinding endpoint-watch -n shop --role=endpoint-watch --serviceaccount=shop:web",
    });
  });

  it('names core-group resources bare, a user by name, and falls back when the apiserver says less', () => {
    const user = rbacGrantFor(
      refused(
        '/api/v1/namespaces/a%2Db/endpoints?watch=true',
        403,
        'User "jane" cannot list resource "endpoints"',
      ),
    );
    expect(user).toMatchObject({
      resource: 'endpoints',
      namespace: 'a-b',
      verb: 'list',
      subject: '--user=jane',
    });
    const bare = rbacGrantFor(refused('/apis/discovery.k8s.io/v1/endpointslices'), 'ops');
    expect(bare).toMatchObject({
      resource: 'endpointslices.discovery.k8s.io',
      namespace: 'ops',
      verb: 'list',
    });
    expect(bare?.subject).toMatch(/^--user=<your user>/);
  });

  it('is undefined for anything but a 403', () => {
    expect(rbacGrantFor(refused('/api/v1/namespaces/shop/endpoints', 401))).toBeUndefined();
    expect(rbacGrantFor(refused('/api/v1/namespaces/shop/endpoints', 404))).toBeUndefined();
  });
});
