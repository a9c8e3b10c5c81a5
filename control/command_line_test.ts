import assert from "node:assert/strict";
import { badCommand, splitCommand } from "./command_line.ts";

Deno.test("a command splits into words as a shell splits them, quotes and escapes kept literal", () => {
  const cases: [string, string[]][] = [
    ["/usr/lib/check", ["/usr/lib/check"]],
    ["  /bin/check  -p 80\t--x ", ["/bin/check", "-p", "80", "--x"]],
    ["/bin/check 'a b' \"c d\"", ["/bin/check", "a b", "c d"]],
    ["/bin/check 'it''s' x\\ y", ["/bin/check", "its", "x y"]],
    ['/bin/check "say \\"hi\\" \\$HOME"', ["/bin/check", 'say "hi" $HOME']],
    ["/bin/check '$(rm -rf /)' \"a|b\" 'c;d'", ["/bin/check", "$(rm -rf /)", "a|b", "c;d"]],
    ["/bin/check \"\" ''", ["/bin/check", "", ""]],
    ['/bin/check "a\\nb"', ["/bin/check", "a\\nb"]],
  ];
  for (const [text, argv] of cases) assert.deepEqual(splitCommand(text), argv, text);
});

Deno.test("shell syntax outside quotes is refused, never passed on", () => {
  for (
    const text of [
      "/bin/a | b",
      "/bin/a && b",
      "/bin/a; b",
      "/bin/a > /tmp/x",
      "/bin/a $HOME",
      "/bin/a `id`",
      "/bin/a $(id)",
    ]
  ) {
    assert.throws(
      () => splitCommand(text),
      /shell syntax, and the command runs without a shell/,
      text,
    );
  }
  assert.throws(() => splitCommand("/bin/a 'b"), /unterminated '/);
  assert.throws(() => splitCommand('/bin/a "b'), /unterminated "/);
  assert.throws(() => splitCommand("/bin/a b\\"), /trailing \\/);
  assert.throws(() => splitCommand("   "), /empty/);
});

Deno.test("the program must be an absolute path", () => {
  assert.equal(badCommand(["/usr/local/bin/check", "x"]), null);
  assert.match(badCommand(["check.sh"]) ?? "", /must be an absolute path/);
  assert.match(badCommand([]) ?? "", /empty/);
  assert.match(badCommand(["/bin/a", "x\0y"]) ?? "", /NUL/);
});
