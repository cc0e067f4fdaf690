/**
 * The tcp transport's Link contract without a messenger: whole frames in order both ways, big
 * ones included; close(code, reason) delivers what was sent first and both ends report the code;
 * terminate() reports 1006; a listener that is not who we dialled cannot make us allocate a big
 * frame before handlers are set.
 */
import t, { type Test } from 'tap';
import { createServer, type Socket } from 'node:net';
import { TcpTransport, type Link, type LinkCloseInfo, type ListenOptions } from '@nacre/msgr';
import { waitFor } from './helpers.js';
import { banner, recordHeader } from './tcp-raw-peer.js';

interface Seen {
  frames: Buffer[];
  errors: string[];
  closed: LinkCloseInfo | null;
}

function watch(link: Link): Seen {
  const seen: Seen = { frames: [], errors: [], closed: null };
  link.setHandlers({
    onFrame: (data) => seen.frames.push(data),
    onError: (err) => seen.errors.push(err.message),
    onClose: (info) => {
      if (seen.closed !== null) throw new Error('onClose called twice');
      seen.closed = info;
    },
  });
  return seen;
}

const frameBytesMax = 8 * 1024 * 1024;
const dialOpts = { frameBytesMax, closeGraceMs: 500, connectTimeoutMs: 2000 };

async function pair(t: Test): Promise<{ client: Link; server: Link; clientSeen: Seen; serverSeen: Seen; transport: TcpTransport }> {
  const transport = new TcpTransport();
  let serverLink: Link | null = null;
  let serverSeen: Seen | null = null;
  const opts: ListenOptions = {
    frameBytesMax, closeGraceMs: 500, connectionsMax: 4,
    onError: (err) => t.fail(err.message),
    admit: () => true,
    onLink: (link) => {
      serverLink = link;
      serverSeen = watch(link);
    },
  };
  const listener = await transport.listen({ host: '127.0.0.1', port: 0 }, opts);
  t.teardown(() => listener.close());
  const client = await transport.dial(listener.address, dialOpts);
  const clientSeen = watch(client);
  await waitFor(() => serverLink !== null, 'server link');
  return { client, server: serverLink!, clientSeen, serverSeen: serverSeen!, transport };
}

t.test('frames both ways, in order, any size up to the limit', async (t) => {
  const p = await pair(t);
  const sizes = [0, 1, 100, 4096, 70_000, 5 * 1024 * 1024, 3];
  const sent = sizes.map((n, i) => Buffer.alloc(n, i + 1));
  let flushed = 0;
  p.client.cork?.();
  for (const b of sent) p.client.send(b, (err) => { if (!err) flushed++; });
  p.client.uncork?.();
  await waitFor(() => p.serverSeen.frames.length === sent.length, 'frames at the server');
  t.same(p.serverSeen.frames.map((b) => b.length), sizes, 'sizes in order');
  t.ok(p.serverSeen.frames.every((b, i) => b.equals(sent[i]!)), 'bytes intact');
  await waitFor(() => flushed === sent.length, 'every send flushed');
  for (const b of sent) p.server.send(b, () => {});
  await waitFor(() => p.clientSeen.frames.length === sent.length, 'frames at the client');
  t.ok(p.clientSeen.frames.every((b, i) => b.equals(sent[i]!)), 'and back');
  t.equal(p.client.bufferedBytes(), 0, 'nothing left unsent');
  t.same([p.clientSeen.errors, p.serverSeen.errors], [[], []], 'no errors');
  p.client.terminate();
  await waitFor(() => p.serverSeen.closed !== null && p.clientSeen.closed !== null, 'both closed');
  t.equal(p.clientSeen.closed!.code, 1006, 'terminate: 1006 here');
  t.equal(p.serverSeen.closed!.code, 1006, 'and at the peer');
});

t.test('close(code, reason): frames sent before it arrive first; both ends report the code', async (t) => {
  const p = await pair(t);
  const big = Buffer.alloc(2 * 1024 * 1024, 9);
  p.client.send(big, () => {});
  p.client.send(Buffer.from('last'), () => {});
  p.client.close(4001, 'done here');
  let lateError: Error | null | undefined;
  p.client.send(Buffer.from('too late'), (err) => (lateError = err));
  await waitFor(() => p.serverSeen.closed !== null && p.clientSeen.closed !== null, 'both closed');
  t.same(p.serverSeen.frames.map((b) => b.length), [big.length, 4], 'what was sent before close() arrived, nothing after');
  t.same(p.serverSeen.closed, { code: 4001, reason: 'done here' }, 'the peer sees our code and reason');
  t.same(p.clientSeen.closed, { code: 4001, reason: 'done here' }, 'we see its echo');
  t.match(lateError?.message, /not open/, 'a send after close() fails');
  t.equal(p.transport.stats().sockets, 0, 'no socket left');
});

t.test('a listener that is not who we dialled: no big allocation before handlers are set', async (t) => {
  const transport = new TcpTransport();
  const server = createServer((sock: Socket) => {
    sock.on('error', () => {});
    sock.resume(); // read (and drop) what the dialler sends, so its FIN is seen and the socket closes
    // One write: banner and header arrive in one read, before the dialler's handlers exist.
    sock.write(Buffer.concat([banner, recordHeader(1, 6 * 1024 * 1024)]));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const link = await transport.dial({ host: '127.0.0.1', port: (server.address() as { port: number }).port }, dialOpts);
  const seen = watch(link);
  await waitFor(() => seen.closed !== null, 'link closed');
  t.match(seen.errors, [/frame of 6291456 bytes exceeds frameBytesMax=4096/], 'refused from its header');
  t.equal(transport.stats().frameAllocations, 0, 'nothing allocated for it');
});
