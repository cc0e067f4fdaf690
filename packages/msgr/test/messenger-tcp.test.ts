/** The messenger compliance suite over the TCP transport on 127.0.0.1. */
import t from 'tap';
import { TcpTransport } from '@nacre/msgr';
import { messengerSuite } from './messenger-suite.js';

messengerSuite(t, () => ({ transport: () => new TcpTransport(), listen: '127.0.0.1:0' }));
