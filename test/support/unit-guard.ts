/**
 * Setup file of `npm run test:unit` (vitest.unit.config.ts): a test in the unit list that opens
 * a network listener or starts a child process fails at once, naming the fix, so the list
 * cannot drift into needing servers. Outgoing connections are left alone (a unit test may check
 * that a refused connection is reported).
 */
import { ChildProcess } from 'node:child_process';
import { Server } from 'node:net';

const fix = 'move the test out of the unit list in vitest.unit.config.ts (npm test still runs it)';

Server.prototype.listen = function refuseListen(): never {
  throw new Error(`a unit test opened a network listener; ${fix}`);
};
// spawn, execFile and fork all go through ChildProcess#spawn (not in Node's typings).
Object.defineProperty(ChildProcess.prototype, 'spawn', {
  value: function refuseSpawn(): never {
    throw new Error(`a unit test started a child process; ${fix}`);
  },
});
