/**
 * `nacre rados` — object access like Ceph's `rados` tool, through the client library.
 *
 *   nacre rados -p POOL put NAME FILE|-        store FILE (or stdin) as object NAME
 *   nacre rados -p POOL get NAME FILE|-        write object NAME to FILE (or stdout)
 *   nacre rados -p POOL ls [--all]             object names, one per line (--all: every namespace)
 *   nacre rados -p POOL stat NAME              POOL/NAME mtime …, size N
 *   nacre rados -p POOL rm NAME…
 *   nacre rados -p POOL bench SECONDS write|seq|rand [-b BYTES] [-t CONCURRENCY] [--no-cleanup] [--run-name NAME]
 *   nacre rados -p POOL cleanup [--run-name NAME]   remove what `bench write --no-cleanup` left
 *
 * Common: --conf FILE, --name/-n NAME, --keyring/-k FILE, --timeout SECONDS, --format json,
 * -N/--namespace NS. Exit 2 for bad input (usage, bad name), 1 when the operation fails.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { checkObjectName, type Cluster, type IoCtx } from '@nacre/client';
import { NacreError } from '@nacre/util';
import { UsageError, flagBool, flagString, parseArgs, parseIntStrict, type ParsedArgs } from '../args.js';
import { clientFlagSpec, withCluster } from '../client-connect.js';
import type { Command, CommandIo } from '../main.js';
import { cleanupBench, runBench, type BenchMode } from './rados-bench.js';

const usage = `usage: nacre rados -p POOL put NAME FILE|-
       nacre rados -p POOL get NAME FILE|-
       nacre rados -p POOL ls [--all]
       nacre rados -p POOL stat NAME
       nacre rados -p POOL rm NAME...
       nacre rados -p POOL bench SECONDS write|seq|rand [-b BYTES] [-t CONCURRENCY] [--no-cleanup] [--run-name NAME]
       nacre rados -p POOL cleanup [--run-name NAME]
options: --conf FILE  --name/-n NAME  --keyring/-k FILE  --timeout SECONDS  --format json  --namespace/-N NS`;

const flagSpec = {
  ...clientFlagSpec,
  '--pool': { arity: 1 as const, aliases: ['-p'] },
  '--namespace': { arity: 1 as const, aliases: ['-N'] },
  '--format': { arity: 1 as const },
  '--block-size': { arity: 1 as const, aliases: ['-b'] },
  '--concurrent-ios': { arity: 1 as const, aliases: ['-t'] },
  '--no-cleanup': { arity: 0 as const },
  '--run-name': { arity: 1 as const },
  '--all': { arity: 0 as const },
  '--help': { arity: 0 as const, aliases: ['-h'] },
};

/** Largest --concurrent-ios: beyond it the client's window queues anyway. */
const benchConcurrencyMax = 1024;
/** Largest --block-size: what one op may carry (client opBytesMax default). */
const benchBlockBytesMax = 32 * 1024 * 1024;
const benchBlockBytesDefault = 4 * 1024 * 1024;
const benchConcurrencyDefault = 16;
const runNameDefault = 'benchmark_last_metadata';
/** A put larger than one op goes in pieces of this size (write_full, then writes). */
const putChunkBytes = 4 * 1024 * 1024;

