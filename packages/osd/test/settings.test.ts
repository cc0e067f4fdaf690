/** The OSD daemon's flag/conf resolution (daemon-settings.ts): sizes, booleans, errors. */
import t from 'tap';
import { parseSizeBytes, resolveSettings } from '@nacre/osd/daemon-settings';

const base = ['--id', '3', '--mon', '127.0.0.1:1', '--keyring', '/k', '--data', '/d', '--host', 'h1'];

t.test('block size and preallocation', async (t) => {
  const s = resolveSettings(base, {});
  t.equal(s.blockSizeBytes, 2 * 1024 ** 3, 'default 2 GiB');
  t.equal(s.blockPreallocate, false, 'sparse by default');
  const p = resolveSettings([...base, '--block-size', '512MiB', '--block-preallocate', 'true'], {});
  t.equal(p.blockSizeBytes, 512 * 1024 ** 2);
  t.equal(p.blockPreallocate, true);
  t.throws(() => resolveSettings([...base, '--block-preallocate', 'yes'], {}), /block_preallocate must be true or false, got 'yes'/);
  t.throws(() => resolveSettings([...base, '--block-size', 'lots'], {}), /bad size 'lots'/);
  t.equal(parseSizeBytes('1.5k'), 1536);
});

t.test('flag errors name the flag', async (t) => {
  t.throws(() => resolveSettings([...base, '--nope', '1'], {}), /unknown option --nope/);
  t.throws(() => resolveSettings([...base, '--host', 'h2'], {}), /--host given more than once/);
  t.throws(() => resolveSettings(['--id', '3', '--mon', '127.0.0.1:1', '--keyring', '/k', '--data', '/d'], {}), /CRUSH host not set/);
});
