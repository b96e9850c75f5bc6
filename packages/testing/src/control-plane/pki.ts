/** The control plane's keys and certificates: one CA, the apiserver's serving certificate, the ServiceAccount signing key. */
import { generateKeyPairSync } from 'node:crypto';
import { type CertificateAuthority, createCertificateAuthority, createServerCertificate } from '../tls.js';

export interface ControlPlanePki {
  ca: CertificateAuthority;
  serving: { cert: string; key: string };
  serviceAccountKey: { privateKey: string; publicKey: string };
}

/** Names a pod uses for the apiserver, plus the cluster's own name and the loopback ones the tests dial. */
export function apiServerNames(clusterName: string, serviceIps: readonly string[]): string[] {
  return [
    clusterName,
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    'localhost',
    '127.0.0.1',
    '::1',
    ...serviceIps,
  ];
}

export async function createControlPlanePki(names: readonly string[]): Promise<ControlPlanePki> {
  const ca = await createCertificateAuthority({ commonName: 'endpoint-watch-control-plane-ca' });
  const serving = await createServerCertificate(ca, { names });
  const pair = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  return {
    ca,
    serving,
    serviceAccountKey: {
      privateKey: pair.privateKey.export({ type: 'pkcs8', format: 'pem' }).toString(),
      publicKey: pair.publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    },
  };
}
