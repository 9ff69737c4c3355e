/**
 * `npm run bench` (full) and `npm run bench -- --quick` (under a minute): times createProvider with a
 * large seed (`--startup-only`: only that), benchmarks orgconnect on the
 * memory and Redis stores against a baseline (bare oidc-provider, same features), prints a Markdown
 * report on stdout (progress on stderr) and writes the JSON under bench/results/.
 * `--profile[=scenarios]` CPU-profiles orgconnect and the baseline instead. `--help` for the rest.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

import { parseArgs } from './plan.js';
import { log } from './progress.js';
import { runProfile } from './profile/run-profile.js';
import { renderMarkdown } from './report/markdown.js';
import { computeRatios } from './report/ratios.js';
import type { BenchReport } from './report/types.js';
import { runBench } from './runner.js';

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url));

// Children are killed on exit (launch.ts); make Ctrl-C and kill go through exit too.
for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => process.exit(130));

async function main(): Promise<void> {
  // `--render=FILE`: the Markdown report of a results JSON, without running anything.
  const render = process.argv.find((a) => a.startsWith('--render='));
  if (render) {
    const report = JSON.parse(readFileSync(render.slice('--render='.length), 'utf8')) as BenchReport;
    process.stdout.write(`${renderMarkdown({ ...report, ratios: computeRatios(report.runs) })}\n`);
    return;
  }
  const args = parseArgs(process.argv.slice(2));
  mkdirSync(RESULTS, { recursive: true });
  const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
  if (args.profile) {
    const markdown = await runProfile(args, RESULTS, stamp);
    process.stdout.write(`${markdown}\n`);
    return;
  }
  const started = performance.now();
  const report = await runBench(args);
  const kind = args.startupOnly ? 'startup' : report.mode; // a start-up-only report does not replace the latest full one
  const file = `${RESULTS}bench-${kind}-${stamp}.json`;
  writeFileSync(file, `${JSON.stringify(report, null, 2)}\n`);
  writeFileSync(`${RESULTS}latest-${kind}.json`, `${JSON.stringify(report, null, 2)}\n`);
  log(`\ndone in ${((performance.now() - started) / 1000).toFixed(0)} s; JSON: ${file}`);
  process.stdout.write(`${renderMarkdown(report)}\n`);
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    log(`bench failed: ${error instanceof Error ? (error.stack ?? error.message) : String(error)}`);
    process.exit(1);
  },
);
