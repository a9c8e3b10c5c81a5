/**
 * keepalived.conf's syntax as keepalived's own parser reads it: a keyword
 * and its words per line, a `{` opening a block of such statements until
 * the matching `}`, `#` or `!` starting a comment anywhere outside quotes,
 * double quotes grouping words. Conditional lines (`@id …`), parameters
 * (`$NAME=…`) and `include` are refused: the caller would have to guess
 * which node or file they mean.
 * @module
 */

import { ImportError } from "./import_result.ts";

/** One statement: its keyword, the words after it, and the block it opens, if any. */
export interface Statement {
  key: string;
  args: string[];
  line: number;
  block: Statement[] | null;
}

interface Token {
  text: string;
  line: number;
  /** A line break follows: the statement ends. */
  end: boolean;
}

function tokenize(text: string): Token[] {
  const tokens: Token[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = i + 1;
    const trimmed = raw.trim();
    if (/^@\^?\w/.test(trimmed)) {
      throw new ImportError(
        line,
        "conditional configuration (@…) is not read: keep the lines of this node only",
      );
    }
    if (/^\$\w+=/.test(trimmed)) {
      throw new ImportError(
        line,
        "parameter definitions ($NAME=…) are not read: substitute them first",
      );
    }
    const start = tokens.length;
    let word = "";
    let inWord = false;
    const push = () => {
      if (inWord) tokens.push({ text: word, line, end: false });
      word = "";
      inWord = false;
    };
    for (let j = 0; j < raw.length; j++) {
      const c = raw[j];
      if (c === '"') {
        const close = raw.indexOf('"', j + 1);
        if (close < 0) throw new ImportError(line, "a quoted string is not closed");
        word += raw.slice(j + 1, close);
        inWord = true;
        j = close;
      } else if (c === "#" || c === "!") {
        break;
      } else if (c === "{" || c === "}") {
        push();
        tokens.push({ text: c, line, end: false });
      } else if (/\s/.test(c)) {
        push();
      } else {
        word += c;
        inWord = true;
      }
    }
    push();
    if (tokens.length > start) tokens[tokens.length - 1].end = true;
  });
  return tokens;
}

/**
 * Parses keepalived.conf text into statements.
 * @throws {ImportError} naming the line of an unbalanced brace, an open quote or a directive it does not follow
 */
export function parseKeepalived(text: string): Statement[] {
  const tokens = tokenize(text);
  let i = 0;
  const block = (depth: number, opened: number): Statement[] => {
    const out: Statement[] = [];
    while (i < tokens.length) {
      const t = tokens[i];
      if (t.text === "}") {
        if (depth === 0) throw new ImportError(t.line, "a } closes no block");
        i++;
        return out;
      }
      if (t.text === "{") throw new ImportError(t.line, "a { follows no keyword");
      const statement: Statement = { key: t.text, args: [], line: t.line, block: null };
      if (statement.key === "include") {
        throw new ImportError(t.line, "include is not followed: import each file on its own");
      }
      i++;
      let ended = t.end;
      while (!ended && i < tokens.length && tokens[i].text !== "{" && tokens[i].text !== "}") {
        statement.args.push(tokens[i].text);
        ended = tokens[i].end;
        i++;
      }
      if (i < tokens.length && tokens[i].text === "{" && (!ended || tokens[i].line > t.line)) {
        // keepalived also takes the brace at the start of the next line.
        const braceLine = tokens[i].line;
        i++;
        statement.block = block(depth + 1, braceLine);
      }
      out.push(statement);
    }
    if (depth > 0) throw new ImportError(opened, "this { is never closed");
    return out;
  };
  return block(0, 0);
}
