/**
 * Where a DCMD's write goes (northbound/commands.ts parses it): to the driver of the
 * machine's connection, for a tag the config marks `writable: true`. Everything refused here
 * never reaches the device.
 */
import type { MachineConfig } from './config/schema.js';
import { CommandRefusedError, type TagWrite } from './northbound/commands.js';
import type { Driver } from './southbound/types.js';

/** Writes through the driver; rejects with CommandRefusedError, or the driver's own error. */
export async function writeToMachine(
  machines: readonly MachineConfig[],
  drivers: ReadonlyMap<string, Driver>,
  w: TagWrite,
): Promise<void> {
  const machine = machines.find((m) => m.id === w.device);
  if (machine === undefined) throw new CommandRefusedError(`unknown device "${w.device}"`);
  const driver = drivers.get(machine.connection);
  if (driver === undefined) {
    throw new CommandRefusedError(`connection ${machine.connection} of ${w.device} is not running`);
  }
  if (driver.write === undefined) {
    throw new CommandRefusedError(
      `driver cannot write: connection ${machine.connection} of ${w.device} does not support writes`,
    );
  }
  const tag = machine.tags.find((t) => t.name === w.tag);
  if (tag === undefined) throw new CommandRefusedError(`unknown metric: ${w.device} has no tag "${w.tag}"`);
  if (!('writable' in tag) || tag.writable !== true) {
    throw new CommandRefusedError(
      `not writable: tag ${w.tag} of ${w.device} is read-only; set writable: true on it to allow writes`,
    );
  }
  await driver.write(machine.id, w.tag, w.value);
}
