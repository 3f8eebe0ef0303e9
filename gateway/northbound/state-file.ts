/**
 * The edge node's small persistent state: the bdSeq the next MQTT session will use, so a
 * restarted gateway does not reuse the bdSeq of the session before it.
 */
import { mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { GATEWAY_ERROR_CODES, GatewayError } from '../errors.js';

export const STATE_FILE_NAME = 'edge-node.json';

interface StateFileContent {
  readonly nextBdSeq: number;
}

export class StateFile {
  readonly path: string;
  readonly #dir: string;

  constructor(dir: string) {
    this.#dir = dir;
    this.path = join(dir, STATE_FILE_NAME);
  }

  /** The stored next bdSeq; undefined when there is no (usable) file yet. */
  async loadNextBdSeq(): Promise<number | undefined> {
    let text: string;
    try {
      text = await readFile(this.path, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new GatewayError(GATEWAY_ERROR_CODES.stateFile, `cannot read ${this.path}`, {}, { cause: err });
    }
    try {
      const v = (JSON.parse(text) as Partial<StateFileContent>).nextBdSeq;
      return typeof v === 'number' && Number.isInteger(v) && v >= 0 && v <= 255 ? v : undefined;
    } catch {
      return undefined;
    }
  }

  async saveNextBdSeq(nextBdSeq: number): Promise<void> {
    const content: StateFileContent = { nextBdSeq };
    const tmp = `${this.path}.tmp`;
    try {
      await mkdir(this.#dir, { recursive: true, mode: 0o700 });
      await writeFile(tmp, `${JSON.stringify(content)}\n`, { mode: 0o600 });
      await rename(tmp, this.path);
    } catch (err) {
      throw new GatewayError(GATEWAY_ERROR_CODES.stateFile, `cannot write ${this.path}`, {}, { cause: err });
    }
  }
}
