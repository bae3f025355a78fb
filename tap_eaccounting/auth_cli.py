"""``tap-eaccounting auth url | exchange | status``: the functions behind the subcommands.

The tap's CLI wires these in; ``main()`` is a plain argparse front end for the same functions
(``python -m tap_eaccounting.auth_cli ...``). Nothing here prints a token, code or secret.

``ReauthorizationRequired`` anywhere (a dead refresh token, a 401 that survives a fresh token)
must end the process with exit code 2 and the error's message: wrap entry points with
``exit_on_reauthorization``.
"""

from __future__ import annotations

import argparse
import contextlib
import itertools
import json
import os
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from eaccounting_api import spec
from eaccounting_api.connection import CONNECTION_SETTINGS, authenticator_from_config
from eaccounting_api.errors import EAccountingError, FatalError, ReauthorizationRequired

DEFAULT_REDIRECT_URI = "http://localhost:8765/callback"
REAUTH_EXIT_CODE = ReauthorizationRequired.exit_code
COMMANDS = ("url", "exchange", "status")
# `--config ENV` reads the settings from environment variables, as the SDK's `--config ENV` does: the
# tap's prefix by default. Meltano exports a plugin's settings as MELTANO_EXTRACT_<SETTING> (extractor) or
# MELTANO_LOAD_<SETTING> (loader), whatever the plugin's name: its commands pass that as --env-prefix.
ENV_CONFIG = "ENV"
DEFAULT_ENV_PREFIX = "TAP_EACCOUNTING_"
# The settings auth reads: the connection's, and the redirect URI registered for the client.
AUTH_SETTINGS = (*(setting.name for setting in CONNECTION_SETTINGS), "redirect_uri")


def spec_stream_scopes() -> dict[str, tuple[str, ...]]:
    """Scopes per list endpoint path, from the spec (a fallback mapping; the tap passes its own)."""
    return {endpoint.path: endpoint.scopes for endpoint in spec.list_endpoints()}


def _is_full(scope: str) -> bool:
    return not scope.endswith("_readonly")


def minimal_scopes(
    stream_scopes: Mapping[str, Sequence[str]],
    selected: Iterable[str] | None = None,
    *,
    readonly: bool = True,
) -> list[str]:
    """The smallest scope set that lets every selected stream through (any one of a stream's
    scopes suffices); among equally small sets, the one with the fewest full (write) scopes.
    With ``readonly=False`` only full scopes count (a write never works with ``_readonly``).
    Exact search: there are at most six scopes, so at most 64 subsets."""
    names = list(stream_scopes) if selected is None else list(selected)
    unknown = [name for name in names if name not in stream_scopes]
    if unknown:
        raise ValueError(f"unknown stream(s) {', '.join(sorted(unknown))}; known: {', '.join(stream_scopes)}")
    needs = []
    for name in names:
        options = set(stream_scopes[name])
        if not readonly:
            options = {s.removesuffix("_readonly") for s in options}
        if options:
            needs.append(options)
    candidates = sorted(set().union(*needs)) if needs else []
    covering = (
        combo
        for size in range(len(candidates) + 1)
        for combo in itertools.combinations(candidates, size)
        if all(options.intersection(combo) for options in needs)
    )
    best = min(covering, key=lambda combo: (len(combo), sum(map(_is_full, combo)), combo))
    return list(best)


def auth_url(
    config: Mapping[str, Any],
    stream_scopes: Mapping[str, Sequence[str]],
    selected: Iterable[str] | None = None,
    *,
    redirect_uri: str | None = None,
    readonly: bool = True,
    state: str | None = None,
) -> str:
    """The authorize URL asking for ``ea:api offline_access`` plus the minimal scopes."""
    authenticator = authenticator_from_config(config)
    scopes = minimal_scopes(stream_scopes, selected, readonly=readonly)
    return authenticator.authorize_url(
        scopes, redirect_uri or str(config.get("redirect_uri") or DEFAULT_REDIRECT_URI), state
    )


