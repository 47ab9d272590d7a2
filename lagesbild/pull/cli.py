"""``lagesbild serve``, ``lagesbild token create|revoke|list``, ``lagesbild pull``, ``lagesbild publish``."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path


def _data_dir() -> Path:
    return Path(os.environ.get("LAGESBILD_DATA_DIR") or "data")


def _serve(args) -> int:
    from lagesbild.pull.server import serve

    if not Path(args.publications).is_dir():
        print(f"serve: publications folder {args.publications} does not exist", file=sys.stderr)
        return 2
    serve(args.publications, args.tokens, host=args.host, port=args.port)
    return 0


def _token_create(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    entry, token = TokenStore(args.tokens).create(args.municipality)
    print(
        f"token id {entry.token_id} for municipality {entry.municipality} (shown once, store it now):",
        file=sys.stderr,
    )
    print(token)
    return 0


def _token_revoke(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    gone = TokenStore(args.tokens).revoke(token_id=args.id, municipality=args.municipality)
    print(f"revoked {gone} token(s)", file=sys.stderr)
    return 0 if gone else 1


def _token_list(args) -> int:
    from lagesbild.pull.tokens import TokenStore

    for e in TokenStore(args.tokens).entries():
        print(f"{e.token_id}\t{e.municipality}\t{e.created_at}")
    return 0


def _pull(args) -> int:
    from lagesbild.pull.client import PullError, pull

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
    p.set_defaults(func=_serve)

    t = subparsers.add_parser("token", help="create, revoke or list municipality pull tokens")
    tsub = t.add_subparsers(dest="token_command", required=True)
    c = tsub.add_parser("create", help="print a new token once (stored hashed)")
    c.add_argument(
        "--municipality",
        required=True,
        help="4-digit municipality code, e.g. 0580 (or a 2-digit county code, e.g. 14, for a county-level user)",
    )
    c.set_defaults(func=_token_create)
    r = tsub.add_parser("revoke", help="revoke a token by id or every token of a municipality")
    r.add_argument("--id")
    r.add_argument("--municipality")
    r.set_defaults(func=_token_revoke)
    ls = tsub.add_parser("list", help="token ids and municipalities (never the tokens)")
    ls.set_defaults(func=_token_list)
    for sp in (c, r, ls):
        sp.add_argument("--tokens", default=str(_data_dir() / "pull_tokens.json"))

    pl = subparsers.add_parser("pull", help="pull the latest publication into a local folder")
    pl.add_argument("--server", required=True)
    pl.add_argument("--token-env", default="LAGESBILD_PULL_TOKEN")
    pl.add_argument("--dest", required=True)
    pl.set_defaults(func=_pull)
