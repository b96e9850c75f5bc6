// The suite's judge (`pnpm bench --check`) and renderers: pure functions, tested on made-up figures.
// (The benchmarks themselves are never tests.)
import { describe, expect, it } from 'vitest';
import { evaluate, flattenMetrics, renderMarkdown, renderSvg, thresholdFor } from '../lib/report.mjs';

const thresholds = {
  $comment: 'ignored',
  watchDecodeVsFloor: { target: 1.1, direction: 'max' },
  clientNodeWatchVsOurs: { target: 1.25, direction: 'min' },
  pickReleaseNs: { target: 300, direction: 'max', unit: 'ns' },
  agentVsPool: { target: 0.9, direction: 'min' },
};

describe('flattenMetrics', () => {
  it('keeps metrics, wraps bare numbers and nests plain objects by dotted keys', () => {
    const flat = flattenMetrics({
      a: { value: 1.2, unit: '×', label: 'A' },
      b: 7,
      pickReleaseNs: { p2c: { 10: 225, 1000: { value: 310, unit: 'ns' } } },
    });
    expect(Object.keys(flat)).toEqual(['a', 'b', 'pickReleaseNs.p2c.10', 'pickReleaseNs.p2c.1000']);
    expect(flat.a).toEqual({ value: 1.2, unit: '×', label: 'A' });
    expect(flat['pickReleaseNs.p2c.1000']).toMatchObject({ value: 310, unit: 'ns' });
  });
});

describe('thresholdFor', () => {
  it('uses the longest dotted prefix that has a threshold', () => {
    expect(thresholdFor(thresholds, 'pickReleaseNs.maglev.100000')).toMatchObject({
      name: 'pickReleaseNs',
      target: 300,
    });
    expect(thresholdFor(thresholds, 'watchDecodeVsFloor')).toMatchObject({ name: 'watchDecodeVsFloor' });
    expect(thresholdFor(thresholds, 'watchDecodeVsFloorX')).toBeUndefined();
  });
});

describe('evaluate', () => {
  const metrics = {
    watchDecodeVsFloor: { value: 1.17, unit: '×', label: 'decode' },
    clientNodeWatchVsOurs: { value: 1.3, unit: '×', label: 'peer' },
    'pickReleaseNs.p2c.10': { value: 225, unit: 'ns', label: 'pick 10' },
    'pickReleaseNs.p2c.10000': { value: 300, unit: 'ns', label: 'pick 10k' },
    'pickReleaseNs.ewma.10000': { value: 301, unit: 'ns', label: 'pick ewma 10k' },
    agentVsPool: { value: 0.9, unit: '×', label: 'agent at its target' },
    untargeted: { value: 3, unit: '×', label: 'no threshold' },
  };

  it('judges each figure in its direction (at most / at least, the target itself meets)', () => {
    const { rows } = evaluate(metrics, thresholds);
    const met = Object.fromEntries(rows.map((row) => [row.key, row.met]));
    expect(met).toEqual({
      watchDecodeVsFloor: false,
      clientNodeWatchVsOurs: true,
      'pickReleaseNs.p2c.10': true,
      'pickReleaseNs.p2c.10000': true,
      'pickReleaseNs.ewma.10000': false,
      agentVsPool: true,
      untargeted: undefined,
    });
  });

  it('names every miss, and a target nothing was measured for, unless only measured ones count', () => {
    const { agentVsPool: _, ...withoutAgent } = metrics;
    expect(evaluate(withoutAgent, thresholds).misses).toEqual([
      'watchDecodeVsFloor = 1.17 × (target ≤ 1.10 ×)',
      'pickReleaseNs.ewma.10000 = 301 ns (target ≤ 300 ns)',
      'agentVsPool: not measured (target ≥ 0.90)',
    ]);
    expect(evaluate(withoutAgent, thresholds, { measuredOnly: true }).misses).toHaveLength(2);
  });

  it('never lets a figure that is not a finite number pass', () => {
    const figures = {
      clientNodeWatchVsOurs: { value: Number.POSITIVE_INFINITY, unit: '×', label: 'x' },
      watchDecodeVsFloor: { value: Number.NaN, unit: '×', label: 'y' },
    };
    expect(evaluate(figures, thresholds, { measuredOnly: true }).misses).toEqual([
      'clientNodeWatchVsOurs = Infinity (target ≥ 1.25 ×)',
      'watchDecodeVsFloor = NaN (target ≤ 1.10 ×)',
    ]);
  });
});

describe('renderers', () => {
  const results = {
    date: '2026-12-04T21:00:00.000Z',
    commit: 'abc1234',
    node: 'v20.20.2',
    machine: { cpu: 'CPU <x>', cores: 2, memoryGiB: 8, os: 'Linux' },
    durationS: 300,
    metrics: {
      watchDecodeVsFloor: { value: 1.05, unit: '×', label: 'decode' },
      agentVsPool: { value: 0.5, unit: '×', label: 'agent' },
      untargeted: { value: 2, unit: '×', label: 'info' },
    },
    unavailable: [{ name: 'pick-release', reason: 'absent' }],
    errors: [],
  };

  it('draws one bar per judged figure, coloured by verdict, with escaped text', () => {
    const svg = renderSvg(results, thresholds);
    expect(svg.match(/<rect x=/g)).toHaveLength(2);
    expect(svg).toContain('fill="#2e7d32"'); // met
    expect(svg).toContain('fill="#c62828"'); // missed
    expect(svg).toContain('CPU &lt;x&gt;');
    expect(svg).not.toContain('untargeted');
  });

  it('writes the run facts, every row and the misses as Markdown', () => {
    const md = renderMarkdown(results, thresholds);
    expect(md).toContain('- commit: abc1234');
    expect(md).toContain('| `agentVsPool` | agent | 0.50 × | ≥ 0.90 × | **no** |');
    expect(md).toContain('| `untargeted` | info | 2 × | - | - |');
    expect(md).toContain('- `pick-release`: absent');
    expect(md).toContain('- clientNodeWatchVsOurs: not measured');
  });
});
