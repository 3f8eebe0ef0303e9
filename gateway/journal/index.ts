/**
 * The gateway's journal, the one entry for everything outside this folder:
 *
 * - journal.ts: the Journal (append before publishing, read, acknowledge, bounds, housekeeping,
 *   on the event loop or, the gateway's, in the background);
 * - seal.ts: sealing a full segment (deflated copy, index, raw file removed, in that order);
 * - format.ts: the record it keeps and its on-disk format (segments of CRC-checked frames);
 * - store.ts: opening a journal folder (its state file and segments, torn frames cut off);
 * - replay.ts: publishing again, as historical, what is unacknowledged after each birth;
 * - link.ts: the journal as the edge node uses it (opened from the config, acknowledged by the
 *   hub's NCMD or by the broker, its figures as the Journal/* node metrics).
 *
 * The journal depends on the protocol and the gateway's config and clock, never on the sampler
 * or the northbound side: those hand it records of its own type (README "Nothing lost").
 */
export type { JournalRecord } from './format.js';
export {
  Journal,
  type JournalCounters,
  type JournalIo,
  type JournalOptions,
  type WhenFull,
} from './journal.js';
export {
  type JournalFigures,
  JournalLink,
  type JournalLinkOptions,
  type JournalPublisher,
  journalMetricValues,
} from './link.js';
export { Replayer, type ReplayOptions, type ReplayOutcome, type ReplayTarget } from './replay.js';
