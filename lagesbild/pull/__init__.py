"""Municipality pull: token store, Starlette server, httpx client."""
