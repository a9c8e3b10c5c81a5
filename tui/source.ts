/**
 * Where the dashboard gets its data and sends its changes: the daemon's
 * socket in `dsr top`, a recorded sequence in tests.
 * @module
 */

import type { Status } from "../control/status.ts";

/** A real server of a VIP, as the socket API addresses it. */
export interface RipRef {
  vip: string;
  port: number;
  proto: string;
  ip: string;
}

/** The fields of a real server the dashboard changes (`PATCH …/rips/{ip}`). */
export interface RipPatch {
  drain?: boolean;
  weight?: number;
}

/** The dashboard's data source. */
export interface StatusSource {
  /** Where the data comes from, for messages (the socket path). */
  readonly label: string;
  /**
   * The current status document.
   * @throws {Error} whose message says why the daemon cannot be reached
   */
  status(): Promise<Status>;
  /**
   * Changes a real server.
   * @throws {Error} whose message says why the change was refused
   */
  patchRip(ref: RipRef, patch: RipPatch): Promise<void>;
}
