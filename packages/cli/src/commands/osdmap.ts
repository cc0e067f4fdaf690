/**
 * `nacre osdmap test` — osdmaptool-style placement check on a synthetic OSDMap: every device of the
 * CRUSH map is an OSD that exists, is up and in (unless `--out`), and one pool is defined from the
 * flags. Prints object → PG → OSDs and/or every PG's raw/up/acting sets.
 *
 *   nacre osdmap test --crush MAP.txt --pool-id P --pg-num N [--pgp-num M] --size S --rule R
 *        [--no-hashpspool] [--erasure] [--out OSD]… [--object NAME]… [--object-hex HEX]… [--all-pgs]
 *        [--format json]
 */
import { CRUSH_ITEM_NONE, maxDevices } from '@nacre/crush';
import {
  WEIGHT_ONE, createOsdMap, emptyOsdInfo, formatPgId, objectRawHash, objectToPg, pgToUpActing, validatePool,
  type OsdMap, type PgMapping, type Pool,
} from '@nacre/osdmap';
import { UsageError, flagBool, flagInt, flagString, parseArgs, parseIntStrict, requireInt, requireString } from '../args.js';
import { loadCrushMap } from '../crush-io.js';
import { subcommands } from '../subcommands.js';
import type { Command, CommandIo } from '../main.js';

const usage = `usage: nacre osdmap test --crush MAP.txt --pool-id P --pg-num N [--pgp-num M] --size S --rule R
         [--no-hashpspool] [--erasure] [--out OSD]... [--object NAME]... [--object-hex HEX]... [--all-pgs] [--format json]`;

const osdmap: Command = subcommands('osdmap', usage, { test: (rest, io) => test(rest, io) });
export default osdmap;

async function test(argv: string[], io: CommandIo): Promise<number> {
  const p = parseArgs(argv, {
    '--crush': { arity: 1 },
    '--pool-id': { arity: 1 },
    '--pg-num': { arity: 1 },
    '--pgp-num': { arity: 1 },
    '--size': { arity: 1 },
    '--min-size': { arity: 1 },
    '--rule': { arity: 1 },
    '--no-hashpspool': { arity: 0 },
    '--erasure': { arity: 0 },
    '--out': { arity: 1, repeat: true },
    '--object': { arity: 1, repeat: true },
    '--object-hex': { arity: 1, repeat: true },
    '--all-pgs': { arity: 0 },
    '--format': { arity: 1 },
  });
  if (p.positionals.length > 0) throw new UsageError(`unexpected argument '${p.positionals[0]}'`);
  const format = flagString(p, '--format') ?? 'plain';
  if (format !== 'plain' && format !== 'json') throw new UsageError(`unknown format '${format}' (plain or json)`);
  const crush = await loadCrushMap(requireString(p, '--crush'));

  const size = requireInt(p, '--size', 1, 40);
  const pgNum = requireInt(p, '--pg-num', 1, 65536);
  const pool: Pool = {
    id: requireInt(p, '--pool-id', 0, 0x7fffffff),
    name: 'test',
    type: flagBool(p, '--erasure') ? 'erasure' : 'replicated',
    size,
    minSize: flagInt(p, '--min-size', 1, size) ?? Math.min(size, Math.max(1, size - 1)),
    pgNum,
    pgpNum: flagInt(p, '--pgp-num', 1, pgNum) ?? pgNum,
    crushRule: requireInt(p, '--rule', 0),
    hashpspool: !flagBool(p, '--no-hashpspool'),
    objectHash: 'rjenkins',
    ...(flagBool(p, '--erasure') ? { ecProfile: 'default' } : {}),
    snapSeq: 0,
    lastChangeEpoch: 1,
  };
  validatePool(pool);
  if (!crush.rules.has(pool.crushRule)) throw new UsageError(`rule ${pool.crushRule} does not exist in the crush map`);

  const maxOsd = maxDevices(crush);
  const out = new Set<number>();
  for (const [v] of p.flags.get('--out') ?? []) {
    const osd = parseIntStrict(v!, '--out', 0);
    if (osd >= maxOsd) throw new UsageError(`--out: osd.${osd} is not in the crush map (max_devices ${maxOsd})`);
    out.add(osd);
  }
  const map = syntheticMap(crush, maxOsd, out, pool);

  const names: Buffer[] = [];
  for (const [v] of p.flags.get('--object') ?? []) names.push(Buffer.from(v!, 'utf8'));
  for (const [v] of p.flags.get('--object-hex') ?? []) {
    if (!/^([0-9a-fA-F]{2})*$/.test(v!)) throw new UsageError(`--object-hex: '${v}' is not an even-length hex string`);
    names.push(Buffer.from(v!, 'hex'));
  }
  const allPgs = flagBool(p, '--all-pgs');
  if (names.length === 0 && !allPgs) throw new UsageError('nothing to do: give --object NAME, --object-hex HEX or --all-pgs');

  const objects = names.map((bytes) => {
    const pgid = objectToPg(map, pool.id, bytes);
    const m = pgToUpActing(map, pgid);
    return { bytes, raw: objectRawHash(pool, bytes), m };
  });
  const pgs = allPgs ? Array.from({ length: pool.pgNum }, (_, seed) => pgToUpActing(map, { pool: pool.id, seed })) : [];

  if (format === 'json') {
    io.stdout(JSON.stringify({
      objects: objects.map((o) => ({
        name_hex: o.bytes.toString('hex'), raw_hash: o.raw, pgid: formatPgId(o.m.pgid), up: o.m.up, up_primary: o.m.upPrimary, acting: o.m.acting,
      })),
      pgs: pgs.map((m) => ({ pgid: formatPgId(m.pgid), pps: m.pps, raw: m.raw, up: m.up, up_primary: m.upPrimary, acting: m.acting })),
    }) + '\n');
    return 0;
  }
  const lines: string[] = [];
  for (const o of objects) lines.push(` object '${printable(o.bytes)}' -> ${formatPgId(o.m.pgid)} -> ${set(o.m.acting)}`);
  for (const m of pgs) lines.push(pgLine(m));
  io.stdout(lines.join('\n') + '\n');
  return 0;
}

function syntheticMap(crush: OsdMap['crush'], maxOsd: number, out: ReadonlySet<number>, pool: Pool): OsdMap {
  const base = createOsdMap({ fsid: '00000000-0000-0000-0000-000000000000', crush, createdMs: 0 });
  const osds = Array.from({ length: maxOsd }, (_, id) => ({
    ...emptyOsdInfo(), exists: true, up: true, weight: out.has(id) ? 0 : WEIGHT_ONE,
  }));
  return { ...base, maxOsd, osds, pools: new Map([[pool.id, pool]]), poolMax: pool.id };
}

function set(osds: readonly number[]): string {
  return `[${osds.map((o) => (o === CRUSH_ITEM_NONE ? 'NONE' : String(o))).join(',')}]`;
}

function pgLine(m: PgMapping): string {
  const rawPrimary = m.raw.find((o) => o !== CRUSH_ITEM_NONE) ?? -1;
  return `${formatPgId(m.pgid)} raw (${set(m.raw)}, p${rawPrimary}) up (${set(m.up)}, p${m.upPrimary}) acting (${set(m.acting)}, p${m.actingPrimary})`;
}

function printable(bytes: Buffer): string {
  const s = bytes.toString('utf8');
  return Buffer.from(s, 'utf8').equals(bytes) && !/[\u0000-\u001f]/.test(s) ? s : `0x${bytes.toString('hex')}`;
}
