"""``lagesbild serve``, ``lagesbild token create|revoke|list``, ``lagesbild pull``, ``lagesbild publish``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _data_dir() -> Path:
    from lagesbild.settings import Settings

    return Path(Settings.from_env().data_dir)


def _serve(args) -> int:
    from lagesbild.pull.server import serve

    if not Path(args.publications).is_dir():
        print(f"serve: publications folder {args.publications} does not exist", file=sys.stderr)
        return 2
    serve(args.publications, args.tokens, host=args.host, port=args.port, access_log=args.access_log)
    return 0


def _show_new_token(what: str, entry, token: str, label: str = "") -> int:
    """The new token on stdout (shown once), what it is on stderr."""
    print(
        f"{what} for municipality {entry.municipality}{label}, "
        f"expires {entry.expires_at or 'never'} (shown once, store it now):",
        file=sys.stderr,
    )
    print(token)
    return 0


def _store_errors(command):
    """A token command on a store that is not a token list: exit 1 naming the file (never changed)."""

    def run(args) -> int:
        from lagesbild.pull.tokens import TokenStoreError

        try:
            return command(args)
        except TokenStoreError as exc:
            print(f"token {args.token_command}: {exc}", file=sys.stderr)
            return 1

    return run


def _token_create(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    try:
        entry, token = TokenStore(args.tokens).create(
            args.municipality, label=args.label, ttl_days=args.ttl_days or None
        )
    except ValueError as exc:
        print(f"token create: {exc}", file=sys.stderr)
        return 2
    return _show_new_token(f"token id {entry.token_id}", entry, token, f", label {entry.label!r}")


def _token_rotate(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    try:
        entry, token = TokenStore(args.tokens).rotate(args.id, ttl_days=args.ttl_days or None)
    except KeyError as exc:
        print(f"token rotate: {exc.args[0]}", file=sys.stderr)
        return 1
    return _show_new_token(f"token {args.id} replaced by {entry.token_id}", entry, token)


def _token_revoke(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    gone = TokenStore(args.tokens).revoke(token_id=args.id, municipality=args.municipality)
    print(f"revoked {gone} token(s)", file=sys.stderr)
    return 0 if gone else 1


def _token_list(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    print("id\tmunicipality\tlabel\tcreated_at\texpires_at\tstatus")
    for e in TokenStore(args.tokens).entries():
        status = "expired" if e.expired() else "active"
        print(
            f"{e.token_id}\t{e.municipality}\t{e.label}\t{e.created_at}\t{e.expires_at or 'never'}\t{status}"
        )
    return 0


def _pull(args) -> int:
    from lagesbild.pull.client import PullError, pull

    # The variable's name is the caller's (--token-env, LAGESBILD_PULL_TOKEN by default), so it is
    # read by that name here, not through the settings model.
    token = os.environ.get(args.token_env)
    if not token:
        print(
            f"pull: environment variable {args.token_env} is not set (it must hold the token)",
            file=sys.stderr,
        )
        return 2
    try:
        result = pull(args.server, token, args.dest)
    except PullError as exc:
        print(f"pull: {exc}", file=sys.stderr)
        return 1
    print(
        f"publication {result.publication_id}: {len(result.downloaded)} downloaded, "
        f"{len(result.unchanged)} unchanged, in {args.dest}"
    )
    return 0


def register(subparsers: argparse._SubParsersAction) -> None:
    p = subparsers.add_parser("serve", help="serve publications to municipalities over HTTP")
    p.add_argument("--publications", default=str(_data_dir() / "publications"))
    p.add_argument("--tokens", default=str(_data_dir() / "pull_tokens.json"))
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8765)
    p.add_argument(
        "--access-log",
        default=str(_data_dir() / "pull_access.log"),
        help="file the access log is appended to (who, what, status, bytes; never a token)",
    )
    p.set_defaults(func=_serve)

    t = subparsers.add_parser("token", help="create, revoke or list municipality pull tokens")
    tsub = t.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="print a new token once (stored hashed)")
    c.add_argument(
        "--municipality",
        required=True,
        help="4-digit municipality code, e.g. 0580 (or a 2-digit county code, e.g. 14, for a county-level user)",
    )
    c.add_argument(
        "--label", default="", help="who holds the token, e.g. 'Linköping analys' (shown in the access log)"
    )
    c.add_argument(
        "--ttl-days", type=float, default=365, help="days until the token expires (0: never; default 365)"
    )
    c.set_defaults(func=_token_create)
    r = tsub.add_parser("revoke", help="revoke a token by id or every token of a municipality")
    which = r.add_mutually_exclusive_group(required=True)
    which.add_argument("--id")
    which.add_argument("--municipality")
    r.set_defaults(func=_token_revoke)
    ro = tsub.add_parser("rotate", help="replace a token by a new one (same municipality and label)")
    ro.add_argument("--id", required=True)
    ro.add_argument("--ttl-days", type=float, default=365, help="days until the new token expires (0: never)")
    ro.set_defaults(func=_token_rotate)
    ls = tsub.add_parser("list", help="token ids, municipalities, labels and expiry (never the tokens)")
    ls.set_defaults(func=_token_list)
    for sp in (c, r, ro, ls):
        sp.add_argument("--tokens", default=str(_data_dir() / "pull_tokens.json"))
        sp.set_defaults(func=_store_errors(sp.get_default("func")))

    pl = subparsers.add_parser("pull", help="pull the latest publication into a local folder")
    pl.add_argument("--server", required=True)
    pl.add_argument("--token-env", default="LAGESBILD_PULL_TOKEN")
    pl.add_argument("--dest", required=True)
    pl.set_defaults(func=_pull)
