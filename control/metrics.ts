/**
 * Prometheus metrics (`dsr start --metrics ADDR:PORT`, text format at
 * /metrics) with prom-client. Counters are read from the data plane's shared
 * tables when scraped, so they cost the packet loop nothing; check latency is
 * a histogram fed by every health check.
 * @module
 */

import { Counter, Gauge, Histogram, Registry } from "prom-client";
import type { Status } from "./status.ts";
import { type Config, defaultCheck } from "./config.ts";

type Labels = Record<string, string>;

/** A counter whose value is read from `status` at scrape time. */
function readCounter(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Labels, number][],
) {
  return new Counter({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.inc(labels, value);
    },
  });
}

function readGauge(
  registry: Registry,
  name: string,
  help: string,
  labelNames: string[],
  read: () => [Labels, number][],
) {
  return new Gauge({
    name,
    help,
    labelNames,
    registers: [registry],
    collect() {
      this.reset();
      for (const [labels, value] of read()) this.set(labels, value);
    },
  });
}

/** The daemon's metrics. */
export class Metrics {
  readonly registry = new Registry();
  #latency: Histogram;
  #status: Status | null = null;
  /** Label sets the latency histogram holds, by their joined values. */
  #observed = new Map<string, Labels>();

  readonly #statusOf: () => Status;
  readonly #config: (() => Config) | undefined;

  /**
   * `status` is called once per scrape; `config`, when given, names the
   * fallback servers, whose check latency is kept as long as they are.
   */
  constructor(status: () => Status, config?: () => Config) {
    this.#statusOf = status;
    this.#config = config;
    const r = this.registry;
    const vipLabels = ["vip", "port", "proto"];
    const ripLabels = [...vipLabels, "rip"];
    const snap = () => this.#status ?? (this.#status = status());
    const vips = () =>
      snap().vips.map((v) => [{ vip: v.vip, port: String(v.port), proto: v.proto }, v] as const);
    const rips = () =>
      vips().flatMap(([l, v]) => v.rips.map((rip) => [{ ...l, rip: rip.ip }, rip] as const));
    for (
      const [field, what] of [["packets", "packets"], ["bytes", "bytes"], [
        "connections",
        "new connections",
      ]] as const
    ) {
      readCounter(
        r,
        `dsr_vip_${field}_total`,
        `Forwarded ${what} per virtual service`,
        vipLabels,
        () => vips().map(([l, v]) => [l, v[field]]),
      );
      readCounter(
        r,
        `dsr_rip_${field}_total`,
        `Forwarded ${what} per real server`,
        ripLabels,
        () => rips().map(([l, rip]) => [l, rip[field]]),
      );
    }
    readGauge(
      r,
      "dsr_rip_up",
      "1 when the real server takes new flows (state up)",
      ripLabels,
      () => rips().map(([l, rip]) => [l, rip.state === "up" ? 1 : 0]),
    );
    readGauge(
      r,
      "dsr_rip_active_connections",
      "Established flows (IPVS ActiveConn)",
      ripLabels,
      () => rips().map(([l, rip]) => [l, rip.activeConns]),
    );
    readGauge(
      r,
      "dsr_rip_inactive_connections",
      "Other flows (IPVS InActConn)",
      ripLabels,
      () => rips().map(([l, rip]) => [l, rip.inactiveConns]),
    );
    readGauge(r, "dsr_flows", "Flows in the flow table", [], () => [[{}, snap().flows]]);
    readGauge(
      r,
      "dsr_dataplane_batch_max_seconds",
      "Longest time the forwarding loop stayed away from the capture ring in the last second",
      [],
      () => [[{}, snap().dataplane.batchMaxMs / 1000]],
    );
    readCounter(
      r,
      "dsr_drops_total",
      "Frames dropped, by reason",
      ["reason"],
      () => Object.entries(snap().drops).map(([reason, n]) => [{ reason }, n]),
    );
    readCounter(
      r,
      "dsr_malformed_total",
      "Malformed frames, by reason",
      ["reason"],
      () => Object.entries(snap().malformed).map(([reason, n]) => [{ reason }, n]),
    );
    readCounter(
      r,
      "dsr_rx_packets_total",
      "Frames the data plane read",
      [],
      () => [[{}, snap().packets.rx]],
    );
    readCounter(
      r,
      "dsr_tx_packets_total",
      "Frames the data plane sent",
      [],
      () => [[{}, snap().packets.tx]],
    );
    this.#latency = new Histogram({
      name: "dsr_health_check_latency_seconds",
      help: "Health check round trip, by real server and check type",
      labelNames: [...ripLabels, "type"],
      buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
      registers: [r],
    });
  }

  /** Records one health check's latency; `service` is a service key like `198.18.0.100:80/tcp`. */
  observeCheck(service: string, rip: string, type: string, ms: number): void {
    const [addr, proto] = service.split("/");
    const at = addr.lastIndexOf(":");
    // An IPv6 VIP's key is bracketed ([2001:2::100]:80): the label is the plain address.
    const vip = addr.slice(0, at).replace(/^\[(.*)\]$/, "$1");
    const labels = { vip, port: addr.slice(at + 1), proto, rip, type };
    this.#observed.set(Object.values(labels).join("|"), labels);
    this.#latency.observe(labels, ms / 1000);
  }

  /**
   * Drops the latency series of real servers that are gone, or whose check
   * changed type: a deleted VIP or RIP must not live on in every scrape.
   */
  #forgetGone(status: Status): void {
    const live = new Set(
      status.vips.flatMap((v) =>
        v.rips.map((r) => [v.vip, v.port, v.proto, r.ip, r.check.type].join("|"))
      ),
    );
    // A fallback is checked like a real server but is not listed in status.
    for (const v of this.#config?.().vips ?? []) {
      if (v.fallback === null) continue;
      const type = (v.check ?? defaultCheck(v.proto)).type;
      live.add([v.vip, v.port, v.proto, v.fallback, type].join("|"));
    }
    for (const [key, labels] of this.#observed) {
      if (live.has(key)) continue;
      this.#latency.remove(labels);
      this.#observed.delete(key);
    }
  }

  /** The Prometheus text exposition, from one status snapshot. */
  async scrape(): Promise<string> {
    this.#status = null;
    try {
      this.#status = this.#statusOf();
      this.#forgetGone(this.#status);
      return await this.registry.metrics();
    } finally {
      this.#status = null;
    }
  }
}

/**
 * Serves `GET /metrics` on `addr` ("198.18.0.10:9100", ":9100") until `signal` aborts.
 * @returns the server, already listening.
 */
export function serveMetrics(
  metrics: Metrics,
  addr: { hostname: string; port: number },
  signal: AbortSignal,
): Deno.HttpServer {
  return Deno.serve({ ...addr, signal, onListen() {} }, async (request) => {
    if (new URL(request.url).pathname !== "/metrics") {
      return new Response("not found\n", { status: 404 });
    }
    return new Response(await metrics.scrape(), {
      headers: { "content-type": metrics.registry.contentType },
    });
  });
}
