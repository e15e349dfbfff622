"""Accessors for the per-app objects views need."""

from __future__ import annotations

from flask import current_app

from civil.db import Database
from civil.settings import Settings


def settings() -> Settings:
    return current_app.extensions["civil"]["settings"]


def database() -> Database:
    return current_app.extensions["civil"]["db"]
