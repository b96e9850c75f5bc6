// The suite's pure parts: normalising what metric modules return, judging figures against the
// thresholds kept in the repo (bench/thresholds.json), and rendering results as Markdown and SVG.

/**
 * Flattens a module's result into `{ key: { value, unit, label, detail? } }`: a number is a figure;
 * an object with a numeric `value` is a metric; any other object nests (`pickReleaseNs: { p2c: { 10:
 * 225 } }` becomes `pickReleaseNs.p2c.10`).
 */
export function flattenMetrics(result, prefix = '') {
  const out = {};
  for (const [name, value] of Object.entries(result ?? {})) {
    const key = prefix ? `${prefix}.${name}` : name;
    if (typeof value === 'number') out[key] = { value, unit: '', label: key };
    else if (value && typeof value === 'object' && typeof value.value === 'number')
      out[key] = { unit: '', label: key, ...value };
    else if (value && typeof value === 'object') Object.assign(out, flattenMetrics(value, key));
  }
  return out;
}

/** The threshold for `key`: its own entry, else that of its longest dotted prefix. */
export function thresholdFor(thresholds, key) {
  for (let name = key; name; name = name.includes('.') ? name.slice(0, name.lastIndexOf('.')) : '') {
    if (thresholds[name]) return { name, ...thresholds[name] };
  }
  return undefined;
}

/** Whether `value` meets `threshold` ({ target, direction: 'max' | 'min' }). */
export function meets(value, { target, direction }) {
  if (!Number.isFinite(value)) return false;
  return direction === 'min' ? value >= target : value <= target;
}

/**
 * Judges every measured metric that has a threshold, and every threshold nothing was measured for
 * (a miss: a target cannot be met by a figure that does not exist), unless `measuredOnly`.
 * Returns `{ rows, misses }`; each row `{ key, value, unit, label, threshold?, met? }`.
 */
export function evaluate(metrics, thresholds, { measuredOnly = false } = {}) {
  const rows = [];
  const misses = [];
  const covered = new Set();
  for (const [key, m] of Object.entries(metrics)) {
    const threshold = thresholdFor(thresholds, key);
    const row = { key, ...m };
    if (threshold) {
      covered.add(threshold.name);
      row.threshold = threshold;
      row.met = meets(m.value, threshold);
      if (!row.met)
        misses.push(`${key} = ${format(m.value, m.unit)} (target ${targetText(threshold, m.unit)})`);
    }
    rows.push(row);
  }
  if (!measuredOnly) {
    for (const [name, threshold] of Object.entries(thresholds)) {
      if (name.startsWith('$') || covered.has(name)) continue;
      misses.push(`${name}: not measured (target ${targetText(threshold, threshold.unit ?? '')})`);
    }
  }
  return { rows, misses };
}

export function format(value, unit = '') {
  if (!Number.isFinite(value)) return String(value);
  if (Number.isInteger(value)) return `${value}${unit === '×' ? ' ×' : unit ? ` ${unit}` : ''}`;
  const digits = Math.abs(value) >= 100 ? 0 : Math.abs(value) >= 10 ? 1 : 2;
  return `${value.toFixed(digits)}${unit === '×' ? ' ×' : unit ? ` ${unit}` : ''}`;
}

export function targetText({ target, direction }, unit) {
  return `${direction === 'min' ? '≥' : '≤'} ${format(target, unit)}`;
}

