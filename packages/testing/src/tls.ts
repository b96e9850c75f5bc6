/**
 * Certificates for the fake server: a CA, server certificates for chosen names (DNS or IP SANs),
 * client certificates for mTLS. ECDSA P-256 via @peculiar/x509 on node's webcrypto; PEM in and out.
 */

import { webcrypto } from 'node:crypto';
import { isIP } from 'node:net';
import type * as X509 from '@peculiar/x509';

/** A certificate and its PKCS#8 private key, both PEM. */
export interface CertificateAndKey {
  cert: string;
  key: string;
}

/** A certificate authority: its self-signed certificate and private key (PEM). */
export type CertificateAuthority = CertificateAndKey;

/** TLS material of a running fake server, all PEM. */
export interface TlsMaterial {
  /** The CA that signed the server (and client) certificate: what clients must trust. */
  ca: string;
  /** The server certificate. */
  cert: string;
  /** The server private key. */
  key: string;
  /** A client certificate signed by the CA (present when the server requires client certificates). */
  client?: CertificateAndKey;
}

export interface CertificateOptions {
  /** Validity in days from now (default 365); certificates are also valid from one hour ago. */
  validDays?: number;
}

const ALGORITHM = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' } as const;
const SUBTLE = webcrypto.subtle;

let loading: Promise<typeof X509> | undefined;

/**
 * @peculiar/x509 needs a Reflect metadata polyfill before it is evaluated (tsyringe), so it is
 * loaded lazily, after `reflect-metadata`, and only when certificates are made.
 */
function loadX509(): Promise<typeof X509> {
  loading ??= (async () => {
    await import('reflect-metadata');
    const x509 = await import('@peculiar/x509');
    x509.cryptoProvider.set(webcrypto);
    return x509;
  })();
  return loading;
}

function serialNumber(): string {
  const bytes = webcrypto.getRandomValues(new Uint8Array(16));
  bytes[0] = (bytes[0] ?? 0) & 0x7f; // positive
  bytes[0] |= 0x01;
  return Buffer.from(bytes).toString('hex');
}

function validity(options: CertificateOptions): { notBefore: Date; notAfter: Date } {
  const now = Date.now();
  return {
    notBefore: new Date(now - 60 * 60 * 1000),
    notAfter: new Date(now + (options.validDays ?? 365) * 24 * 60 * 60 * 1000),
  };
}

async function generateKeys(): Promise<webcrypto.CryptoKeyPair> {
  return SUBTLE.generateKey(ALGORITHM, true, ['sign', 'verify']);
}

async function exportKey(x509: typeof X509, key: webcrypto.CryptoKey): Promise<string> {
  const pkcs8 = await SUBTLE.exportKey('pkcs8', key);
  return x509.PemConverter.encode(pkcs8, 'PRIVATE KEY');
}

async function importSigningKey(x509: typeof X509, pem: string): Promise<webcrypto.CryptoKey> {
  const der = x509.PemConverter.decodeFirst(pem);
  return SUBTLE.importKey('pkcs8', der, ALGORITHM, false, ['sign']);
}

/** Creates a self-signed CA (ECDSA P-256). */
export async function createCertificateAuthority(
  options: CertificateOptions & { commonName?: string } = {},
): Promise<CertificateAuthority> {
  const x509 = await loadX509();
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.createSelfSigned({
    serialNumber: serialNumber(),
    name: [{ CN: [options.commonName ?? 'fake-apiserver-ca'] }],
    ...validity(options),
    signingAlgorithm: ALGORITHM,
    keys,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(
        x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign | x509.KeyUsageFlags.digitalSignature,
        true,
      ),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(x509, keys.privateKey) };
}

async function issue(
  ca: CertificateAuthority,
  subject: X509.JsonName,
  usage: 'server' | 'client',
  extra: (x509: typeof X509) => X509.Extension[],
  options: CertificateOptions,
): Promise<CertificateAndKey> {
  const x509 = await loadX509();
  const caCert = new x509.X509Certificate(ca.cert);
  const signingKey = await importSigningKey(x509, ca.key);
  const keys = await generateKeys();
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serialNumber(),
    subject,
    issuer: caCert.subject,
    ...validity(options),
    signingAlgorithm: ALGORITHM,
    publicKey: keys.publicKey,
    signingKey,
    extensions: [
      new x509.BasicConstraintsExtension(false, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.digitalSignature, true),
      new x509.ExtendedKeyUsageExtension(
        [usage === 'server' ? x509.ExtendedKeyUsage.serverAuth : x509.ExtendedKeyUsage.clientAuth],
        false,
      ),
      await x509.AuthorityKeyIdentifierExtension.create(caCert.publicKey),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
      ...extra(x509),
    ],
  });
  return { cert: cert.toString('pem'), key: await exportKey(x509, keys.privateKey) };
}

/**
 * Creates a server certificate signed by `ca`, valid ONLY for `names`: IP literals become IP SANs,
 * everything else DNS SANs (e.g. `['cluster.condi.me']`, or `['localhost', '127.0.0.1', '::1']`).
 */
export async function createServerCertificate(
  ca: CertificateAuthority,
  options: CertificateOptions & { names: readonly string[] },
): Promise<CertificateAndKey> {
  const names = [...new Set(options.names)];
  if (names.length === 0) throw new Error('createServerCertificate needs at least one name');
  const first = names.find((n) => isIP(n) === 0) ?? names[0]!;
  return issue(
    ca,
    [{ CN: [first] }],
    'server',
    (x509) => [
      new x509.SubjectAlternativeNameExtension(
        names.map((value) => ({ type: isIP(value) === 0 ? ('dns' as const) : ('ip' as const), value })),
        false,
      ),
    ],
    options,
  );
}

/**
 * Creates a client certificate signed by `ca`. Kubernetes reads the user from CN and groups from O
 * (default user 'fake-user' in group 'system:masters').
 */
export async function createClientCertificate(
  ca: CertificateAuthority,
  options: CertificateOptions & { commonName?: string; organizations?: readonly string[] } = {},
): Promise<CertificateAndKey> {
  const subject: X509.JsonName = [{ CN: [options.commonName ?? 'fake-user'] }];
  const orgs = options.organizations ?? ['system:masters'];
  if (orgs.length > 0) subject.push({ O: [...orgs] });
  return issue(ca, subject, 'client', () => [], options);
}
