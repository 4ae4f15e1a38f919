// What the product tells people to read must exist: every `README: "Heading"` and `docs/...` (with an optional
// `: "Heading"`) cited in src/ names a real file and heading, and every relative link in the README and docs/
// reaches a file (and a heading, for #anchors). Moving a section without its references fails here.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { ROOT } from '../helpers/rig.ts';

const read = (file: string) => fs.readFileSync(path.join(ROOT, file), 'utf8');

/** The headings of a markdown file (outside code fences), as written without the #s and backticks. */
function headings(file: string): string[] {
  let fence = false;
  const found: string[] = [];
  for (const line of read(file).split('\n')) {
    if (line.startsWith('```')) fence = !fence;
    const m = fence ? null : /^#{1,6} (.+)$/.exec(line);
    if (m) found.push((m[1] as string).replace(/`/g, '').trim());
  }
  return found;
}

/** GitHub's anchors for a file's headings: lower case, punctuation dropped, spaces as -, repeats numbered. */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const h of headings(file)) {
    const base = h.toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-');
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    out.add(n === 0 ? base : `${base}-${n}`);
  }
  return out;
}

function sourceFiles(dir: string): string[] {
  return fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? sourceFiles(path.join(dir, e.name)) : e.name.endsWith('.ts') ? [path.join(dir, e.name)] : []));
}

function markdownFiles(): string[] {
  const walk = (dir: string): string[] => fs.readdirSync(path.join(ROOT, dir), { withFileTypes: true }).flatMap((e) => (e.isDirectory() ? walk(path.join(dir, e.name)) : e.name.endsWith('.md') ? [path.join(dir, e.name)] : []));
  return ['README.md', 'playbook.md', ...walk('docs')];
}

describe('documentation references', () => {
  it('every README: "Heading" and docs/... cited in src/ exists', () => {
    const cited: string[] = [];
    for (const file of sourceFiles('src')) {
      const text = read(file);
      for (const m of text.matchAll(/README: "([^"]+)"/g)) {
        cited.push(`README ${m[1]}`);
        assert.ok(headings('README.md').includes(m[1] as string), `${file}: README.md has no heading "${m[1]}"`);
      }
      for (const m of text.matchAll(/\b(docs\/[A-Za-z0-9_./-]*[A-Za-z0-9_/])(?:: "([^"]+)")?/g)) {
        const target = m[1] as string;
        cited.push(target);
        assert.ok(fs.existsSync(path.join(ROOT, target)), `${file}: ${target} does not exist`);
        if (m[2] !== undefined) assert.ok(headings(target).includes(m[2]), `${file}: ${target} has no heading "${m[2]}"`);
      }
    }
    // The hints this test exists for are found at all (a broken pattern would pass vacuously).
    for (const expected of ['README Exit codes', 'docs/commands/init.md', 'docs/day2.md', 'docs/network.md']) assert.ok(cited.includes(expected), `found ${expected}`);
  });

  it('every relative link in README.md, playbook.md and docs/ reaches a file and, with #anchor, a heading', () => {
    let links = 0;
    for (const file of markdownFiles()) {
      let fence = false;
      for (const line of read(file).split('\n')) {
        if (line.startsWith('```')) fence = !fence;
        if (fence) continue;
        for (const m of line.matchAll(/\]\(([^)\s]+)\)/g)) {
          const link = m[1] as string;
          if (/^[a-z]+:/.test(link)) continue;
          links++;
          const [target, anchor] = link.split('#') as [string, string | undefined];
          const resolved = target === '' ? file : path.join(path.dirname(file), target);
          assert.ok(fs.existsSync(path.join(ROOT, resolved)), `${file}: link ${link} -> ${resolved} does not exist`);
          if (anchor !== undefined && resolved.endsWith('.md')) assert.ok(anchors(resolved).has(anchor), `${file}: link ${link}: no heading with anchor #${anchor} in ${resolved}`);
        }
      }
    }
    assert.ok(links > 30, `links checked (${links})`);
    // A fence left open by a moved section would turn the rest of its page into code.
    for (const file of markdownFiles()) assert.equal(read(file).split('\n').filter((l) => l.startsWith('```')).length % 2, 0, `${file}: a code fence is not closed`);
  });

  it("every check verify can report has a row in docs/commands/verify.md's table", () => {
    const ids = new Set<string>();
    for (const file of sourceFiles('src/verify')) {
      const text = read(file);
      for (const m of text.matchAll(/\b(?:id|[a-z]+Id) = '([a-z0-9-]+)'/g)) ids.add(m[1] as string);
      for (const m of text.matchAll(/\b(?:pass|warn|fail|skip)\('([a-z0-9-]+)'/g)) ids.add(m[1] as string);
    }
    assert.ok(ids.size > 45, `check ids found in src/verify (${ids.size})`);
    const rows = new Set([...read('docs/commands/verify.md').matchAll(/^\| [a-z]+ \| `([a-z0-9-]+)` \|/gm)].map((m) => m[1] as string));
    assert.deepEqual([...ids].filter((id) => !rows.has(id)).sort(), [], 'checks with no row in the table');
  });
});
