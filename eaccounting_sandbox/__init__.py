"""eaccounting-sandbox: a local emulator of the Visma eAccounting API v2 and its identity server.

Start it with ``eaccounting-sandbox serve`` or in-process with
:class:`eaccounting_sandbox.server.SandboxServer`. See README.md, "eaccounting-sandbox".
"""

__all__ = ["SandboxServer"]


def __getattr__(name: str) -> object:
    # Lazy, so importing the package (e.g. for errors.ApiError) does not pull in uvicorn.
    if name == "SandboxServer":
        from eaccounting_sandbox.server import SandboxServer

        return SandboxServer
    raise AttributeError(name)
