/**
 * The terminal's size, following resizes.
 * @module
 */

import { useStdout } from "ink";
import { useEffect, useState } from "react";

/**
 * Columns and rows of the terminal Ink draws on (80×24 when unknown).
 * @param fixed sizes that win over the terminal's (tests, a fixed-size view)
 */
export function useTerminalSize(
  fixed: { columns?: number; rows?: number } = {},
): { columns: number; rows: number } {
  const { stdout } = useStdout() as {
    stdout: ReturnType<typeof useStdout>["stdout"] & { columns?: number; rows?: number };
  };
  const [, setResizes] = useState(0);
  useEffect(() => {
    const resized = () => setResizes((n) => n + 1);
    stdout.on("resize", resized);
    return () => {
      stdout.off("resize", resized);
    };
  }, [stdout]);
  return {
    columns: fixed.columns ?? (stdout.columns || 80),
    rows: fixed.rows ?? (stdout.rows || 24),
  };
}
