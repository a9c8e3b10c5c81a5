import assert from "node:assert/strict";
import {
  GARP_AFTER_PROMOTION_MS,
  HaRole,
  haStatus,
  initialHaState,
  nextHaState,
} from "./ha_role.ts";
import { FakeClock } from "./_fake_clock.ts";

const T0 = Date.UTC(2025, 0, 2, 3, 4, 5);

function setup(role?: "active" | "standby") {
  const time = new FakeClock(T0);
  const garps: number[] = [];
  const ha = new HaRole({ role, garp: () => garps.push(time.now() - T0), clock: time });
  return { time, garps, ha };
}

Deno.test("nextHaState counts a change of role and keeps the state when the role is the same", () => {
  const s0 = initialHaState("standby", T0);
  assert.deepEqual(s0, { role: "standby", since: T0, transitions: 0 });
  const cases: [string, "active" | "standby", number, object][] = [
    ["standby told standby", "standby", T0, s0],
    ["standby promoted", "active", T0 + 5, { role: "active", since: T0 + 5, transitions: 1 }],
  ];
  for (const [what, role, since, expected] of cases) {
    assert.deepEqual(nextHaState(s0, role, since), expected, what);
  }
  assert.equal(nextHaState(s0, "standby", T0 + 9), s0, "the very same object: nothing changed");
  const s2 = nextHaState(nextHaState(s0, "active", T0 + 1), "standby", T0 + 2);
  assert.deepEqual(s2, { role: "standby", since: T0 + 2, transitions: 2 });
});

Deno.test("haStatus gives the role, since as ISO-8601 and the transitions", () => {
  assert.deepEqual(haStatus({ role: "active", since: T0, transitions: 3 }), {
    role: "active",
    since: "2025-01-02T03:04:05.000Z",
    transitions: 3,
  });
});

Deno.test("a node starts active by default, with no transition and no GARP of its own", async () => {
  const { ha, garps, time } = setup();
  assert.deepEqual(ha.state, { role: "active", since: T0, transitions: 0 });
  assert.equal(ha.standby, false);
  await time.tick(10_000);
  assert.deepEqual(garps, []);
});

Deno.test("promotion sends GARP at once and after 1, 2 and 5 s", async () => {
  const { ha, garps, time } = setup("standby");
  await time.tick(700);
  assert.equal(ha.set("active"), true);
  assert.deepEqual(ha.state, { role: "active", since: T0 + 700, transitions: 1 });
  assert.deepEqual(garps, [700]);
  await time.tick(10_000);
  assert.deepEqual(garps, GARP_AFTER_PROMOTION_MS.map((ms) => 700 + ms));
  assert.deepEqual(GARP_AFTER_PROMOTION_MS, [0, 1_000, 2_000, 5_000]);
  assert.equal(time.pending, 0);
});

Deno.test("promoting an active node changes nothing and sends no GARP", async () => {
  const { ha, garps, time } = setup("active");
  assert.equal(ha.set("active"), false);
  await time.tick(10_000);
  assert.deepEqual(garps, []);
  assert.equal(ha.state.transitions, 0);
});

Deno.test("demotion stops the rest of the GARP schedule at once", async () => {
  const { ha, garps, time } = setup("standby");
  ha.set("active");
  await time.tick(1_500);
  assert.equal(ha.set("standby"), true);
  assert.equal(ha.standby, true);
  await time.tick(10_000);
  assert.deepEqual(garps, [0, 1_000]);
  assert.equal(time.pending, 0);
  assert.deepEqual(ha.state, { role: "standby", since: T0 + 1_500, transitions: 2 });
});

Deno.test("a second promotion restarts the schedule from its own moment", async () => {
  const { ha, garps, time } = setup("standby");
  ha.set("active");
  await time.tick(500);
  ha.set("standby");
  await time.tick(500);
  ha.set("active");
  await time.tick(10_000);
  assert.deepEqual(garps, [0, 1_000, 2_000, 3_000, 6_000]);
  assert.equal(ha.state.transitions, 3);
});

Deno.test("a GARP that throws neither stops the schedule nor reaches the caller", async () => {
  const time = new FakeClock(T0);
  let calls = 0;
  const ha = new HaRole({
    role: "standby",
    garp: () => {
      calls++;
      throw new Error("worker gone");
    },
    clock: time,
  });
  assert.equal(ha.set("active"), true);
  await time.tick(10_000);
  assert.equal(calls, 4);
});

Deno.test("dispose cancels pending GARPs", async () => {
  const { ha, garps, time } = setup("standby");
  ha.set("active");
  ha.dispose();
  await time.tick(10_000);
  assert.deepEqual(garps, [0]);
});
