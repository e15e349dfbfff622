"""Optional dependency groups: a clear error when code needs one that is not installed."""

from __future__ import annotations

import importlib.util


class MissingExtra(ImportError):
    """A module of an optional extra (e.g. ``train``) is not installed."""

    def __init__(self, extra: str, module: str) -> None:
        super().__init__(
            f"{module} is not installed: it comes with Civil's {extra!r} extra "
            f"(pip install -e '.[{extra}]'; make install includes it)",
            name=module,
        )
        self.extra = extra


def require_extra(extra: str, *modules: str) -> None:
    """Raise MissingExtra for the first of ``modules`` that cannot be imported.

    Looks the modules up without importing them, so a package can check its extra on import
    and still import heavy libraries (torch through safetensors) only where it uses them.
    """
    for module in modules:
        if importlib.util.find_spec(module) is None:
            raise MissingExtra(extra, module)
