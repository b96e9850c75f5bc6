#!/usr/bin/env bash
# Hunts tests that depend on luck or load: runs the whole suite ROUNDS times, PARALLEL runs at once
# (more runs than cores, so every test also meets a busy machine), and lists each failed test.
# Usage: ROUNDS=3 PARALLEL=3 scripts/repeat-tests.sh   (after `pnpm install`; reports in .ci/repeat/)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds=${ROUNDS:-3}
parallel=${PARALLEL:-3}
out=.ci/repeat
rm -rf "$out"
mkdir -p "$out"
pnpm build >/dev/null
failed=0
for round in $(seq 1 "$rounds"); do
  for run in $(seq 1 "$parallel"); do
    npx vitest run --reporter=json --outputFile="$out/$round-$run.json" >"$out/$round-$run.log" 2>&1 &
  done
  wait || true
  for run in $(seq 1 "$parallel"); do
    # shellcheck disable=SC2016 # JavaScript, not shell
    node -e '
      const report = process.argv[1];
      let r;
      try { r = JSON.parse(require("node:fs").readFileSync(report, "utf8")); }
      catch { console.log(`${report}: no report (see the .log beside it)`); process.exit(1); }
      console.log(`${report}: ${r.numPassedTests} passed, ${r.numFailedTests} failed`);
      for (const file of r.testResults)
        for (const test of file.assertionResults)
          if (test.status === "failed")
            console.log(`  FAIL ${file.name} > ${test.fullName}: ${(test.failureMessages[0] ?? "").split("\n")[0]}`);
      process.exit(r.numFailedTests > 0 ? 1 : 0);
    ' "$out/$round-$run.json" || failed=$((failed + 1))
  done
done
echo "$((rounds * parallel)) runs, $failed with failures"
[ "$failed" -eq 0 ]
