import assert from "node:assert/strict";
import { type Check, type Config, ConfigError, parseConfig, type Rip, type Vip } from "./config.ts";
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
const MAIL: ServiceRef = { vip: "198.18.0.102", port: 25, proto: "tcp" };
const NOWHERE: ServiceRef = { vip: "198.18.0.100", port: 81, proto: "tcp" };

/**
 * Three services, so a change to the middle one shows whether order and
 * neighbours are kept; the last has checks, so a change that drops one shows.
 */
const base = (): Config =>
  parseConfig({
    version: 1,
    vips: [
      { ...WEB, rips: [{ ip: "198.18.0.11" }, { ip: "198.18.0.12", weight: 2 }] },
      { ...DNS, scheduler: "sh", rips: [{ ip: "198.18.0.21", drain: true }] },
      {
        ...MAIL,
        scheduler: "wlc",
        persist: 60,
        check: { type: "tcp", port: 2525 },
        rips: [{ ip: "198.18.0.31", check: { type: "ping" } }],
      },
    ],
    timeouts: { tcp: 600 },
  });

/** The base configuration with `change` applied by hand: what an operation should return. */
function expected(change: (c: Config) => void): Config {
  const c = base();
  change(c);
  return c;
}

/** A service as a document with only `fields` given reads (every default filled). */
const vipOf = (fields: Partial<Vip> & ServiceRef): Vip =>
  parseConfig({ version: 1, vips: [fields] }).vips[0];

/** A real server as a document with only `fields` given reads. */
const ripOf = (fields: Partial<Rip> & { ip: string }): Rip =>
  parseConfig({ version: 1, vips: [{ ...WEB, rips: [fields] }] }).vips[0].rips[0];

/** A whole http check, every field given. */
const CHECK: Check = {
  type: "http",
  port: 8080,
  path: "/health",
  expect: 204,
  interval: 5,
  timeout: 2,
  rise: 3,
  fall: 4,
  host: "web.example",
};

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

/** Asserts `fn` throws a UsageError of `kind` about `field`, with exactly `message` (or matching it). */
function assertUsage(
  fn: () => unknown,
  kind: UsageKind,
  field: string | null,
  message: string | RegExp,
): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof UsageError, `expected UsageError, got ${error}`);
    assert.deepEqual([error.kind, error.field, error.exitCode], [kind, field, 2]);
    if (typeof message === "string") assert.equal(error.message, message);
    else assert.match(error.message, message);
    return true;
  });
}

/** Asserts `fn` throws a ConfigError (kind invalid) about `field`, its message starting with the field. */
function assertInvalid(fn: () => unknown, field: string, reason: RegExp = /.+/): void {
  assert.throws(fn, (error: unknown) => {
    assert.ok(error instanceof ConfigError, `expected ConfigError, got ${error}`);
    assert.deepEqual([error.kind, error.field, error.exitCode], ["invalid", field, 2]);
    assert.equal(error.message, `${field}: ${error.reason}`);
    assert.match(error.reason, reason);
    return true;
  });
}

Deno.test("addVip appends a service with defaults and no real servers", () => {
  const next = untouched((c) => addVip(c, { vip: "198.18.0.101", port: 443, proto: "tcp" }));
  assert.deepEqual(
    next,
    expected((c) =>
      c.vips.push({
        vip: "198.18.0.101",
        port: 443,
        proto: "tcp",
        scheduler: "mh",
        persist: 0,
        fallback: null,
        need: 1,
        check: null,
        ops: false,
        rips: [],
      })
    ),
  );
});

Deno.test("addVip takes every given field, real servers included", () => {
  const fields: Partial<Vip> & ServiceRef = {
    ...NOWHERE,
    scheduler: "wlc",
    persist: 60,
    fallback: "198.18.0.50",
    need: 2,
    check: CHECK,
    rips: [ripOf({ ip: "198.18.0.41", weight: 3 })],
  };
  const next = untouched((c) => addVip(c, fields));
  assert.deepEqual(next, expected((c) => c.vips.push(vipOf(fields))));
  assert.deepEqual(next.vips[3].check, CHECK);
  assert.deepEqual(next.vips[3].rips.map((r) => [r.ip, r.weight]), [["198.18.0.41", 3]]);
});

Deno.test("addVip allows the same address and port on the other protocol", () => {
  const next = untouched((c) => addVip(c, { ...WEB, proto: "udp" }));
  assert.deepEqual(next, expected((c) => c.vips.push(vipOf({ ...WEB, proto: "udp" }))));
});

Deno.test("addVip of an existing service is a conflict naming it", () => {
  untouched((c) =>
    assertUsage(
      () => addVip(c, { ...WEB, persist: 5 }),
      "conflict",
      null,
      "virtual service 198.18.0.100:80/tcp already exists",
    )
  );
});

