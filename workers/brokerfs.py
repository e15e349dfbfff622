"""The embedded broker: kombu's filesystem transport, made safe on a full disk.

Kombu writes a message straight into the queue folder; when the write fails (ENOSPC) an empty
file stays there, and the consumer that picks it up dies on a JSONDecodeError, again after
every restart. Here a message is written under a name no consumer reads and renamed into
place only once complete, and a message that cannot be decoded is dropped with a warning:
its comment row is still pending (the sweeper queues it again) and an event's dispatch lease
runs out, so nothing is lost.
"""

from __future__ import annotations

import logging
import os
import uuid
from contextlib import suppress
from time import monotonic
from typing import Any

from kombu.exceptions import ChannelError
from kombu.transport import filesystem
from kombu.utils.encoding import str_to_bytes
from kombu.utils.json import dumps

log = logging.getLogger("civil.broker")


class Channel(filesystem.Channel):
    """Complete-or-absent messages; an unreadable one is skipped, not fatal."""

    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # A leading dot: consumers match "<anything>.<queue>.msg" after the first dot only.
        partial = os.path.join(self.data_folder_out, f".{name}.part")
        try:
            with open(partial, "wb") as out:
                out.write(str_to_bytes(dumps(payload)))
            os.replace(partial, os.path.join(self.data_folder_out, name))
        except OSError as exc:
            with suppress(OSError):
                os.remove(partial)
            raise ChannelError(f"cannot add a message to {self.data_folder_out!r}") from exc

    def _get(self, queue: str) -> Any:
        while True:
            try:
                return super()._get(queue)
            except ValueError:  # JSONDecodeError: a truncated message (kombu's own writer)
                log.warning("dropped an unreadable message from queue %s", queue)


class Transport(filesystem.Transport):
    Channel = Channel
