/**
 * A second process on a test's SQLite file, so that claims meet over two connections: it opens
 * the file given as the first argument, prints `ready`, waits for a line on stdin, then claims with
 * one claimer per remaining argument (an owner) at once until nothing is PENDING, prints what each
 * got as one JSON line and exits. Run with `node --import tsx`.
 */
import { once } from 'node:events';
import { createLogger } from '../../src/logger.js';
import { openSqlite } from '../../src/store/connect.js';
import { claimUntilNone } from './store-fixture.js';

const [file, ...owners] = process.argv.slice(2);
if (!file || owners.length === 0) throw new Error('usage: sqlite-claimer.ts FILE OWNER...');
const { store } = await openSqlite(
  file,
  createLogger('error', () => {}),
);
process.stdout.write('ready\n');
await once(process.stdin, 'data');
const claimed = (await Promise.all(owners.map((owner) => claimUntilNone(store, owner)))).flat();
await store.close();
process.stdout.write(`${JSON.stringify(claimed)}\n`);
