/** The messenger compliance suite over the in-process MemoryNetwork (what simulations use). */
import t from 'tap';
import { realTimers } from '@nacre/util';
import { MemoryNetwork } from '@nacre/msgr';
import { messengerSuite } from './messenger-suite.js';

messengerSuite(t, () => {
  const net = new MemoryNetwork({ timers: realTimers });
  return { transport: () => net.transport(), listen: 'mon-a:0' };
});
