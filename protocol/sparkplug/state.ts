/** The primary host's STATE message (Sparkplug 3.0: JSON, QoS 1, retained). */

export interface HostState {
  readonly online: boolean;
  /** Milliseconds since the epoch; an edge node ignores a STATE older than the last it saw. */
  readonly timestamp: number;
}

export function encodeHostState(s: HostState): Buffer {
  return Buffer.from(JSON.stringify({ online: s.online, timestamp: s.timestamp }));
}

/** Parses a STATE payload; undefined when it is not one (the caller counts and drops it). */
export function decodeHostState(buf: Uint8Array): HostState | undefined {
  let v: unknown;
  try {
    v = JSON.parse(Buffer.from(buf).toString('utf8'));
  } catch {
    return undefined;
  }
  if (typeof v !== 'object' || v === null) return undefined;
  const { online, timestamp } = v as Record<string, unknown>;
  if (typeof online !== 'boolean' || typeof timestamp !== 'number' || !Number.isFinite(timestamp)) {
    return undefined;
  }
  return { online, timestamp };
}
