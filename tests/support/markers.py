"""Marking a folder's tests from its conftest (the chaos and cluster suites)."""

from __future__ import annotations

from pathlib import Path

import pytest


def mark_folder(items: list[pytest.Item], folder: Path, marker: pytest.MarkDecorator) -> None:
    """Add ``marker`` to each collected test whose file lies under ``folder``."""
    for item in items:
        if folder in Path(item.fspath).parents:
            item.add_marker(marker)
