"""eaccounting-sandbox: a local emulator of the Visma eAccounting API v2 and its identity server.

Start it with ``eaccounting-sandbox serve`` or in-process with
:class:`eaccounting_sandbox.server.SandboxServer`. See README.md, "eaccounting-sandbox".
"""

__all__ = ["SandboxServer"]


def __getattr__(name: str) -> object:
    # Lazy for start-up and optional dependencies, not to break a cycle: importing the package (e.g. for
    # error_responses.ApiError, or the demo data without a server) does not pull in uvicorn.
    if name == "SandboxServer":
        from eaccounting_sandbox.server import SandboxServer

        return SandboxServer
    raise AttributeError(name)
