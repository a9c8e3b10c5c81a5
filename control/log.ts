/**
 * The daemon's log: leveled records through @logtape/logtape, written
 * synchronously to stderr (a crash loses nothing), as `dsr: warning: …` text
 * lines or as JSON lines with the record's properties for log shippers.
 * @module
 */

import {
  configure,
  getJsonLinesFormatter,
  getLogger,
  type LogRecord,
  type Sink,
} from "@logtape/logtape";

/** How the daemon reports what happens. */
export type Logger = (
  level: "info" | "warn" | "error",
  message: string,
  properties?: Record<string, unknown>,
) => void;

/** The formats of `--log-format`. */
export type LogFormat = "text" | "json";

function textLine(record: LogRecord): string {
  const message = record.message.map(String).join("");
  const level = record.level === "warning"
    ? "warning: "
    : record.level === "error"
    ? "error: "
    : "";
  return `dsr: ${level}${message}\n`;
}

function stderrSink(format: (record: LogRecord) => string): Sink {
  const encoder = new TextEncoder();
  return (record) => {
    Deno.stderr.writeSync(encoder.encode(format(record)));
  };
}

/** Configures logging once for this process and returns the daemon's logger. */
export async function setupLogging(format: LogFormat): Promise<Logger> {
  const json = getJsonLinesFormatter({ properties: "flatten", message: "rendered" });
  await configure({
    reset: true,
    sinks: { stderr: stderrSink(format === "json" ? json : textLine) },
    loggers: [
      { category: ["dsr"], sinks: ["stderr"], lowestLevel: "info" },
      { category: ["logtape", "meta"], sinks: [], lowestLevel: "warning" },
    ],
  });
  const logger = getLogger(["dsr"]);
  return (level, message, properties = {}) => {
    // Braces in our own text are literal, not logtape placeholders.
    const text = message.replaceAll("{", "{{").replaceAll("}", "}}");
    if (level === "info") logger.info(text, properties);
    else if (level === "warn") logger.warn(text, properties);
    else logger.error(text, properties);
  };
}
