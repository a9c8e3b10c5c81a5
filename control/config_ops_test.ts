import assert from "node:assert/strict";
import { type Config, ConfigError, parseConfig } from "./config.ts";
import {
  addRip,
  addVip,
  delRip,
  delVip,
  type ServiceRef,
  setRip,
  setTimeouts,
  setVip,
} from "./config_ops.ts";
import { UsageError, type UsageKind } from "./errors.ts";

const WEB: ServiceRef = { vip: "198.18.0.100", port: 80, proto: "tcp" };
const DNS: ServiceRef = { vip: "198.18.0.100", port: 53, proto: "udp" };
const NOWHERE: ServiceRef = { vip: "198.18.0.100", port: 81, proto: "tcp" };

const base = (): Config =>
  parseConfig({
    version: 1,
    vips: [
      { ...WEB, rips: [{ ip: "198.18.0.11" }, { ip: "198.18.0.12", weight: 2 }] },
      { ...DNS, scheduler: "sh" },
    ],
  });

/** Runs `op` on a base config and checks the config it was given is unchanged. */
function untouched<T>(op: (config: Config) => T): T {
  const config = base();
  const before = structuredClone(config);
  try {
    return op(config);
  } finally {
    assert.deepEqual(config, before, "the input configuration was mutated");
  }
}

