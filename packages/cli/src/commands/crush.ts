/**
 * `nacre crush compile|decompile|test|what-if` — crushtool's habits, Nacre's engine.
 *
 *   nacre crush compile -i MAP.txt -o MAP.json      crushtool text → Nacre JSON
 *   nacre crush decompile -i MAP.json -o MAP.txt    Nacre JSON (or text) → canonical crushtool text
 *   nacre crush test -i MAP [--rule R] [--num-rep N] [--min-x A --max-x B | --x X]
 *                    [--weight OSD W]… [--pool-id P] [--format json]
 *        prints exactly crushtool's `--test --show-mappings` lines: `CRUSH rule R x X [a,b,c]`
 *   nacre crush what-if …                           see what-if.ts
 */
import { writeFileSync } from 'node:fs';
import { chooseArgsFor, compileMap, crushHash32_2, doRule, maxDevices, printCrushText, type CrushMap } from '@nacre/crush';
import { UsageError, flagInt, flagString, parseArgs, parseIntStrict, requireString } from '../args.js';
import { loadCrushMap } from '../crush-io.js';
import { subcommands } from '../subcommands.js';
import type { Command, CommandIo } from '../main.js';

const usage = `usage: nacre crush compile -i MAP.txt -o MAP.json
       nacre crush decompile -i MAP.json -o MAP.txt
       nacre crush test -i MAP [--rule R] [--num-rep N] [--min-x A] [--max-x B] [--x X] [--weight OSD W]... [--pool-id P] [--format json]
       nacre crush what-if -i MAP --rule R --num-rep N [changes...] (nacre crush what-if --help)`;

const crush: Command = subcommands('crush', usage, {
  compile: (rest, io) => compile(rest, io, 'json'),
  decompile: (rest, io) => compile(rest, io, 'text'),
  test: (rest, io) => test(rest, io),
  'what-if': async (rest, io) => (await import('./what-if.js')).whatIf(rest, io),
});
export default crush;

async function compile(argv: string[], io: CommandIo, to: 'json' | 'text'): Promise<number> {
  const p = parseArgs(argv, { '-i': { arity: 1, aliases: ['--input'] }, '-o': { arity: 1, aliases: ['--output'] } });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const map = await loadCrushMap(requireString(p, '-i'));
  let out: string;
  if (to === 'json') {
    const { crushMapToJson } = await import('@nacre/crush');
    out = JSON.stringify(crushMapToJson(map), null, 2) + '\n';
  } else {
    out = printCrushText(map);
  }
  const dest = flagString(p, '-o');
  if (dest === undefined || dest === '-') io.stdout(out);
  else writeFileSync(dest, out);
  return 0;
}

/** crushtool's conversion of `--weight OSD W`: (int)((float)W * 0x10000), clamped to [0, 0x10000]. */
export function crushtoolWeight(text: string): number {
  if (!/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) throw new UsageError(`bad weight '${text}' (expected a number like 0.5)`);
  const w = Math.trunc(Math.fround(Math.fround(Number(text)) * 0x10000));
  return Math.min(0x10000, Math.max(0, w));
}

/** The in-weight vector crushtool hands to CRUSH: 1.0 for devices placed in a bucket, else 0. */
export function testWeights(map: CrushMap, overrides: ReadonlyMap<number, number>): number[] {
  const max = maxDevices(map);
  const placed = new Set<number>();
  for (const b of map.buckets.values()) for (const it of b.items) if (it >= 0) placed.add(it);
  const w: number[] = [];
  for (let o = 0; o < max; o++) w.push(overrides.get(o) ?? (placed.has(o) ? 0x10000 : 0));
  return w;
}

async function test(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, {
    '-i': { arity: 1, aliases: ['--input'] },
    '--test': { arity: 0 },
    '--show-mappings': { arity: 0 },
    '--rule': { arity: 1 },
    '--num-rep': { arity: 1 },
    '--min-x': { arity: 1 },
    '--max-x': { arity: 1 },
    '--x': { arity: 1 },
    '--weight': { arity: 2, repeat: true },
    '--pool-id': { arity: 1 },
    '--format': { arity: 1 },
  });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const format = flagString(p, '--format') ?? 'plain';
  if (format !== 'plain' && format !== 'json') throw new UsageError(`unknown format '${format}' (plain or json)`);
  const map = await loadCrushMap(requireString(p, '-i'));
  const compiled = compileMap(map);
  const max = maxDevices(map);

  const overrides = new Map<number, number>();
  for (const [osdText, w] of p.flags.get('--weight') ?? []) {
    const osd = parseIntStrict(osdText!, '--weight OSD', 0);
    if (osd >= max) throw new UsageError(`--weight: device ${osd} is not in the map (max_devices ${max})`);
    overrides.set(osd, crushtoolWeight(w!));
  }
  const weights = testWeights(map, overrides);

  const single = flagInt(p, '--x', 0, 0x7fffffff);
  const minX = single ?? flagInt(p, '--min-x', 0, 0x7fffffff) ?? 0;
  const maxX = single ?? flagInt(p, '--max-x', 0, 0x7fffffff) ?? 1023;
  if (maxX < minX) throw new UsageError(`--max-x ${maxX} is below --min-x ${minX}`);
  const poolId = flagInt(p, '--pool-id', 0, 0x7fffffff);

  const ruleArg = flagInt(p, '--rule', 0);
  const rules = ruleArg === undefined ? [...map.rules.values()].sort((a, b) => a.id - b.id) : [map.rules.get(ruleArg)];
  if (rules[0] === undefined) throw new UsageError(`rule ${ruleArg} does not exist`);
  const numRep = flagInt(p, '--num-rep', 1, 1024);

  // crushtool asks for choose_args set 0 and falls back to the default set (-1)
  const args = chooseArgsFor(compiled, 0);
  const lines: string[] = [];
  const json: { rule: number; num_rep: number; x: number; osds: number[] }[] = [];
  for (const rule of rules) {
    const reps = numRep !== undefined ? [numRep] : range(rule!.minSize, rule!.maxSize);
    for (const nr of reps) {
      for (let x = minX; x <= maxX; x++) {
        const input = poolId === undefined ? x : crushHash32_2(x, poolId);
        const osds = doRule(compiled, rule!.id, input, nr, weights, args);
        if (format === 'json') json.push({ rule: rule!.id, num_rep: nr, x, osds });
        else lines.push(`CRUSH rule ${rule!.id} x ${x} [${osds.join(',')}]`);
      }
    }
  }
  io.stdout(format === 'json' ? JSON.stringify({ mappings: json }) + '\n' : lines.join('\n') + (lines.length ? '\n' : ''));
  return 0;
}

function range(from: number, to: number): number[] {
  const out: number[] = [];
  for (let i = from; i <= to; i++) out.push(i);
  return out;
}

