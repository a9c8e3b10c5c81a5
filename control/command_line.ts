/**
 * Splits the text of an `exec` check's command (`--check-command`,
 * keepalived's `misc_path`) into argv, as a POSIX shell would split words,
 * and nothing more: no variables, globs, pipes or redirections. The program
 * is then started directly, never through a shell, so a configuration can
 * never become a shell command. Text a shell would treat as an operator is
 * refused rather than passed on literally, so an operator who wrote
 * `check.sh && x` learns it at once instead of at the first check.
 * @module
 */

/** Characters that mean something to a shell when unquoted. */
const OPERATORS = new Set(["|", "&", ";", "<", ">", "(", ")", "$", "`"]);

/**
 * Splits `text` into words. Single quotes keep everything literally; double
 * quotes keep everything but `\"`, `\\`, `\$` and `` \` ``; a backslash
 * outside quotes keeps the next character.
 * @throws {RangeError} naming an unterminated quote, an unquoted shell
 * operator, or an empty command
 */
export function splitCommand(text: string): string[] {
  const words: string[] = [];
  let word = "";
  let inWord = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === " " || c === "\t" || c === "\n") {
      if (inWord) words.push(word);
      word = "";
      inWord = false;
    } else if (c === "'") {
      const end = text.indexOf("'", i + 1);
      if (end < 0) throw new RangeError(`unterminated ' at character ${i + 1}`);
      word += text.slice(i + 1, end);
      inWord = true;
      i = end;
    } else if (c === '"') {
      inWord = true;
      for (i++;; i++) {
        if (i >= text.length) throw new RangeError(`unterminated " in ${JSON.stringify(text)}`);
        if (text[i] === '"') break;
        if (text[i] === "\\" && '"\\$`'.includes(text[i + 1] ?? "")) i++;
        word += text[i];
      }
    } else if (c === "\\") {
      if (i + 1 >= text.length) throw new RangeError("a trailing \\ escapes nothing");
      word += text[++i];
      inWord = true;
    } else if (OPERATORS.has(c)) {
      throw new RangeError(
        `"${c}" at character ${i + 1} is shell syntax, and the command runs without a shell: ` +
          `quote it, or name a script that does what you need`,
      );
    } else {
      word += c;
      inWord = true;
    }
  }
  if (inWord) words.push(word);
  if (words.length === 0) throw new RangeError("the command is empty");
  return words;
}

/** Why `argv` cannot be an `exec` check's command, or null when it can. */
export function badCommand(argv: readonly string[]): string | null {
  if (argv.length === 0) return "the command is empty";
  if (!argv[0].startsWith("/")) {
    return `the program "${argv[0]}" must be an absolute path (the daemon's PATH is not yours)`;
  }
  if (argv.some((a) => a.includes("\0"))) return "an argument holds a NUL character";
  return null;
}
