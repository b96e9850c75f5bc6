#!/usr/bin/env node
// Runs `endpoint-watch watch` as a user would (the built CLI, a kubeconfig file) against a real
// control plane (kube-apiserver + etcd + controller-manager of @endpoint-watch/testing; pods are
// data, with 198.19.x addresses nobody dials), for each "why is my list empty?" case, and prints
// the output as Markdown. Also what an agent user sees for a 403 (NoEndpointsError and its cause).
//
//   pnpm build && node cluster/scripts/why-empty.mjs > why-empty.md
import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createKubeClient, loadKubeConfig, watchEndpoints } from '@endpoint-watch/core';
import { controlPlaneBinaries, startControlPlane } from '@endpoint-watch/testing';
import { createBalancedAgent } from '@endpoint-watch/undici';
import { request } from 'undici';

const CLI = new URL('../../packages/cli/dist/bin.js', import.meta.url).pathname;
const NS = 'shop';

/** Runs the CLI; Ctrl-C (SIGINT) after `stopAfterMs` unless it ended by itself. */
function cli(args, stopAfterMs = 4000) {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [CLI, ...args], { env: { ...process.env, NO_COLOR: '1' } });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    child.stderr.on('data', (chunk) => {
      stderr += chunk;
    });
    const timer = setTimeout(() => child.kill('SIGINT'), stopAfterMs);
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function section(title, command, { code, stdout, stderr }) {
  console.log(
    `### ${title}\n\n\`\`\`\n$ ${command}\n${stdout}${stderr ? `--- stderr ---\n${stderr}` : ''}--- exit code ${code} ---\n\`\`\`\n`,
  );
}

const plane = await startControlPlane({ binDir: await controlPlaneBinaries({ log: () => {} }) });
try {
  const { admin } = plane;
  await admin.createNamespace(NS);
  await admin.createNode('node-a', { zone: 'zone-a' });
  await admin.createService({
    name: 'web',
    namespace: NS,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  });
  await admin.createService({
    name: 'idle',
    namespace: NS,
    ports: [{ name: 'http', port: 80, targetPort: 8080 }],
  });
  for (const [i, ip] of ['198.19.0.1', '198.19.0.2'].entries()) {
    await admin.createPod({
      name: `web-${i}`,
      namespace: NS,
      labels: { app: 'web' },
      nodeName: 'node-a',
      ips: [ip],
    });
  }
  // Wait until the controller has written web's slice with both pods.
  for (let i = 0; i < 300; i++) {
    const slices = await admin.endpointSlices(NS, 'web');
    if (slices.flatMap((s) => s.endpoints ?? []).length === 2) break;
    await new Promise((r) => setTimeout(r, 100));
  }
  const adminConfig = plane.writeKubeconfig('admin-shop', { namespace: NS });
  /** A service account of shop with these rules (none: no grant at all); its kubeconfig file. */
  const identity = async (name, rules) => {
    await admin.createServiceAccount(NS, name);
    if (rules) await admin.grant({ namespace: NS, name, subject: { kind: 'ServiceAccount', name }, rules });
    return plane.writeKubeconfig(name, { namespace: NS, token: await admin.serviceAccountToken(NS, name) });
  };
  const slicesOnly = await identity('slices-only', [
    { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  ]);
  const nobody = await identity('nobody');

  console.log('# Issue 12: the CLI\'s own output for each "why is my list empty?" case\n');
  console.log(
    `Produced by \`node cluster/scripts/why-empty.mjs\` on ${new Date().toISOString()}: a real control plane (kube-apiserver, etcd, kube-controller-manager) started by @endpoint-watch/testing, Service shop/web (port http 80 → targetPort 8080, two pods), Service shop/idle (no pod), identities admin, slices-only (list, watch on endpointslices) and nobody (no grant). The CLI is \`node packages/cli/dist/bin.js\` (\`endpoint-watch\` once installed), run with a kubeconfig file; \`--no-tty\` gives the plain lines a pipe gets; Ctrl-C after 4 s where it keeps watching.\n`,
  );
  /** `endpoint-watch <command>` with `--kubeconfig <kubeconfig>` added. */
  const run = async (title, command, kubeconfig) => {
    const args = [...command.split(' '), '--kubeconfig', kubeconfig];
    section(title, `endpoint-watch ${args.join(' ')}`.replaceAll(plane.dir, '$DIR'), await cli(args));
  };

  console.log('## Point 1: an empty list with no reason\n');
  await run(
    '--port 80 for a Service 80 → 8080 (the identity may get services)',
    'watch web --port 80 --no-tty',
    adminConfig,
  );
  await run('--port 80, with --json', 'watch web --port 80 --json', adminConfig);
  await run(
    '--port 80 without get on services: the fallback is said, then the ports the slices declare',
    'watch web --port 80 --no-tty',
    slicesOnly,
  );
  await run(
    '--port 8080 without get on services: the target port, the fallback said once',
    'watch web --port 8080 --no-tty',
    slicesOnly,
  );
  await run('a port-name typo (--port htp)', 'watch web --port htp --no-tty', adminConfig);
  await run('a Service that does not exist (nosuch)', 'watch nosuch --no-tty', adminConfig);
  await run('a Service with no pods (idle)', 'watch idle --no-tty', adminConfig);

  console.log('## Point 2: a 403\n');
  await run('403: no list/watch on endpointslices', 'watch web --no-tty', nobody);
  await run('403, with --json', 'watch web --json', nobody);

  // What an agent user sees: NoEndpointsError naming the Service, the 403 as its cause.
  const client = createKubeClient(loadKubeConfig({ kubeconfig: nobody, env: {} }));
  const agent = createBalancedAgent(
    { endpoints: watchEndpoints(client, { service: 'web', port: 'http' }) },
    { noEndpointsTimeoutMs: 1000 },
  );
  let text;
  try {
    await request('http://web.shop.svc/', { dispatcher: agent });
    text = 'the request succeeded (unexpected)';
  } catch (error) {
    text = `${error.name} ${error.code}: ${error.message}\ncause: ${error.cause?.name} ${error.cause?.code} ${error.cause?.statusCode}: ${error.cause?.message}`;
  } finally {
    await agent.close();
    await client.close();
  }
  console.log(
    `### 403 for an agent user (createBalancedAgent + undici request, noEndpointsTimeoutMs 1000)\n\n\`\`\`\n${text}\n\`\`\`\n`,
  );
  writeFileSync(join(plane.dir, 'done'), '');
} finally {
  await plane.stop();
}