def auth_exchange(config: Mapping[str, Any], code: str, redirect_uri: str | None = None) -> dict[str, Any]:
    """Trade ``code`` for tokens, store them, and return the (secret-free) status."""
    authenticator = authenticator_from_config(config)
    authenticator.exchange_code(code, redirect_uri or str(config.get("redirect_uri") or DEFAULT_REDIRECT_URI))
    return authenticator.status()


def auth_status(config: Mapping[str, Any], *, verify: bool = False) -> dict[str, Any]:
    """Token health. With ``verify``, refresh once to prove the grant is alive (the rotated token
    is stored); a dead grant raises ``ReauthorizationRequired``."""
    authenticator = authenticator_from_config(config)
    if verify:
        authenticator.refresh_now()
    status = authenticator.status()
    if verify:
        status["verified"] = True
    return status


def format_status(status: Mapping[str, Any]) -> str:
    return "\n".join(f"{key}: {value}" for key, value in status.items())


@contextlib.contextmanager
def exit_on_reauthorization() -> Iterator[None]:
    """Turn ``ReauthorizationRequired`` into one clear stderr message and exit code 2."""
    try:
        yield
    except ReauthorizationRequired as exc:
        # One message, on stderr, where Meltano and cron capture it; not also logged (no duplicates).
        print(f"ERROR: {exc}", file=sys.stderr)
        raise SystemExit(REAUTH_EXIT_CODE) from None


def env_config(prefix: str = DEFAULT_ENV_PREFIX, environ: Mapping[str, str] | None = None) -> dict[str, str]:
    """The auth settings set (non-empty) in environment variables ``<prefix><SETTING>``."""
    env = os.environ if environ is None else environ
    return {name: env[key] for name in AUTH_SETTINGS if env.get(key := f"{prefix}{name.upper()}")}


def _load_config(paths: Sequence[str], env_prefix: str = DEFAULT_ENV_PREFIX) -> dict[str, Any]:
    """The config files merged in order; ``ENV`` stands for the settings in the environment."""
    config: dict[str, Any] = {}
    for path in paths:
        config.update(
            env_config(env_prefix) if path == ENV_CONFIG else json.loads(Path(path).read_text("utf-8"))
        )
    return config


def _code_joined(argv: Sequence[str]) -> list[str]:
    """``--code VALUE`` as ``--code=VALUE``: the identity server's codes are opaque and may start with
    ``-``, which argparse would otherwise take for an option ("expected one argument")."""
    joined: list[str] = []
    words = iter(argv)
    for word in words:
        value = next(words, None) if word == "--code" else None
        joined.append(word if value is None else f"--code={value}")
    return joined


def main(argv: Sequence[str] | None = None, stream_scopes: Mapping[str, Sequence[str]] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="tap-eaccounting auth")
    config_help = f"config JSON, or {ENV_CONFIG} for the environment's settings (repeatable)"
    prefix_help = f"the variables' prefix for --config {ENV_CONFIG} (default {DEFAULT_ENV_PREFIX})"
    parser.add_argument("--config", action="append", help=config_help)
    parser.add_argument("--env-prefix", default=DEFAULT_ENV_PREFIX, help=prefix_help)
    # --config is accepted after the subcommand too (`auth url --config c.json`, as messages say).
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--config", action="append", default=argparse.SUPPRESS, help=config_help)
    common.add_argument("--env-prefix", default=argparse.SUPPRESS, help=prefix_help)
    sub = parser.add_subparsers(dest="command", required=True)
    url = sub.add_parser("url", parents=[common], help="print the authorize URL with the minimal scopes")
    url.add_argument("--stream", action="append", help="selected stream (repeatable; default: all)")
    url.add_argument("--redirect-uri")
    url.add_argument("--state")
    url.add_argument("--write", action="store_true", help="ask for write scopes, not _readonly")
    exchange = sub.add_parser("exchange", parents=[common], help="store the tokens for an authorization code")
    exchange.add_argument("--code", required=True)
    exchange.add_argument("--redirect-uri")
    status = sub.add_parser("status", parents=[common], help="show token health (no secrets)")
    status.add_argument("--verify", action="store_true", help="also obtain a working access token")
    args = parser.parse_args(_code_joined(sys.argv[1:] if argv is None else argv))
    if not args.config:
        parser.error("--config is required")
    with exit_on_reauthorization():
        try:
            config = _load_config(args.config, args.env_prefix)
            if args.command == "url":
                print(
                    auth_url(
                        config,
                        stream_scopes or spec_stream_scopes(),
                        args.stream,
                        redirect_uri=args.redirect_uri,
                        readonly=not args.write,
                        state=args.state,
                    )
                )
            elif args.command == "exchange":
                print(format_status(auth_exchange(config, args.code, args.redirect_uri)))
            else:
                print(format_status(auth_status(config, verify=args.verify)))
        except ReauthorizationRequired:
            raise  # exit_on_reauthorization: exit code 2
        except FatalError as exc:  # an unusable token store
            print(f"ERROR: {exc}", file=sys.stderr)
            return exc.exit_code
        except (EAccountingError, ValueError, OSError) as exc:
            print(f"ERROR: {exc}", file=sys.stderr)
            return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())


