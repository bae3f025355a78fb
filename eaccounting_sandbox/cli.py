"""``eaccounting-sandbox serve``: run the sandbox as a foreground HTTP server."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from eaccounting_sandbox.switches import (
    ALIASES,
    BEHAVIOUR_SWITCHES,
    DEFAULT_COMPANY,
    DEFAULT_PROFILE,
    DEMO_CLIENT_ID,
    DEMO_CLIENT_SECRET,
    PROFILES,
    SandboxConfig,
)


def _latency(text: str) -> tuple[float, float]:
    fixed, _, jitter = text.partition(",")
    try:
        return float(fixed), float(jitter or 0)
    except ValueError:
        message = f"--latency-ms takes FIXED or FIXED,JITTER in ms, got {text!r}"
        raise argparse.ArgumentTypeError(message) from None


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(
        prog="eaccounting-sandbox", description="A local emulator of the Visma eAccounting API v2."
    )
    sub = root.add_subparsers(dest="command", required=True)
    serve = sub.add_parser("serve", help="run the sandbox HTTP server")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=int, default=0, help="0 picks a free port (printed on start)")
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--scale", type=float, default=1.0, help="multiplies the big resources")
    serve.add_argument("--companies", default=DEFAULT_COMPANY, help="comma-separated company slugs")
    serve.add_argument("--access-token-ttl", type=int, default=3600, metavar="SECONDS")
    serve.add_argument("--rate-limit", type=int, default=600, help="requests/minute/client/endpoint; 0=off")
    serve.add_argument("--latency-ms", type=_latency, default=None, metavar="FIXED[,JITTER]")
    serve.add_argument("--fault-rate", type=float, default=0.0, help="share of /v2 requests answered 5xx")
    serve.add_argument("--faults", default=None, metavar="JSON", help="a full fault spec (see faults.py)")
    serve.add_argument(
        "--profile", choices=list(PROFILES), default=DEFAULT_PROFILE, help="a named set of switches (README)"
    )
    serve.add_argument(
        "--switches",
        default=None,
        metavar="JSON",
        help='switches over the profile, e.g. \'{"filter_mode": "ignored"}\'',
    )
    serve.add_argument("--reject-oversize-page", action="store_true", help="$pagesize > the cap -> 400")
    serve.add_argument("--shuffle-unordered", action="store_true", help="no $orderby -> unstable order")
    serve.add_argument("--validate-responses", action="store_true", help="check bodies against the spec")
    serve.add_argument("--log-level", default="info")
    return root


def config_from(args: argparse.Namespace) -> SandboxConfig:
    faults: dict[str, Any] = json.loads(args.faults) if args.faults else {}
    if args.latency_ms is not None:
        faults["latency_ms"], faults["jitter_ms"] = args.latency_ms
    if args.fault_rate:
        faults["error_rate"] = args.fault_rate
    switches: dict[str, Any] = json.loads(args.switches) if args.switches else {}
    settable = (*BEHAVIOUR_SWITCHES, "endpoint_switches", *ALIASES)
    if not isinstance(switches, dict) or not set(switches) <= set(settable):
        raise ValueError(f"--switches takes a JSON object of switches among: {', '.join(settable)}")
    # The two old flags only switch on: off, they leave the profile's value alone.
    if args.reject_oversize_page:
        switches["reject_oversize_page"] = True
    if args.shuffle_unordered:
        switches["shuffle_unordered"] = True
    return SandboxConfig.from_kwargs(
        seed=args.seed,
        scale=args.scale,
        companies=[c.strip() for c in args.companies.split(",") if c.strip()],
        access_token_ttl=args.access_token_ttl,
        rate_limit_per_minute=args.rate_limit,
        validate_responses=args.validate_responses,
        profile=args.profile,
        faults=faults,
        **switches,
    )


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    # Imported here for start-up speed, not to break a cycle: ``--help`` and argument errors answer
    # without loading starlette, uvicorn and the spec (~0.6 s).
    from eaccounting_sandbox.sandbox import Sandbox
    from eaccounting_sandbox.server import bind_socket, uvicorn_server

    try:
        config = config_from(args)
        print(
            f"eaccounting-sandbox: generating demo data (seed={config.seed}, scale={config.scale})",
            flush=True,
        )
        sandbox = Sandbox(config)
        sock = bind_socket(args.host, args.port)
    except (ValueError, OSError) as exc:  # bad --faults JSON, unknown country, port in use
        print(f"eaccounting-sandbox: {exc}", file=sys.stderr)
        return 2
    host, port = sock.getsockname()[:2]
    base = f"http://{host if ':' not in host else f'[{host}]'}:{port}"
    lines = [
        f"eaccounting-sandbox listening on {base}",
        f"  api_url:       {base}/v2",
        f"  identity_url:  {base}   (token: {base}/connect/token, authorize: {base}/connect/authorize)",
        f"  admin:         {base}/_admin/...",
        f"  client_id:     {DEMO_CLIENT_ID}",
        f"  client_secret: {DEMO_CLIENT_SECRET}",
    ]
    for company in config.companies:
        lines.append(f"  company {company}: bootstrap refresh token {company}-bootstrap-refresh-token")
    print("\n".join(lines), flush=True)
    uvicorn_server(sandbox, log_level=args.log_level).run(sockets=[sock])
    return 0


if __name__ == "__main__":
    sys.exit(main())
