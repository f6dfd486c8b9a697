// WCAG 2.1 AA checks of a page with axe-core (the npm package, read from node_modules: nothing is
// fetched at run time). The portal's pages forbid scripts (script-src 'none'), so axe's source is
// not added as a <script>: page.evaluate runs it through the DevTools protocol, which the page's
// Content-Security-Policy does not govern. Used by portal.mjs.

import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const kSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// WCAG 2.0 and 2.1, levels A and AA.
export const kWcagTags = ['wcag2a', 'wcag2aa', 'wcag21a', 'wcag21aa'];

// axe's findings on the page as it is now: the rules it found violated ({id, impact, help, nodes,
// target, html, summary}, target, html and summary those of the first offending node), those it
// could not decide (to be reviewed by a person; one line each) and how many passed. Throws when
// no rule passed: axe did not look at the page.
export async function axeRun(page) {
  if (!(await page.evaluate(() => typeof window.axe === 'object'))) await page.evaluate(kSource);
  const found = await page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: 'tag', values: tags } });
    return {
      violations: result.violations.map((v) => ({
        id: v.id,
        impact: v.impact,
        help: v.help,
        nodes: v.nodes.length,
        target: v.nodes[0]?.target ?? [],
        html: v.nodes[0]?.html ?? '',
        summary: v.nodes[0]?.failureSummary ?? '',
      })),
      incomplete: result.incomplete.map((v) => {
        const node = v.nodes[0];
        const why = [...(node?.any ?? []), ...(node?.all ?? []), ...(node?.none ?? [])].map((c) => c.message)[0];
        return `${v.id} (${v.nodes.length} node${v.nodes.length === 1 ? '' : 's'}, first at ` +
          `${JSON.stringify(node?.target ?? [])} ${(node?.html ?? '').slice(0, 160)}: ${why ?? '?'})`;
      }),
      passed: result.passes.length,
    };
  }, kWcagTags);
  if (found.passed === 0) throw new Error('axe passed no rule: it did not look at the page');
  return found;
}

// One line per violation: rule, impact, how many nodes, the first node's selector and markup, and
// what axe says is wrong with it.
export function describeViolations(violations) {
  const one = (s, n) => String(s).replace(/\s+/g, ' ').trim().slice(0, n);
  return violations.map((v) =>
    `${v.id} (${v.impact}, ${v.nodes} node${v.nodes === 1 ? '' : 's'}): ${v.help}; first at ` +
    `${JSON.stringify(v.target)} ${one(v.html, 240)} -- ${one(v.summary, 300)}`);
}
