import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { main } from '../client.mjs';
// @ts-expect-error: a plain .mjs example without type declarations
import { startEmbeddedCluster } from '../embedded-cluster.mjs';

type Counts = Record<string, number>;
const sum = (counts: Counts) => Object.values(counts).reduce((a, b) => a + b, 0);

describe('grpc example', () => {
  it('spreads the calls over every pod of the embedded cluster, and counts what the pods served', async () => {
    const lines: string[] = [];
    const { counts, streamed, served } = (await main(['--calls', '60'], {
      log: (line: string) => lines.push(line),
    })) as { counts: Counts; streamed: string[]; served: Counts };
    expect(Object.keys(served).sort()).toEqual(['greeter-0', 'greeter-1', 'greeter-2']);
    expect(counts).toEqual(served);
    expect(sum(counts)).toBe(61);
    for (const count of Object.values(counts)) expect(count).toBeGreaterThan(0);
    expect(streamed).toHaveLength(1);
    expect(lines[0]).toBe('60 calls and 1 stream to kubernetes:///greeter.demo:grpc:');
  });

  it('takes a cluster from --kubeconfig/--service/--namespace', async () => {
    const cluster = await startEmbeddedCluster({ pods: 2 });
    try {
      const args = ['--kubeconfig', cluster.kubeconfig, '--service', 'greeter', '--namespace', 'demo'];
      const { counts, served } = (await main([...args, '--calls', '20'], { log: () => undefined })) as {
        counts: Counts;
        served: Counts | undefined;
      };
      expect(served).toBeUndefined();
      expect(counts).toEqual(cluster.served());
      expect(Object.keys(counts)).toHaveLength(2);
    } finally {
      await cluster.close();
    }
  });

  it('rejects bad arguments before starting anything', async () => {
    await expect(main(['--calls', '0'])).rejects.toThrow('--calls must be a positive integer');
    await expect(main(['--kubeconfig', '/nonexistent'])).rejects.toThrow('--kubeconfig needs --service');
  });
});
