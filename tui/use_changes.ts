/**
 * The changes the dashboard's keys make to the selected real server (drain,
 * enable, weight ±1), the note they leave in the footer, and the weights
 * sent but not yet seen in a status document (shown at once, so `+ + +`
 * counts from what is on screen).
 * @module
 */

import { useEffect, useRef, useState } from "react";
import type { RipStatus, VipStatus } from "../control/status.ts";
import { hostPort } from "../dataplane/ip.ts";
import { ripKey } from "./rates.ts";
import type { RipPatch, StatusSource } from "./source.ts";

/** What a key asks for. */
export type Change = "drain" | "enable" | "weight+" | "weight-";

/** A line for the footer; `alert` when the daemon refused. */
export interface Note {
  text: string;
  alert: boolean;
}

const MAX_WEIGHT = 65535;
const NOTE_MS = 5000;

interface Pending {
  weight: number;
  inflight: number;
  /** Documents received since its last answer. */
  seen: number;
}

/**
 * @param refresh polls at once (called after each accepted change)
 * @param received documents received so far (a sent weight is forgotten two documents after its answer)
 */
export function useChanges(source: StatusSource, refresh: () => void, received: number) {
  const [note, setNote] = useState<Note | null>(null);
  const pending = useRef(new Map<string, Pending>());

  useEffect(() => {
    if (!note) return;
    const timer = setTimeout(() => setNote(null), NOTE_MS);
    return () => clearTimeout(timer);
  }, [note]);

  useEffect(() => {
    for (const [key, p] of pending.current) {
      if (p.inflight === 0 && ++p.seen >= 2) pending.current.delete(key);
    }
  }, [received]);

  /** Sends `change` for real server `rip` of `vip`. */
  const change = (vip: VipStatus, rip: RipStatus, what: Change): void => {
    const key = ripKey(vip, rip.ip);
    let patch: RipPatch;
    let done: string;
    if (what === "drain" || what === "enable") {
      patch = { drain: what === "drain" };
      done = what === "drain" ? "draining" : "enabled";
    } else {
      const p = pending.current.get(key);
      const before = p?.weight ?? rip.weight;
      const weight = Math.min(MAX_WEIGHT, Math.max(0, before + (what === "weight+" ? 1 : -1)));
      if (weight === before) {
        return setNote({ text: `${rip.ip}: weight is already ${before}`, alert: false });
      }
      pending.current.set(key, { weight, inflight: (p?.inflight ?? 0) + 1, seen: 0 });
      patch = { weight };
      done = `weight ${weight}`;
    }
    const answered = () => {
      const p = pending.current.get(key);
      if (p) Object.assign(p, { inflight: p.inflight - 1, seen: 0 });
    };
    const ref = { vip: vip.vip, port: vip.port, proto: vip.proto, ip: rip.ip };
    source.patchRip(ref, patch).then(() => {
      answered();
      setNote({
        text: `${rip.ip} on ${hostPort(vip.vip, vip.port)}/${vip.proto}: ${done}`,
        alert: false,
      });
      refresh();
    }, (error: Error) => {
      pending.current.delete(key);
      setNote({ text: `${rip.ip}: ${error.message}`, alert: true });
    });
  };

  /** The weight to show for a real server: one sent and not yet confirmed, or none. */
  const sentWeight = (key: string): number | undefined => pending.current.get(key)?.weight;

  return { change, note, sentWeight };
}