Deno.test("addVip of an invalid field is invalid, naming the field", () => {
  untouched((c) => {
    assertInvalid(() => addVip(c, { ...NOWHERE, persist: -1 }), "persist");
    assertInvalid(() => addVip(c, { ...NOWHERE, port: 70000 }), "port");
    assertInvalid(() => addVip(c, { ...NOWHERE, vip: "198.18.0" }), "vip", /IPv4/);
    assertInvalid(() => addVip(c, { ...NOWHERE, fallback: "x" }), "fallback");
    // A check its type cannot run is caught when the whole document is checked.
    assertInvalid(
      () => addVip(c, { ...NOWHERE, check: { ...CHECK, type: "dns" } }),
      "vips[3].check.host",
    );
  });
});

Deno.test("setVip changes the named fields and keeps the rest, real servers and order included", () => {
  const next = untouched((c) =>
    setVip(c, DNS, { scheduler: "rr", persist: 30, need: 0, check: CHECK })
  );
  assert.deepEqual(
    next,
    expected((c) =>
      Object.assign(c.vips[1], { scheduler: "rr", persist: 30, need: 0, check: CHECK })
    ),
  );
});

Deno.test("setVip keeps a check it is not asked to change; with no changes, an equal configuration", () => {
  const next = untouched((c) => setVip(c, MAIL, { scheduler: "lc" }));
  assert.deepEqual(next, expected((c) => c.vips[2].scheduler = "lc"));
  assert.equal(next.vips[2].check?.port, 2525);
  assert.deepEqual(untouched((c) => setVip(c, MAIL, {})), base());
  assert.deepEqual(
    untouched((c) => setVip(c, MAIL, { check: null })),
    expected((c) => c.vips[2].check = null),
  );
});

Deno.test("setVip of a missing service names it", () => {
  untouched((c) =>
    assertUsage(
      () => setVip(c, NOWHERE, { persist: 1 }),
      "missing",
      null,
      "virtual service 198.18.0.100:81/tcp does not exist",
    )
  );
});

Deno.test("setVip to an invalid value is invalid, naming the field in the document", () => {
  untouched((c) => {
    assertInvalid(() => setVip(c, DNS, { persist: -1 }), "vips[1].persist");
    assertInvalid(() => setVip(c, MAIL, { fallback: "198.18.0.300" }), "vips[2].fallback");
    assertInvalid(
      () => setVip(c, WEB, { check: { ...CHECK, type: "exec", host: undefined } }),
      "vips[0].check.command",
      /needs command/,
    );
  });
});

Deno.test("delVip removes the service and its real servers, keeping the others in order", () => {
  assert.deepEqual(untouched((c) => delVip(c, DNS)), expected((c) => c.vips.splice(1, 1)));
  assert.deepEqual(untouched((c) => delVip(c, WEB)), expected((c) => c.vips.splice(0, 1)));
});

Deno.test("delVip of a missing service names it", () => {
  untouched((c) =>
    assertUsage(
      () => delVip(c, { ...WEB, proto: "udp" }),
      "missing",
      null,
      "virtual service 198.18.0.100:80/udp does not exist",
    )
  );
});

Deno.test("addRip appends a real server with defaults", () => {
  const next = untouched((c) => addRip(c, DNS, { ip: "198.18.0.22" }));
  assert.deepEqual(
    next,
    expected((c) =>
      c.vips[1].rips.push({ ip: "198.18.0.22", weight: 1, drain: false, check: null })
    ),
  );
});

Deno.test("addRip takes every given field", () => {
  const rip = { ip: "198.18.0.13", weight: 7, drain: true, check: CHECK };
  const next = untouched((c) => addRip(c, WEB, rip));
  assert.deepEqual(next, expected((c) => c.vips[0].rips.push(rip)));
});

Deno.test("addRip of an existing real server is a conflict naming both", () => {
  untouched((c) =>
    assertUsage(
      () => addRip(c, WEB, { ip: "198.18.0.12" }),
      "conflict",
      null,
      "real server 198.18.0.12 already exists in 198.18.0.100:80/tcp",
    )
  );
});

Deno.test("addRip allows a real server that another service already has", () => {
  const next = untouched((c) => addRip(c, DNS, { ip: "198.18.0.11" }));
  assert.deepEqual(next, expected((c) => c.vips[1].rips.push(ripOf({ ip: "198.18.0.11" }))));
});

Deno.test("addRip to a missing service names the service", () => {
  untouched((c) =>
    assertUsage(
      () => addRip(c, NOWHERE, { ip: "198.18.0.11" }),
      "missing",
      null,
      "virtual service 198.18.0.100:81/tcp does not exist",
    )
  );
});

