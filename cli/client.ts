/**
 * The daemon client moved to `client/`; this re-export keeps commands not
 * yet moved over (cli/commands/ha.ts) working. Import `../client/mod.ts`.
 * @module
 */

export * from "../client/mod.ts";
