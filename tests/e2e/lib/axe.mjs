// @ts-check
// axe-core (WCAG 2.x A and AA rules) over whatever the page shows now. Every screenshot a spec
// takes is audited too (see `shot` in browser.mjs), so a screen or state a spec visits is
// covered without listing it here. A serious or critical violation fails the test that saw it.
import { basename } from 'node:path';
import { AxeBuilder } from '@axe-core/playwright';

const TAGS = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa', 'wcag22aa'];
const BLOCKING = new Set(['serious', 'critical']);

/** What the audits of this process (one spec file) found. */
export const tally = { audits: 0, blocking: 0, other: 0 };

// Each spec file runs in a process of its own: its count goes in the run's output at the end.
process.on('exit', () => {
  if (tally.audits === 0) return;
  const spec = basename(process.argv[1] ?? 'e2e');
  console.log(`axe ${spec}: ${tally.audits} page states audited, ${tally.blocking} serious or critical violations, ${tally.other} moderate or minor`);
});

/**
 * @typedef {{ state: string, id: string, impact: string, help: string, nodes: string[] }} Finding
 */

/**
 * Audits the page as it is and returns the serious and critical findings (counted in `tally`).
 * @param {import('playwright-core').Page} page
 * @param {string} state what the page shows, for the report
 * @returns {Promise<Finding[]>}
 */
export async function audit(page, state) {
  const results = await new AxeBuilder({ page }).withTags(TAGS).analyze();
  tally.audits += 1;
  /** @type {Finding[]} */
  const blocking = [];
  for (const v of results.violations) {
    const impact = v.impact ?? 'minor';
    if (!BLOCKING.has(impact)) {
      tally.other += v.nodes.length;
      continue;
    }
    tally.blocking += v.nodes.length;
    blocking.push({
      state,
      id: v.id,
      impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => `${n.target.join(' ')}: ${n.failureSummary?.split('\n').slice(1, 2).join('') ?? ''}`),
    });
  }
  return blocking;
}

/** One readable paragraph per finding, for an assertion message. */
export function describe(/** @type {Finding[]} */ findings) {
  return findings.map((f) => `${f.state}: [${f.impact}] ${f.id} (${f.help})\n  ${f.nodes.join('\n  ')}`).join('\n');
}

/** Audits the page and throws when it finds anything serious or critical. */
export async function assertAccessible(/** @type {import('playwright-core').Page} */ page, /** @type {string} */ state) {
  const findings = await audit(page, state);
  if (findings.length) throw new Error(`axe found ${findings.length} serious or critical violation(s):\n${describe(findings)}`);
}