/** The results as Markdown: when and where, then one table row per metric. */
export function renderMarkdown(results, thresholds) {
  const { rows, misses } = evaluate(results.metrics, thresholds, { measuredOnly: Boolean(results.only) });
  const lines = [
    '# `pnpm bench` results',
    '',
    `- date: ${results.date}`,
    `- commit: ${results.commit}`,
    `- machine: ${results.machine.cpu} × ${results.machine.cores}, ${results.machine.memoryGiB} GiB, ${results.machine.os}`,
    `- node: ${results.node}`,
    ...(results.machine.loadAverage
      ? [`- load average at the start: ${results.machine.loadAverage.join(', ')}`]
      : []),
    `- duration: ${results.durationS.toFixed(0)} s`,
    '',
    'Every figure is a ratio against a baseline measured in the same run (medians over rotated rounds),',
    'except where a unit says otherwise. Reproduce: `pnpm bench` (all) or `pnpm bench --only <metric>`.',
    '',
    '| metric | what | figure | target | met |',
    '| --- | --- | --- | --- | --- |',
  ];
  for (const row of rows) {
    const target = row.threshold ? targetText(row.threshold, row.unit) : '-';
    const met = row.threshold ? (row.met ? 'yes' : '**no**') : '-';
    lines.push(`| \`${row.key}\` | ${row.label} | ${format(row.value, row.unit)} | ${target} | ${met} |`);
  }
  if (results.unavailable.length) {
    lines.push('', '## Not available', '');
    for (const { name, reason } of results.unavailable) lines.push(`- \`${name}\`: ${reason}`);
  }
  if (results.errors.length) {
    lines.push('', '## Failed', '');
    for (const { name, error } of results.errors) lines.push(`- \`${name}\`: ${error.split('\n')[0]}`);
  }
  lines.push('', `## Targets missed (${misses.length})`, '');
  for (const miss of misses) lines.push(`- ${miss}`);
  if (misses.length === 0) lines.push('none');
  return `${lines.join('\n')}\n`;
}

const escapeXml = (text) =>
  String(text).replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]);

/**
 * A horizontal bar per metric that has a threshold: its distance to the target (value / target for
 * "at most" targets, target / value for "at least" ones), so 1.0 is the target line for every row
 * and a bar that ends left of it meets its target.
 */
export function renderSvg(results, thresholds) {
  const { rows } = evaluate(results.metrics, thresholds, { measuredOnly: true });
  const judged = rows.filter((row) => row.threshold);
  const rowHeight = 22;
  const labelWidth = 330;
  const barWidth = 420;
  const valueWidth = 170;
  const top = 56;
  const width = labelWidth + barWidth + valueWidth + 20;
  const height = top + judged.length * rowHeight + 36;
  const scaleMax = 3; // bars past 3 × the target are cut (their figure is printed)
  const x = (share) => labelWidth + (Math.min(share, scaleMax) / scaleMax) * barWidth;
  const parts = [
    `<svg xmlns="http://www.w3.org/2000/svg" role="img" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="12">`,
    `<title>pnpm bench: ${judged.filter((row) => row.met).length} of ${judged.length} figures meet their targets</title>`,
    `<rect width="${width}" height="${height}" fill="#ffffff"/>`,
    `<text x="10" y="20" font-size="15" font-weight="bold">pnpm bench: each figure against its target (1 = target; shorter is better)</text>`,
    `<text x="10" y="38" fill="#555">${escapeXml(`${results.date.slice(0, 10)}, ${results.commit}, node ${results.node}, ${results.machine.cores} × ${results.machine.cpu}`)}</text>`,
  ];
  judged.forEach((row, i) => {
    const y = top + i * rowHeight;
    const { target, direction } = row.threshold;
    const share = direction === 'min' ? target / row.value : row.value / target;
    const colour = row.met ? '#2e7d32' : '#c62828';
    parts.push(
      `<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${escapeXml(row.key)}</text>`,
      `<rect x="${labelWidth}" y="${y + 4}" width="${Math.max(1, x(share) - labelWidth).toFixed(1)}" height="${rowHeight - 8}" fill="${colour}"/>`,
      `<text x="${labelWidth + barWidth + 8}" y="${y + 15}">${escapeXml(`${format(row.value, row.unit)} (${targetText(row.threshold, row.unit)})`)}</text>`,
    );
  });
  const line = x(1).toFixed(1);
  const bottom = top + judged.length * rowHeight;
  parts.push(
    `<line x1="${line}" y1="${top - 4}" x2="${line}" y2="${bottom + 4}" stroke="#000" stroke-dasharray="4 3"/>`,
    `<text x="${line}" y="${bottom + 18}" text-anchor="middle">target</text>`,
    `<text x="${labelWidth + barWidth}" y="${bottom + 18}" text-anchor="end" fill="#555">${scaleMax} × target</text>`,
    `<text x="${labelWidth}" y="${bottom + 18}" fill="#555">0</text>`,
    '</svg>',
  );
  return `${parts.join('\n')}\n`;
}
