/** ms_transport: which transport nacre.conf selects, with Ceph-style section fallback. */
import t from 'tap';
import { ClusterConf, TcpTransport, WsTransport, parseTransportName, transportFromConf, transportNameOf } from '@nacre/msgr';

t.test('names', async (t) => {
  t.equal(parseTransportName('tcp'), 'tcp');
  t.equal(parseTransportName(' WS '), 'ws');
  t.throws(() => parseTransportName('quic', 'nacre.conf: ms_transport'), { code: 'EINVAL', message: "nacre.conf: ms_transport: unknown transport 'quic' (expected ws or tcp)" });
});

t.test('lookup: [entity] → [type] → [global], default ws', async (t) => {
  const conf = ClusterConf.parse('[global]\nms_transport = tcp\n[osd.3]\nms transport = ws\n', 'test.conf');
  t.equal(transportNameOf(conf, 'mon.a'), 'tcp', 'global');
  t.equal(transportNameOf(conf, 'osd.3'), 'ws', 'daemon section wins (key normalised)');
  t.equal(transportNameOf(ClusterConf.parse('[global]\nfsid = x\n'), 'client.admin'), 'ws', 'no key: ws');
  t.equal(transportNameOf(null, 'client.admin'), 'ws', 'no config: ws');
  t.ok(transportFromConf(conf, 'mon.a') instanceof TcpTransport);
  t.ok(transportFromConf(conf, 'osd.3') instanceof WsTransport);
  t.throws(() => transportNameOf(ClusterConf.parse('[global]\nms_transport = udp\n', 'x.conf'), 'mon.a'), { code: 'EINVAL', message: /x\.conf: ms_transport: unknown transport 'udp'/ });
});