Deno.test("addRip of an invalid field is invalid, naming the field", () => {
  untouched((c) => {
    assertInvalid(() => addRip(c, WEB, { ip: "198.18.0.13", weight: -1 }), "weight");
    assertInvalid(() => addRip(c, WEB, { ip: "198.18.0.13", weight: 1.5 }), "weight");
    assertInvalid(() => addRip(c, WEB, { ip: "198.18.0" }), "ip", /IPv4/);
    assertInvalid(
      () => addRip(c, WEB, { ip: "198.18.0.13", check: { ...CHECK, type: "tcp" } }),
      "vips[0].rips[2].check.host",
    );
  });
});

Deno.test("setRip changes the named fields of that real server only", () => {
  const next = untouched((c) => setRip(c, WEB, "198.18.0.12", { drain: true, check: CHECK }));
  assert.deepEqual(
    next,
    expected((c) => Object.assign(c.vips[0].rips[1], { drain: true, check: CHECK })),
  );
  const undrained = untouched((c) => setRip(c, DNS, "198.18.0.21", { drain: false, weight: 0 }));
  assert.deepEqual(
    undrained,
    expected((c) => Object.assign(c.vips[1].rips[0], { drain: false, weight: 0 })),
  );
  const checked = untouched((c) => setRip(c, MAIL, "198.18.0.31", { weight: 5 }));
  assert.deepEqual(checked, expected((c) => c.vips[2].rips[0].weight = 5));
  assert.equal(checked.vips[2].rips[0].check?.type, "ping");
});

Deno.test("setRip of a missing real server names it and the service", () => {
  untouched((c) =>
    assertUsage(
      () => setRip(c, WEB, "198.18.0.99", { weight: 3 }),
      "missing",
      null,
      "real server 198.18.0.99 does not exist in 198.18.0.100:80/tcp",
    )
  );
  untouched((c) =>
    assertUsage(
      () => setRip(c, NOWHERE, "198.18.0.11", { weight: 3 }),
      "missing",
      null,
      "virtual service 198.18.0.100:81/tcp does not exist",
    )
  );
});

Deno.test("setRip to an invalid value is invalid, naming the field in the document", () => {
  untouched((c) => {
    assertInvalid(() => setRip(c, WEB, "198.18.0.12", { weight: -1 }), "vips[0].rips[1].weight");
    assertInvalid(
      () => setRip(c, MAIL, "198.18.0.31", { weight: 65536 }),
      "vips[2].rips[0].weight",
    );
  });
});

Deno.test("delRip removes one real server", () => {
  const next = untouched((c) => delRip(c, WEB, "198.18.0.11"));
  assert.deepEqual(next, expected((c) => c.vips[0].rips.splice(0, 1)));
  const last = untouched((c) => delRip(c, DNS, "198.18.0.21"));
  assert.deepEqual(last, expected((c) => c.vips[1].rips = []));
});

Deno.test("delRip of a missing real server names it and the service", () => {
  untouched((c) =>
    assertUsage(
      () => delRip(c, DNS, "198.18.0.11"),
      "missing",
      null,
      "real server 198.18.0.11 does not exist in 198.18.0.100:53/udp",
    )
  );
});

Deno.test("setTimeouts changes the named timeouts and keeps the others", () => {
  const next = untouched((c) => setTimeouts(c, { udp: 30, tcpfin: 5 }));
  assert.deepEqual(next, expected((c) => c.timeouts = { tcp: 600, tcpfin: 5, udp: 30 }));
  assert.deepEqual(untouched((c) => setTimeouts(c, {})), base());
});

Deno.test("setTimeouts rejects a timeout of 0 or below, naming it", () => {
  untouched((c) => {
    assertInvalid(() => setTimeouts(c, { tcp: 0 }), "timeouts.tcp");
    assertInvalid(() => setTimeouts(c, { udp: -5 }), "timeouts.udp");
  });
});

Deno.test("a chain of changes builds the expected document", () => {
  const ref: ServiceRef = { vip: "198.18.0.101", port: 80, proto: "tcp" };
  let c = untouched((c) => addVip(c, { ...ref, scheduler: "rr" }));
  c = addRip(c, ref, { ip: "198.18.0.31" });
  c = addRip(c, ref, { ip: "198.18.0.32" });
  c = setRip(c, ref, "198.18.0.31", { weight: 0 });
  c = delRip(c, ref, "198.18.0.32");
  c = delVip(c, WEB);
  c = setVip(c, MAIL, { persist: 0 });
  c = setTimeouts(c, { udp: 10 });
  assert.deepEqual(
    c,
    expected((c) => {
      c.vips.splice(0, 1);
      c.vips[1].persist = 0;
      c.vips.push(
        vipOf({ ...ref, scheduler: "rr", rips: [ripOf({ ip: "198.18.0.31", weight: 0 })] }),
      );
      c.timeouts.udp = 10;
    }),
  );
});