# -- the auth subcommand among the Singer CLI's options (Meltano's argument order) ---------------------
def selected_streams(catalog: dict[str, Any]) -> list[str]:
    """Stream ids a Singer catalog selects (``selected``, else ``selected-by-default``)."""
    names = []
    for entry in catalog.get("streams", []):
        for md in entry.get("metadata", []):
            if md.get("breadcrumb") == []:
                meta = md.get("metadata", {})
                if meta.get("selected", meta.get("selected-by-default", False)):
                    names.append(entry["tap_stream_id"])
    return names


# The Singer options that take a value. Meltano puts them before any other argument: `meltano invoke
# tap-eaccounting auth status` runs `tap-eaccounting --config FILE [--catalog FILE] [--state FILE] auth
# status`.
SINGER_VALUE_OPTIONS = ("--config", "--catalog", "--properties", "--state")


def auth_position(args: Sequence[str]) -> int | None:
    """Where the ``auth`` subcommand is: the first argument that is neither an option nor an option's
    value (the Singer CLI has no positional argument, so nothing else can stand there); ``None`` when
    the arguments are the Singer CLI's."""
    skip = False
    for index, arg in enumerate(args):
        if skip:
            skip = False
        elif arg in SINGER_VALUE_OPTIONS:
            skip = True
        elif not arg.startswith("-"):
            return index if arg == "auth" else None
    return None


def singer_auth_args(args: list[str]) -> list[str]:
    """The ``auth`` arguments (without ``auth``) for ``auth_cli.main``: ``--config`` is accepted anywhere
    (``auth url --config c.json``, as the re-authorize message shows); ``--catalog FILE`` makes the streams
    it selects ``--stream`` arguments of ``auth url`` (other subcommands ignore it, since Meltano passes
    its catalog whatever the subcommand); ``--state``/``--properties`` FILE (Meltano's) are dropped."""
    configs: list[str] = []
    rest: list[str] = []
    selected: list[str] = []
    items = iter(args)
    for arg in items:
        option, has_value, value = arg.partition("=")
        if option not in SINGER_VALUE_OPTIONS:
            rest.append(arg)
            continue
        value = value if has_value else next(items, "")
        if option == "--config":
            configs += ["--config", value]
        elif option == "--catalog":
            selected = [f"--stream={name}" for name in selected_streams(_read_catalog(value))]
    command = next((arg for arg in rest if arg in COMMANDS), None)
    if command == "url":  # --stream belongs to the `url` subcommand: after it
        at = rest.index(command) + 1
        rest[at:at] = selected
    return configs + rest


def _read_catalog(path: str) -> dict[str, Any]:
    try:
        catalog: dict[str, Any] = json.loads(Path(path).read_text("utf-8"))
    except FileNotFoundError:
        raise SystemExit(
            f"ERROR: catalog {path} not found (in Meltano, `meltano invoke tap-eaccounting:auth-url` "
            "without extra arguments writes it first)"
        ) from None
    return catalog