function assertUsage(fn: () => unknown, kind: UsageKind, message: string): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${error}`);
    assert.equal(error.kind, kind);
    assert.equal(error.exitCode, 2);
    assert.equal(error.message, message);
    return true;
  });
}

const find = (c: Config, ref: ServiceRef) =>
  c.vips.find((v) => v.vip === ref.vip && v.port === ref.port && v.proto === ref.proto);

Deno.test("addVip appends a service with defaults and no real servers", () => {
  const next = untouched((c) => addVip(c, { vip: "198.18.0.101", port: 443, proto: "tcp" }));
  assert.equal(next.vips.length, 3);
  assert.deepEqual(next.vips[2], {
    vip: "198.18.0.101",
    port: 443,
    proto: "tcp",
    scheduler: "mh",
    persist: 0,
    fallback: null,
    need: 1,
    check: null,
    rips: [],
  });
});

Deno.test("addVip takes the given fields", () => {
  const next = untouched((c) =>
    addVip(c, { ...NOWHERE, scheduler: "wlc", persist: 60, fallback: "198.18.0.50" })
  );
  const added = find(next, NOWHERE)!;
  assert.deepEqual(
    [added.scheduler, added.persist, added.fallback],
    ["wlc", 60, "198.18.0.50"],
  );
});

Deno.test("addVip allows the same address and port on the other protocol", () => {
  const next = untouched((c) => addVip(c, { ...WEB, proto: "udp" }));
  assert.ok(find(next, { ...WEB, proto: "udp" }));
});

Deno.test("addVip of an existing service is a conflict naming it", () => {
  untouched((c) =>
    assertUsage(
      () => addVip(c, { ...WEB }),
      "conflict",
      "virtual service 198.18.0.100:80/tcp already exists",
    )
  );
});

Deno.test("setVip changes the named fields and keeps the real servers", () => {
  const next = untouched((c) => setVip(c, WEB, { scheduler: "rr", persist: 30 }));
  const web = find(next, WEB)!;
  assert.equal(web.scheduler, "rr");
  assert.equal(web.persist, 30);
  assert.deepEqual(web.rips, find(base(), WEB)!.rips);
  assert.deepEqual(find(next, DNS), find(base(), DNS), "other services unchanged");
});

Deno.test("setVip changes need alone, and a document without need reads as need 1", () => {
  const next = untouched((c) => setVip(c, WEB, { need: 2 }));
  assert.equal(find(next, WEB)!.need, 2);
  assert.equal(find(next, DNS)!.need, 1);
});

Deno.test("setVip of a missing service names it", () => {
  untouched((c) =>
    assertUsage(
      () => setVip(c, NOWHERE, { persist: 1 }),
      "missing",
      "virtual service 198.18.0.100:81/tcp does not exist",
    )
  );
});

Deno.test("delVip removes the service and its real servers", () => {
  const next = untouched((c) => delVip(c, WEB));
  assert.deepEqual(next.vips.map((v) => v.port), [53]);
});

Deno.test("delVip of a missing service names it", () => {
  untouched((c) =>
    assertUsage(
      () => delVip(c, { ...WEB, proto: "udp" }),
      "missing",
      "virtual service 198.18.0.100:80/udp does not exist",
    )
  );
});

Deno.test("addRip appends a real server with defaults", () => {
  const next = untouched((c) => addRip(c, DNS, { ip: "198.18.0.21" }));
  assert.deepEqual(find(next, DNS)!.rips, [
    { ip: "198.18.0.21", weight: 1, drain: false, check: null },
  ]);
});

Deno.test("addRip takes the given weight", () => {
  const next = untouched((c) => addRip(c, WEB, { ip: "198.18.0.13", weight: 7 }));
  assert.deepEqual(find(next, WEB)!.rips.map((r) => [r.ip, r.weight]), [
    ["198.18.0.11", 1],
    ["198.18.0.12", 2],
    ["198.18.0.13", 7],
  ]);
});

Deno.test("addRip of an existing real server is a conflict naming both", () => {
  untouched((c) =>
    assertUsage(
      () => addRip(c, WEB, { ip: "198.18.0.12" }),
      "conflict",
      "real server 198.18.0.12 already exists in 198.18.0.100:80/tcp",
    )
  );
});

Deno.test("addRip allows a real server that another service already has", () => {
  const next = untouched((c) => addRip(c, DNS, { ip: "198.18.0.11" }));
  assert.deepEqual(find(next, DNS)!.rips.map((r) => r.ip), ["198.18.0.11"]);
});

Deno.test("addRip to a missing service names the service", () => {
  untouched((c) =>
    assertUsage(
      () => addRip(c, NOWHERE, { ip: "198.18.0.11" }),
      "missing",
      "virtual service 198.18.0.100:81/tcp does not exist",
    )
  );
});

Deno.test("setRip changes the named fields only", () => {
  const next = untouched((c) => setRip(c, WEB, "198.18.0.12", { drain: true }));
  assert.deepEqual(find(next, WEB)!.rips[1], {
    ip: "198.18.0.12",
    weight: 2,
    drain: true,
    check: null,
  });
  assert.deepEqual(find(next, WEB)!.rips[0], find(base(), WEB)!.rips[0]);
});

Deno.test("setRip of a missing real server names it and the service", () => {
  untouched((c) =>
    assertUsage(
      () => setRip(c, WEB, "198.18.0.99", { weight: 3 }),
      "missing",
      "real server 198.18.0.99 does not exist in 198.18.0.100:80/tcp",
    )
  );
  untouched((c) =>
    assertUsage(
      () => setRip(c, NOWHERE, "198.18.0.11", { weight: 3 }),
      "missing",
      "virtual service 198.18.0.100:81/tcp does not exist",
    )
  );
});

Deno.test("delRip removes one real server", () => {
  const next = untouched((c) => delRip(c, WEB, "198.18.0.11"));
  assert.deepEqual(find(next, WEB)!.rips.map((r) => r.ip), ["198.18.0.12"]);
});

Deno.test("delRip of a missing real server names it and the service", () => {
  untouched((c) =>
    assertUsage(
      () => delRip(c, DNS, "198.18.0.11"),
      "missing",
      "real server 198.18.0.11 does not exist in 198.18.0.100:53/udp",
    )
  );
});

Deno.test("setTimeouts changes the named timeouts and keeps the others", () => {
  const next = untouched((c) => setTimeouts(c, { udp: 30, tcpfin: 5 }));
  assert.deepEqual(next.timeouts, { tcp: 900, tcpfin: 5, udp: 30 });
  assert.deepEqual(next.vips, base().vips);
});

Deno.test("setTimeouts rejects a timeout of 0, naming it", () => {
  untouched((c) =>
    assert.throws(
      () => setTimeouts(c, { tcp: 0 }),
      (e: unknown) => e instanceof ConfigError && e.field === "timeouts.tcp",
    )
  );
});

Deno.test("a chain of changes builds the expected document", () => {
  let c = untouched((c) => addVip(c, { vip: "198.18.0.101", port: 80, proto: "tcp" }));
  const ref: ServiceRef = { vip: "198.18.0.101", port: 80, proto: "tcp" };
  c = addRip(c, ref, { ip: "198.18.0.31" });
  c = addRip(c, ref, { ip: "198.18.0.32" });
  c = setRip(c, ref, "198.18.0.31", { weight: 0 });
  c = delRip(c, ref, "198.18.0.32");
  c = delVip(c, WEB);
  assert.deepEqual(c.vips.map((v) => `${v.vip}:${v.port}/${v.proto}`), [
    "198.18.0.100:53/udp",
    "198.18.0.101:80/tcp",
  ]);
  assert.deepEqual(find(c, ref)!.rips, [
    { ip: "198.18.0.31", weight: 0, drain: false, check: null },
  ]);
});

Deno.test({
  name: "addVip and addRip report an invalid field as a UsageError, as documented",

  fn: () => {
    const c = base();
    assert.throws(
      () => addVip(c, { vip: "198.18.0.101", port: 80, proto: "tcp", persist: -1 }),
      UsageError,
    );
    assert.throws(() => addRip(c, WEB, { ip: "198.18.0.13", weight: -1 }), UsageError);
  },
});
