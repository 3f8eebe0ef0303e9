/** Small helpers shared by the gateway tests: the one definitions live in test/support/. */
export { silentLogger as testLogger } from '../support/temp.js';
export { sleep, waitFor } from '../support/wait.js';
