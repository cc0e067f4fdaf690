/** The messenger compliance suite over real WebSockets on 127.0.0.1. */
import t from 'tap';
import { WsTransport } from '@nacre/msgr';
import { messengerSuite } from './messenger-suite.js';

messengerSuite(t, () => ({ transport: () => new WsTransport(), listen: '127.0.0.1:0' }));
