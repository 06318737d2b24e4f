#!/usr/bin/env node
// Reads test-runner JSON reports and prints the closing line CI reads: "N passed, N failed[, N skipped]".
import { existsSync, readFileSync } from 'node:fs';

let passed = 0;
let failed = 0;
let skipped = 0;
for (const file of process.argv.slice(2)) {
  if (!existsSync(file)) {
    console.error(`no test report at ${file}: the test run did not finish`);
    failed += 1;
    continue;
  }
  const r = JSON.parse(readFileSync(file, 'utf8'));
  passed += r.numPassedTests;
  failed += r.numFailedTests + countFilesFailedWithoutTests(r);
  skipped += (r.numPendingTests ?? 0) + (r.numTodoTests ?? 0);
}

// A test file that fails to load has no failed tests but must still count as a failure.
// (numFailedTestSuites counts describe blocks too, so it cannot be used for this.)
function countFilesFailedWithoutTests(r) {
  return (r.testResults ?? []).filter((s) => s.status === 'failed' && !(s.assertionResults ?? []).some((a) => a.status === 'failed')).length;
}

console.log(`${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
