/** The README's example is test/readme-example.ts verbatim, and it runs. */
import { readFileSync } from 'node:fs';
import t from 'tap';

t.test('README example is readme-example.ts and runs', async (t) => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const example = readFileSync(new URL('./readme-example.ts', import.meta.url), 'utf8');
  const block = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  t.equal(block, example);
  const lines: string[] = [];
  const log = console.log;
  console.log = (...args: unknown[]) => { lines.push(args.join(' ')); };
  try {
    await import('./readme-example.js');
  } finally {
    console.log = log;
  }
  t.same(lines, ['true true']);
});