const rados: Command = async (argv, io) => {
  const p = parseArgs(argv, flagSpec);
  const [sub, ...args] = p.positionals;
  if (flagBool(p, '--help') || sub === 'help') {
    io.stdout(usage + '\n');
    return 0;
  }
  if (sub === undefined) {
    io.stderr(usage + '\n');
    return 2;
  }
  const format = flagString(p, '--format') ?? 'plain';
  if (format !== 'plain' && format !== 'json') throw new UsageError(`--format must be json or plain, got '${format}'`);
  const poolName = flagString(p, '--pool');
  const needPool = (): string => {
    if (poolName === undefined) throw new UsageError(`rados ${sub}: missing -p POOL`);
    return poolName;
  };
  switch (sub) {
    case 'put': {
      const [name, file] = exactly(args, 2, 'put NAME FILE|-');
      checkName(name);
      const data = file === '-' ? await readStdin() : await readInput(file);
      return withPool(p, needPool(), async (ioctx, cluster) => {
        await put(ioctx, cluster, name, data);
        return 0;
      });
    }
    case 'get': {
      const [name, file] = exactly(args, 2, 'get NAME FILE|-');
      checkName(name);
      return withPool(p, needPool(), async (ioctx) => {
        const data = await ioctx.read(name);
        if (file === '-') await writeStdout(data);
        else await writeFile(file, data);
        return 0;
      });
    }
    case 'ls':
      exactly(args, 0, 'ls');
      return withPool(p, needPool(), (ioctx) => ls(ioctx, flagBool(p, '--all'), format === 'json', io));
    case 'stat': {
      const [name] = exactly(args, 1, 'stat NAME');
      checkName(name);
      return withPool(p, needPool(), async (ioctx) => {
        const st = await ioctx.stat(name);
        const mtime = new Date(st.mtimeMs).toISOString();
        if (format === 'json') io.stdout(JSON.stringify({ pool: ioctx.poolName, name, size: st.sizeBytes, mtime, version: st.version }) + '\n');
        else io.stdout(`${ioctx.poolName}/${name} mtime ${mtime}, size ${st.sizeBytes}\n`);
        return 0;
      });
    }
    case 'rm': {
      if (args.length === 0) throw new UsageError('rados rm: give at least one object name');
      for (const name of args) checkName(name);
      return withPool(p, needPool(), async (ioctx) => {
        for (const name of args) await ioctx.remove(name);
        return 0;
      });
    }
    case 'bench':
      return bench(p, args, needPool(), format === 'json', io);
    case 'cleanup':
      exactly(args, 0, 'cleanup');
      return withPool(p, needPool(), (ioctx) => cleanupBench(ioctx, flagString(p, '--run-name') ?? runNameDefault, benchConcurrencyDefault, io));
    default:
      throw new UsageError(`unknown rados subcommand '${sub}'\n${usage}`);
  }
};
export default rados;

function exactly(args: string[], count: number, form: string): string[] {
  if (args.length !== count) throw new UsageError(`usage: nacre rados -p POOL ${form}`);
  return args;
}

