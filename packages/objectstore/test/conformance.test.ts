/** The ObjectStore conformance suite against both stores. */
import t from 'tap';
import { runConformanceSuite } from './objectstore-suite.js';
import { blockStoreFactory, memStoreFactory } from './helpers.js';

for (const factory of [memStoreFactory, blockStoreFactory]) {
  t.test(factory.name, async (t) => {
    runConformanceSuite(t, factory);
  });
}
