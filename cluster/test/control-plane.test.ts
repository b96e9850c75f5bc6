/** The harness itself: what `startControlPlane` and `startPodNetwork` promise users of @endpoint-watch/testing. */
import { execFile, execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import {
  ControlPlaneBuildError,
  podNetworkUnavailable,
  startControlPlane,
  startPodNetwork,
  startTcpProxy,
} from '@endpoint-watch/testing';
import { Agent, request } from 'undici';
import { describe, expect, inject, it } from 'vitest';
import { useControlPlane } from './helpers.js';

const plane = useControlPlane();

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

describe('startControlPlane', () => {
  it('reports the release it was built as, to the API and to kubectl (no skew warning)', async () => {
    const version = await plane().admin.get('/version');
    expect(version).toMatchObject({ gitVersion: 'v1.37.2', major: '1', minor: '37', gitTreeState: 'clean' });
    const { stdout, stderr } = await plane().kubectl(['version', '--output=json']);
    expect(JSON.parse(stdout).serverVersion.gitVersion).toBe('v1.37.2');
    expect(stderr).not.toMatch(/skew/i);
  });

  it('mounts a service account like a kubelet: the token authenticates as that account', async () => {
    const { admin } = plane();
    await admin.createServiceAccount('default', 'mounted');
    const files = await plane().serviceAccountDir({ namespace: 'default', serviceAccount: 'mounted' });
    expect(readFileSync(files.namespacePath, 'utf8')).toBe('default');
    expect(readFileSync(files.caPath ?? '', 'utf8')).toBe(plane().ca);
    expect(files.env).toEqual({
      KUBERNETES_SERVICE_HOST: '127.0.0.1',
      KUBERNETES_SERVICE_PORT: String(plane().port),
    });
    const agent = new Agent({ connect: { ca: plane().ca, servername: 'cluster.condi.me' } });
    try {
      const response = await request(`${plane().url}/apis/authentication.k8s.io/v1/selfsubjectreviews`, {
        method: 'POST',
        dispatcher: agent,
        headers: {
          authorization: `Bearer ${readFileSync(files.tokenPath, 'utf8')}`,
          'content-type': 'application/json',
        },
        body: JSON.stringify({ apiVersion: 'authentication.k8s.io/v1', kind: 'SelfSubjectReview' }),
      });
      const review = (await response.body.json()) as { status: { userInfo: { username: string } } };
      expect(review.status.userInfo.username).toBe('system:serviceaccount:default:mounted');
      // The audit log records that request under the account's name.
      const seen = plane()
        .auditEvents()
        .some(
          (e) =>
            e.user.username === 'system:serviceaccount:default:mounted' &&
            e.requestURI.includes('selfsubjectreviews'),
        );
      expect(seen).toBe(true);
    } finally {
      await agent.close();
    }
  });

  it('fails with the apiserver log when it cannot start, and leaves no process or port behind', async () => {
    let started = '';
    const error = await startControlPlane({
      binDir: inject('controlPlaneBin'),
      apiServerArgs: ['--no-such-flag'],
      log: (line) => {
        if (line.startsWith('kube-apiserver on ')) started = line;
      },
    }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(Error);
    expect(String((error as Error).message)).toMatch(
      /kube-apiserver exited before kube-apiserver ready[\s\S]*no-such-flag/,
    );
    const port = Number(/:(\d+)$/.exec(started)?.[1]);
    expect(await portOpen(port)).toBe(false);
    const leftovers = execFileSync('ps', ['-eo', 'args'])
      .toString()
      .split('\n')
      .filter((l) => l.includes('--no-such-flag'));
    expect(leftovers).toEqual([]);
  });

  it('refuses a binary directory that lacks a binary, saying which', async () => {
    await expect(startControlPlane({ binDir: '/nonexistent' })).rejects.toBeInstanceOf(
      ControlPlaneBuildError,
    );
    await expect(startControlPlane({ binDir: '/nonexistent' })).rejects.toThrow(/lacks etcd, kube-apiserver/);
  });

  it('stops every process by PID and removes its directory', async () => {
    const other = await startControlPlane({ binDir: inject('controlPlaneBin') });
    const { port, dir } = other;
    expect(await portOpen(port)).toBe(true);
    await other.stop();
    expect(await portOpen(port)).toBe(false);
    expect(existsSync(dir)).toBe(false);
    const leftovers = execFileSync('ps', ['-eo', 'args'])
      .toString()
      .split('\n')
      .filter((l) => l.includes(dir));
    expect(leftovers).toEqual([]);
  });
});

describe('when the test process is killed', () => {
  it('leaves no process, namespace, link or directory behind, even after SIGKILL', async () => {
    const script = fileURLToPath(new URL(`../killed-${process.pid}.mjs`, import.meta.url));
    writeFileSync(
      script,
      `import { podNetworkUnavailable, startControlPlane, startPodNetwork } from '@endpoint-watch/testing';
const plane = await startControlPlane({ binDir: process.argv[2] });
const network = podNetworkUnavailable() === undefined ? await startPodNetwork() : undefined;
const pod = await network?.addPod('doomed');
console.log(JSON.stringify({ dir: plane.dir, port: plane.port, netns: pod?.netns ?? null, bridge: network?.bridge ?? null }));
setInterval(() => {}, 1000);
`,
    );
    try {
      const child = spawn(process.execPath, [script, inject('controlPlaneBin')], {
        stdio: ['ignore', 'pipe', 'inherit'],
      });
      const line = await new Promise<string>((resolve, reject) => {
        child.stdout.setEncoding('utf8').on('data', (chunk: string) => resolve(chunk.trim()));
        child.once('exit', (code) => reject(new Error(`the child exited (${code}) before it was ready`)));
      });
      const made = JSON.parse(line) as {
        dir: string;
        port: number;
        netns: string | null;
        bridge: string | null;
      };
      expect(await portOpen(made.port)).toBe(true);
      child.kill('SIGKILL');
      const gone = async () => {
        const processes = execFileSync('ps', ['-eo', 'args']).toString();
        const links = execFileSync('ip', ['-o', 'link', 'show']).toString();
        const namespaces = execFileSync('ip', ['netns', 'list']).toString();
        return (
          !processes.includes(made.dir) &&
          !existsSync(made.dir) &&
          !(await portOpen(made.port)) &&
          (made.netns === null || !namespaces.includes(made.netns)) &&
          (made.bridge === null || !links.includes(made.bridge))
        );
      };
      const deadline = Date.now() + 15_000;
      while (!(await gone())) {
        if (Date.now() > deadline) throw new Error(`still there 15 s after SIGKILL: ${line}`);
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    } finally {
      rmSync(script, { force: true });
    }
  });
});

describe('the README', () => {
  it('runs the example of "A real control plane" as written, against the built package', async () => {
    const readme = readFileSync(
      fileURLToPath(new URL('../../packages/testing/README.md', import.meta.url)),
      'utf8',
    );
    const section = readme.slice(readme.indexOf('## A real control plane'));
    const code = /```ts\n([\s\S]*?)```/.exec(section)?.[1];
    expect(code).toContain('startControlPlane()');
    // Next to cluster/package.json, so `@endpoint-watch/testing` resolves to the built package.
    const script = fileURLToPath(new URL(`../readme-example-${process.pid}.mjs`, import.meta.url));
    const cwd = mkdtempSync(join(plane().dir, 'readme-'));
    writeFileSync(script, `${code}\nconsole.log('done');\n`);
    try {
      const { stdout } = await promisify(execFile)(process.execPath, [script], {
        cwd,
        env: { ...process.env, ENDPOINT_WATCH_CONTROL_PLANE_BIN: inject('controlPlaneBin') },
        timeout: 60_000,
      });
      expect(stdout.trim()).toBe('done');
      expect(readFileSync(join(cwd, 'kubeconfig'), 'utf8')).toContain('certificate-authority-data');
    } finally {
      rmSync(script, { force: true });
    }
  });
});

describe('startTcpProxy', () => {
  it('passes TLS through to the apiserver and cut() resets the open connections', async () => {
    const proxy = await startTcpProxy({ host: '127.0.0.1', port: plane().port });
    const agent = new Agent({ connect: { ca: plane().ca } });
    try {
      const url = `https://127.0.0.1:${proxy.port}/version`;
      const headers = { authorization: `Bearer ${plane().adminToken}` };
      const first = await request(url, { dispatcher: agent, headers });
      expect(((await first.body.json()) as { gitVersion: string }).gitVersion).toBe('v1.37.2');
      expect(proxy.open).toBe(1);
      proxy.cut();
      expect(proxy.open).toBe(0);
      const again = await request(url, { dispatcher: agent, headers });
      await again.body.dump();
      expect(proxy.accepted).toBe(2);
    } finally {
      await agent.close();
      await proxy.close();
    }
  });
});

const noNetwork = podNetworkUnavailable();
if (noNetwork !== undefined) console.warn(`pod network tests skipped: ${noNetwork}`);

describe.skipIf(noNetwork !== undefined)('startPodNetwork', () => {
  it('serves HTTP from a pod namespace, refuses once the pod dies, and removes every namespace and link on close', async () => {
    const network = await startPodNetwork();
    const pod = await network.addPod('probe');
    const answer = await request(`http://${pod.ip}:${pod.port}/`);
    expect(await answer.body.json()).toMatchObject({ pod: 'probe' });
    await pod.kill();
    await expect(request(`http://${pod.ip}:${pod.port}/`)).rejects.toMatchObject({ code: 'ECONNREFUSED' });
    await network.close();
    expect(execFileSync('ip', ['netns', 'list']).toString()).not.toContain(pod.netns);
    const links = execFileSync('ip', ['-o', 'link', 'show']).toString();
    expect(links).not.toContain(network.bridge);
    expect(links).not.toContain(pod.netns.replace(/^ew/, 'ewh'));
  });
});
