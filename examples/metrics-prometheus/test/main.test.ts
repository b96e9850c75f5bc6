import { readFileSync } from 'node:fs';
import { request } from 'undici';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs example without type declarations
import { start } from '../main.mjs';

interface Sample {
  readonly name: string;
  readonly labels: Record<string, string>;
  readonly value: number;
}

/** The samples of a Prometheus text exposition (no escaped quotes in our label values). */
function parseExposition(text: string): Sample[] {
  const samples: Sample[] = [];
  for (const line of text.split('\n')) {
    const match = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!match) continue;
    const labels: Record<string, string> = {};
    for (const [, key, value] of (match[2] ?? '').matchAll(/(\w+)="([^"]*)"/g)) labels[key!] = value!;
    samples.push({ name: match[1]!, labels, value: Number(match[3]) });
  }
  return samples;
}

const valuesOf = (samples: Sample[], name: string, labels: Record<string, string> = {}) =>
  samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .map((s) => s.value);

async function scrape(url: string): Promise<{ contentType: string; samples: Sample[] }> {
  const { statusCode, headers, body } = await request(url);
  expect(statusCode).toBe(200);
  return { contentType: String(headers['content-type']), samples: parseExposition(await body.text()) };
}

describe('metrics-prometheus example', () => {
  it('serves the endpoint-watch series on 127.0.0.1 /metrics, with the values of the embedded cluster', async () => {
    const lines: string[] = [];
    const running = await start(['--metrics-port', '0', '--interval-ms', '10'], {
      log: (line: string) => lines.push(line),
    });
    try {
      expect(running.metricsUrl).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/metrics$/);
      expect(lines).toEqual([`metrics of demo/web on ${running.metricsUrl} (Ctrl-C to stop)`]);
      // Scrape until every pod has answered a few requests (bounded: 200 scrapes, 50 ms apart).
      let samples: Sample[] = [];
      let contentType = '';
      for (let i = 0; i < 200; i++) {
        ({ samples, contentType } = await scrape(running.metricsUrl));
        const perPod = valuesOf(samples, 'endpoint_watch_endpoint_requests_total');
        if (perPod.length === 3 && perPod.every((n) => n >= 3)) break;
        await new Promise((resolve) => setTimeout(resolve, 50));
      }
      expect(contentType).toMatch(/^text\/plain/);
      const service = { k8s_namespace_name: 'demo', k8s_service_name: 'web' };

      // The watch: synced, current, three ready pods, events and bytes decoded, no relist.
      expect(
        valuesOf(samples, 'endpoint_watch_watch_state', { ...service, endpoint_watch_watch_state: 'synced' }),
      ).toEqual([1]);
      expect(
        valuesOf(samples, 'endpoint_watch_watch_state', { endpoint_watch_watch_state: 'retrying' }),
      ).toEqual([0]);
      expect(valuesOf(samples, 'endpoint_watch_watch_staleness', service)).toEqual([0]);
      expect(
        valuesOf(samples, 'endpoint_watch_endpoints', {
          ...service,
          endpoint_watch_endpoint_condition: 'ready',
        }),
      ).toEqual([3]);
      expect(valuesOf(samples, 'endpoint_watch_watch_relists_total', service)).toEqual([0]);
      const [events] = valuesOf(samples, 'endpoint_watch_watch_events_total', service);
      const [bytes] = valuesOf(samples, 'endpoint_watch_watch_bytes_total', service);
      expect(events).toBeGreaterThanOrEqual(1);
      expect(bytes).toBeGreaterThan(100 * (events ?? 0)); // a slice of three pods is hundreds of bytes

      // The balancer: every pod got requests, none failed, each request has a duration.
      const pods = samples.filter((s) => s.name === 'endpoint_watch_endpoint_requests_total');
      expect(pods.map((s) => s.labels.server_address).sort()).toEqual([
        '127.0.0.2',
        '127.0.0.3',
        '127.0.0.4',
      ]);
      for (const pod of pods) {
        expect(pod.labels).toMatchObject(service);
        expect(pod.value).toBeGreaterThanOrEqual(3);
        const at = { server_address: pod.labels.server_address!, server_port: pod.labels.server_port! };
        expect(valuesOf(samples, 'endpoint_watch_endpoint_request_duration_count', at)).toEqual([pod.value]);
      }
      expect(valuesOf(samples, 'endpoint_watch_endpoint_failures_total')).toEqual([]);
      expect(valuesOf(samples, 'endpoint_watch_endpoint_ejections_total')).toEqual([]);

      const { statusCode, body } = await request(running.metricsUrl.replace('/metrics', '/other'));
      await body.dump();
      expect(statusCode).toBe(404);
    } finally {
      await running.stop();
    }
  });

  it("is what the core README's Metrics section shows", () => {
    const main = readFileSync(new URL('../main.mjs', import.meta.url), 'utf8');
    const block = /\/\/ --- metrics setup[^\n]*\n([\s\S]*?)\s*\/\/ --- end of metrics setup ---/.exec(
      main,
    )?.[1];
    expect(block).toBeDefined();
    const readme = readFileSync(new URL('../../../packages/core/README.md', import.meta.url), 'utf8');
    const dedented = block!
      .split('\n')
      .map((line) => line.replace(/^ {2}/, ''))
      .join('\n');
    expect(readme).toContain(dedented);
  });

  it('rejects bad arguments before starting anything', async () => {
    await expect(start(['--metrics-port', '70000'])).rejects.toThrow('--metrics-port must be a port number');
    await expect(start(['--kubeconfig', '/nonexistent'])).rejects.toThrow('--kubeconfig needs --service');
  });
});