/** A bad object name is bad input (exit 2), found before connecting. */
function checkName(name: string): void {
  try {
    checkObjectName(name);
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
}

async function withPool(p: ParsedArgs, poolName: string, fn: (ioctx: IoCtx, cluster: Cluster) => Promise<number>, client: { opsInFlightMax?: number } = {}): Promise<number> {
  return withCluster(p, async (cluster) => {
    const ioctx = await cluster.pool(poolName);
    const ns = flagString(p, '--namespace');
    if (ns !== undefined) ioctx.setNamespace(ns);
    return fn(ioctx, cluster);
  }, client);
}

async function put(ioctx: IoCtx, cluster: Cluster, name: string, data: Buffer): Promise<void> {
  if (data.length > cluster.options.objectBytesMax) {
    throw new NacreError(`input of ${data.length} bytes is larger than the object size limit of ${cluster.options.objectBytesMax} bytes`, { code: 'EFBIG' });
  }
  if (data.length <= cluster.options.opBytesMax) {
    await ioctx.writeFull(name, data);
    return;
  }
  await ioctx.writeFull(name, data.subarray(0, putChunkBytes));
  for (let off = putChunkBytes; off < data.length; off += putChunkBytes) {
    await ioctx.write(name, data.subarray(off, Math.min(data.length, off + putChunkBytes)), off);
  }
}

async function ls(ioctx: IoCtx, all: boolean, json: boolean, io: CommandIo): Promise<number> {
  if (json) {
    const out: { name: string; namespace?: string }[] = [];
    for await (const o of ioctx.listObjects({ allNamespaces: all })) out.push({ name: o.name, ...(o.namespace ? { namespace: o.namespace } : {}) });
    io.stdout(JSON.stringify(out) + '\n');
    return 0;
  }
  for await (const o of ioctx.listObjects({ allNamespaces: all })) io.stdout(all && o.namespace ? `${o.namespace}\t${o.name}\n` : `${o.name}\n`);
  return 0;
}

async function bench(p: ParsedArgs, args: string[], poolName: string, json: boolean, io: CommandIo): Promise<number> {
  if (args.length !== 2) throw new UsageError('usage: nacre rados -p POOL bench SECONDS write|seq|rand [-b BYTES] [-t CONCURRENCY] [--no-cleanup]');
  const seconds = parseIntStrict(args[0]!, 'bench SECONDS', 1, 24 * 3600);
  const mode = args[1]!;
  if (mode !== 'write' && mode !== 'seq' && mode !== 'rand') throw new UsageError(`bench mode must be write, seq or rand, got '${mode}'`);
  const b = flagString(p, '--block-size');
  const blockBytes = b === undefined ? benchBlockBytesDefault : parseBytes(b, '-b');
  if (blockBytes < 1 || blockBytes > benchBlockBytesMax) throw new UsageError(`-b must be 1..${benchBlockBytesMax} bytes, got ${blockBytes}`);
  const t = flagString(p, '--concurrent-ios');
  const concurrency = t === undefined ? benchConcurrencyDefault : parseIntStrict(t, '-t', 1, benchConcurrencyMax);
  const cfg = {
    seconds, mode: mode as BenchMode, blockBytes, concurrency, json,
    cleanup: !flagBool(p, '--no-cleanup'), runName: flagString(p, '--run-name') ?? runNameDefault,
  };
  return withPool(p, poolName, (ioctx) => runBench(ioctx, cfg, io), { opsInFlightMax: Math.max(concurrency, 1) });
}

/** `4096`, `4K`, `4M`, `1G` (powers of 1024, as rados -b takes them). */
export function parseBytes(text: string, what: string): number {
  const m = /^(\d+)([KMG]i?B?|B)?$/i.exec(text);
  if (m === null) throw new UsageError(`${what} must be a size like 4096, 4K or 4M, got '${text}'`);
  const scale: Record<string, number> = { K: 1024, M: 1024 ** 2, G: 1024 ** 3, B: 1 };
  const n = Number(m[1]) * (m[2] === undefined ? 1 : scale[m[2][0]!.toUpperCase()]!);
  if (!Number.isSafeInteger(n)) throw new UsageError(`${what} too large`);
  return n;
}

async function readInput(file: string): Promise<Buffer> {
  try {
    return await readFile(file);
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    const why = e.code === 'ENOENT' ? 'no such file' : e.code === 'EACCES' ? 'permission denied' : e.code === 'EISDIR' ? 'is a directory' : e.message;
    throw new NacreError(`cannot read ${file}: ${why}`, { code: e.code === 'ENOENT' ? 'ENOENT' : 'EIO' });
  }
}

/** Bytes of stdin read at most (the object size limit, plus one to notice a bigger input). */
const stdinBytesMax = 128 * 1024 * 1024 + 1;

async function readStdin(): Promise<Buffer> {
  const parts: Buffer[] = [];
  let total = 0;
  for await (const chunk of process.stdin) {
    const b = chunk as Buffer;
    total += b.length;
    if (total > stdinBytesMax) throw new NacreError(`stdin is larger than the object size limit`, { code: 'EFBIG' });
    parts.push(b);
  }
  return Buffer.concat(parts);
}

function writeStdout(data: Buffer): Promise<void> {
  return new Promise((resolve, reject) => process.stdout.write(data, (err) => (err ? reject(err) : resolve())));
}
