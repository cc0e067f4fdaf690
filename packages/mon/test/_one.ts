import { runChaos, PaxosSim } from '@nacre/mon';
const s = JSON.parse(process.argv[2]!);
const orig = PaxosSim.prototype.startAll;
const T0 = Number(process.env.T0 ?? 0);
PaxosSim.prototype.startAll = function (this: PaxosSim) {
  this.onEffect = (r, e, t) => {
    if (t < T0 || e.kind === 'log' && !process.env.LOGS) return;
    if (e.kind === 'setTimer' || e.kind === 'cancelTimer') { if (process.env.TIMERS) console.log(t.toFixed(1), r, e.kind, e.timer); return; }
    console.log(t.toFixed(1), r, e.kind, JSON.stringify(e.kind === 'send' ? { to: e.to, ...e.message, value: undefined, sync: undefined } : e.kind === 'persist' ? e.writes.map(w => w.key + '=' + (w.op === 'put' ? (w.value instanceof Uint8Array ? 'bytes' : JSON.stringify(w.value)) : 'del')) : e.kind === 'committed' ? e.version : e));
  };
  orig.call(this);
};
try { console.log(runChaos(s)); } catch (e) { console.log((e as Error).message); }
