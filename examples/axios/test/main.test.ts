import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { startEmbeddedCluster } from '../embedded-cluster.mjs';
// @ts-expect-error: a plain .mjs example without type declarations
import { main } from '../main.mjs';

type Counts = Record<string, number>;
const sum = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('axios example', () => {
  it.each(['http', 'fetch'])(
    'spreads N axios requests over every pod of the embedded cluster (%s adapter)',
    async (adapter) => {
      const lines: string[] = [];
      const args = ['--requests', '60', '--adapter', adapter];
      const { counts, served } = (await main(args, { log: (line: string) => lines.push(line) })) as {
        counts: Counts;
        served: Counts;
      };
      // three pods, all of them answered, and the balancer's counts are what the pods saw
      expect(Object.keys(served)).toHaveLength(3);
      expect(Object.keys(counts).sort()).toEqual(Object.keys(served).sort());
      expect(sum(counts)).toBe(60);
      expect(counts).toEqual(served);
      for (const count of Object.values(counts)) expect(count).toBeGreaterThan(0);
      expect(lines[0]).toBe(`60 requests to http://web.demo.svc/ (demo/web, ${adapter} adapter):`);
      expect(lines.slice(1).map((line) => line.trim().split(/\s+/))).toEqual(
        Object.entries(counts).map(([endpoint, count]) => [endpoint, String(count)]),
      );
    },
  );

  it('takes a cluster from --kubeconfig/--service/--namespace/--url', async () => {
    const cluster = await startEmbeddedCluster({ pods: 2 });
    try {
      const lines: string[] = [];
      const args = ['--kubeconfig', cluster.kubeconfig, '--service', 'web', '--namespace', 'demo'];
      const { counts, served } = (await main(
        [...args, '--url', 'http://web.example:8080/x', '--requests', '40'],
        {
          log: (line: string) => lines.push(line),
        },
      )) as { counts: Counts; served: Counts | undefined };
      expect(served).toBeUndefined(); // it did not start a cluster of its own
      expect(counts).toEqual(cluster.served());
      expect(Object.keys(counts)).toHaveLength(2);
      expect(sum(counts)).toBe(40);
      expect(lines[0]).toBe('40 requests to http://web.example:8080/x (demo/web, http adapter):');
    } finally {
      await cluster.close();
    }
  });

  it('rejects bad arguments before starting anything', async () => {
    await expect(main(['--requests', '0'])).rejects.toThrow('--requests must be a positive integer');
    await expect(main(['--kubeconfig', '/nonexistent'])).rejects.toThrow('--kubeconfig needs --service');
    await expect(main(['--bogus'])).rejects.toThrow(/bogus/);
    await expect(main(['--adapter', 'xhr'])).rejects.toThrow('--adapter must be http or fetch');
  });
});
