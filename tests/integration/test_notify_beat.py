"""The beat schedule and a real worker send the notice: civil.notify_moderators end to end."""

from __future__ import annotations

import time

from sqlalchemy import select

from civil import admin
from civil.models import Notification
from civil.sites import new_signing_secret
from tests.support.moderation import decided_comment
from tests.support.receiver import Receiver
from tests.support.smtp import smtp_server


def test_beat_and_worker_tell_moderators_by_webhook_and_email(make_stack) -> None:
    hook = Receiver(secret=new_signing_secret()).start()
    try:
        with smtp_server() as inbox:
            stack = make_stack(
                notify_interval_seconds=1,
                smtp_host="127.0.0.1",
                smtp_port=inbox.port,
                public_url="https://civil.example",
            )
            creds = stack.site()
            with stack.db.session() as session:
                admin.update_site(
                    session,
                    "test",
                    creds.site_id,
                    notify={
                        "webhook_url": hook.url,
                        "emails": ["desk@example.org"],
                        "held_over": 1,
                    },
                    allow_private=True,
                )
            for _ in range(2):
                decided_comment(stack.db, creds.site_id, toxicity=0.7)
            stack.start_worker(queues="maintenance")
            stack.start_beat()
            [posted] = hook.wait_for(lambda got: len(got) >= 1, timeout=60)
            assert "2 comments are held" in posted.body["text"]
            [mail] = inbox.wait_for(1, timeout=30)
            assert mail["To"] == "desk@example.org"
            assert f"https://civil.example/moderate?view=held&site_id={creds.site_id}" in (
                mail.get_content()
            )
            # The beat keeps ticking every second; the window holds further notices back.
            time.sleep(3)
            assert len(hook.received) == 1 and len(inbox.messages) == 1
            with stack.db.session() as session:
                kinds = session.scalars(select(Notification.kind)).all()
            assert kinds == ["held_queue"]
    finally:
        hook.stop()
