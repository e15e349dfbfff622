"""The real PyPI clients of Akismet, Perspective and OpenAI moderation, pointed at a running Civil.

Civil is served over real HTTP on a loopback port (werkzeug, threaded); comment-check is
decided by a real Celery worker process against PostgreSQL and Redis. The synchronous
endpoints score with the shipped `linear` model, so expected values are computed from that
model here rather than written down.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import akismet
import httpx
import openai
import pytest
from googleapiclient.discovery import build
from googleapiclient.errors import HttpError
from perspective import Attribute
from perspective.blocking import Perspective
from sqlalchemy import func, select

from civil.decision.policy import DEFAULT_HOLD, DEFAULT_REJECT
from civil.models import Comment, Feedback
from civil.toxicity.linear import LinearToxicityModel
from tests.support.live import LiveServer, client_for

pytestmark = pytest.mark.integration

BLOG = "https://planet.example"
INSULT = "You are a stupid idiot and everyone here hates you."
KIND = "Thanks for the careful reporting on the new bike lanes."


@pytest.fixture(scope="module")
def linear() -> LinearToxicityModel:
    return LinearToxicityModel.load()


def serve(stack: Any) -> Iterator[LiveServer]:
    live = LiveServer(stack.app).start()
    yield live
    live.stop()


@pytest.fixture
def akismet_stack(make_stack: Any, pg_url: str, redis_url: str) -> Any:
    # A generous deadline: these answers must come from the worker's decision. The worker
    # runs the shipped linear model, so a kind comment is approved for real.
    return make_stack(
        database_url=pg_url,
        broker_url=redis_url,
        toxicity_model="linear",
        akismet_deadline_seconds=20.0,
    )


@pytest.fixture
def live(akismet_stack: Any) -> Iterator[LiveServer]:
    yield from serve(akismet_stack)


@pytest.fixture
def light_live(make_stack: Any) -> Iterator[tuple[Any, LiveServer]]:
    """Civil on SQLite with no worker: enough for the synchronous endpoints."""
    stack = make_stack()
    live = LiveServer(stack.app).start()
    yield stack, live
    live.stop()


def _akismet(live: LiveServer, key: str) -> akismet.SyncClient:
    # The client's documented hook: its own httpx client, here one that reaches Civil.
    http = client_for("https://rest.akismet.com", live.url, timeout=30.0)
    return akismet.SyncClient.validated_client(
        config=akismet.Config(key=key, url=BLOG), http_client=http
    )


def _comments(stack: Any, content: str | None = None) -> list[Comment]:
    with stack.db.session() as session:
        query = select(Comment)
        if content is not None:
            query = query.where(Comment.content == content)
        return list(session.scalars(query))


def test_akismet_client_against_civil_with_a_real_worker(akismet_stack: Any, live: LiveServer):
    stack = akismet_stack
    # The discard tier has its own test; here blatant spam must answer plain "true".
    creds = stack.site(spam_discard_threshold=1.0)
    stack.start_worker()
    client = _akismet(live, creds.api_key)
    ham = {
        "comment_content": KIND,
        "comment_type": "comment",
        "comment_author": "Ann Reader",
        "comment_author_email": "ann@example.org",
        "permalink": f"{BLOG}/bike-lanes",
    }
    assert client.comment_check("203.0.113.7", **ham) == akismet.CheckResponse.HAM
    [stored] = _comments(stack, KIND)
    assert stored.status == "approved" and stored.decision["decided_by"] == "auto"
    assert stored.ip == "203.0.113.7" and stored.author.email == "ann@example.org"
    # The stored comment is an ordinary Civil comment, visible through Civil's own API.
    assert stack.get(creds, stored.external_id).json["status"] == "approved"

    # A retry of the same call is the same comment: same answer, no second row.
    assert client.comment_check("203.0.113.7", **ham) == akismet.CheckResponse.HAM
    assert len(_comments(stack, KIND)) == 1

    links = " ".join(f"https://pills{i}.example/buy" for i in range(4))
    spam = {"comment_content": f"Cheap pills {links}", "comment_author": "Bot"}
    assert client.comment_check("198.51.100.9", **spam) == akismet.CheckResponse.SPAM
    [spam_row] = _comments(stack, spam["comment_content"])
    codes = {r["code"] for r in spam_row.decision["reasons"]}
    assert "spam_links" in codes and "spam_discard" not in codes

    # is_test: answered, never stored.
    before = len(_comments(stack))
    test_call = {**spam, "comment_content": f"Other pills {links}", "is_test": True}
    assert client.comment_check("198.51.100.9", **test_call) == akismet.CheckResponse.SPAM
    assert len(_comments(stack)) == before

    # submit-spam with the fields of the checked comment labels that very comment.
    assert client.submit_spam("203.0.113.7", **ham) is True
    # submit-ham of a text Civil never saw still becomes a label for the site.
    assert client.submit_ham("192.0.2.1", comment_content="Never checked here") is True
    with stack.db.session() as session:
        labels = {
            (f.label, f.comment_id, f.source, f.text)
            for f in session.scalars(select(Feedback).where(Feedback.site_id == creds.site_id))
        }
    assert labels == {
        ("spam", stored.id, "akismet", KIND),
        ("ham", None, "akismet", "Never checked here"),
    }

    usage = client.usage_limit()
    assert usage["usage"] == len(_comments(stack)) and usage["throttled"] is False
    assert client.verify_key("civ_not-a-key", BLOG) is False
    with pytest.raises(akismet.APIKeyError):
        _akismet(live, "civ_not-a-key")


def test_akismet_discard_tier_and_honeypot_over_raw_http(akismet_stack: Any, live: LiveServer):
    stack = akismet_stack
    # A filled honeypot (0.92) and five links (0.92) both reach this site's discard tier.
    creds = stack.site(spam_discard_threshold=0.8)
    stack.start_worker()
    form = {
        "blog": BLOG,
        "user_ip": "198.51.100.20",
        "comment_content": "Great article, visit my page",
        "honeypot_field_name": "hidden_website",
        "hidden_website": "http://spam.example",
    }
    # The key as the host's first label, as older Akismet plugins send it.
    with httpx.Client(trust_env=False, timeout=30) as http:
        answer = http.post(
            f"{live.url}/1.1/comment-check",
            data=form,
            headers={"Host": f"{creds.api_key}.civil.example"},
        )
    assert answer.status_code == 200, answer.headers
    assert answer.content == b"true", answer.headers.get("X-akismet-debug-help")
    assert answer.headers["X-akismet-pro-tip"] == "discard"
    assert answer.headers["X-Civil-Verdict"] == "decision"
    [row] = _comments(stack, form["comment_content"])
    assert {"spam_honeypot", "spam_discard"} <= {r["code"] for r in row.decision["reasons"]}

    # The client library reads the pro-tip header as its DISCARD verdict.
    client = _akismet(live, creds.api_key)
    links = " ".join(f"https://casino{i}.example" for i in range(5))
    verdict = client.comment_check("198.51.100.21", comment_content=f"Win big {links}")
    assert verdict == akismet.CheckResponse.DISCARD


def test_akismet_api_url_constant_pointed_at_civil(
    light_live: tuple[Any, LiveServer], monkeypatch: pytest.MonkeyPatch
):
    stack, live = light_live
    creds = stack.site()
    monkeypatch.setattr(akismet._common, "_API_URL", live.url)
    monkeypatch.delenv("HTTP_PROXY", raising=False)
    client = akismet.SyncClient.validated_client(config=akismet.Config(creds.api_key, BLOG))
    assert client.verify_key() is True
    assert client.comment_check("192.0.2.4", comment_content=KIND, is_test=True) == 0


def test_perspectiveapi_package_scores_through_civil(
    light_live: tuple[Any, LiveServer], linear: LinearToxicityModel
):
    stack, live = light_live
    creds = stack.site()
    client = Perspective(creds.api_key)
    # The package hard-codes Google's URL on a private httpx client: swap in one that
    # reaches Civil (the only hook it has).
    client._Perspective__client = client_for(  # type: ignore[attr-defined]
        "https://commentanalyzer.googleapis.com", live.url
    )
    attributes = [Attribute.TOXICITY, Attribute.INSULT, Attribute.THREAT]
    rude, kind = client.score(INSULT, attributes), client.score(KIND, attributes)
    expected = linear.score_batch([INSULT])[0]
    assert rude.toxicity == pytest.approx(expected["toxicity"], abs=1e-6)
    assert rude.insult == pytest.approx(expected["insult"], abs=1e-6)
    assert rude.threat == pytest.approx(expected["threat"], abs=1e-6)
    assert rude.toxicity > 0.5 > kind.toxicity
    # Attributes not requested are not answered.
    assert rude.severe_toxicity is None


def _commentanalyzer(live: LiveServer, key: str) -> Any:
    return build(
        "commentanalyzer",
        "v1alpha1",
        developerKey=key,
        discoveryServiceUrl=f"{live.url}/$discovery/rest?version={{apiVersion}}",
        static_discovery=False,
        cache_discovery=False,
    )


def test_google_api_client_builds_from_civil_discovery(
    light_live: tuple[Any, LiveServer], linear: LinearToxicityModel
):
    stack, live = light_live
    creds = stack.site()
    service = _commentanalyzer(live, creds.api_key)
    text = f"{KIND} {INSULT}"
    body = {
        "comment": {"text": text},
        "requestedAttributes": {"INSULT": {}, "PROFANITY": {}, "SEVERE_TOXICITY": {}},
        "languages": ["en"],
        "spanAnnotations": True,
        "doNotStore": True,
        "clientToken": "tok-1",
    }
    answer = service.comments().analyze(body=body).execute()
    assert answer["clientToken"] == "tok-1" and answer["languages"] == ["en"]
    insult = answer["attributeScores"]["INSULT"]
    assert insult["summaryScore"]["value"] == pytest.approx(
        linear.score_batch([text])[0]["insult"], abs=1e-6
    )
    spans = insult["spanScores"]
    assert [text[s["begin"] : s["end"]] for s in spans] == [KIND, INSULT]
    assert spans[1]["score"]["value"] > spans[0]["score"]["value"]
    # PROFANITY is Civil's `obscene` label.
    assert answer["attributeScores"]["PROFANITY"]["summaryScore"]["value"] == pytest.approx(
        linear.score_batch([text])[0]["obscene"], abs=1e-6
    )
    assert set(answer["attributeScores"]) == {"INSULT", "PROFANITY", "SEVERE_TOXICITY"}
    # Nothing was stored by analyze.
    assert _comments(stack) == []

    # scoreThreshold drops an attribute scoring below it.
    kind = {"comment": {"text": KIND}, "requestedAttributes": {"TOXICITY": {"scoreThreshold": 0.9}}}
    assert service.comments().analyze(body=kind).execute()["attributeScores"] == {}

    for bad, error_type in (
        ({**body, "requestedAttributes": {"FLIRTATION": {}}}, "INVALID_REQUESTED_ATTRIBUTE"),
        ({**body, "languages": ["fr"]}, "LANGUAGE_NOT_SUPPORTED_BY_ATTRIBUTE"),
    ):
        with pytest.raises(HttpError) as caught:
            service.comments().analyze(body=bad).execute()
        assert caught.value.resp.status == 400
        error = json.loads(caught.value.content)["error"]
        assert error["status"] == "INVALID_ARGUMENT"
        assert error["details"][0]["errorType"] == error_type

    suggestion = {
        "comment": {"text": INSULT},
        "attributeScores": {"INSULT": {"summaryScore": {"value": 0.2}}},
        "clientToken": "tok-2",
    }
    assert service.comments().suggestscore(body=suggestion).execute()["clientToken"] == "tok-2"
    with stack.db.session() as session:
        [label] = session.scalars(select(Feedback))
        assert (label.site_id, label.kind, label.label, label.value, label.source) == (
            creds.site_id,
            "toxicity",
            "insult",
            0.2,
            "perspective",
        )
        assert label.text == INSULT

    with pytest.raises(HttpError) as caught:
        _commentanalyzer(live, "civ_wrong").comments().analyze(body=body).execute()
    assert caught.value.resp.status == 400
    assert "API key not valid" in json.loads(caught.value.content)["error"]["message"]


def test_openai_sdk_moderations_against_civil(
    light_live: tuple[Any, LiveServer], linear: LinearToxicityModel
):
    stack, live = light_live
    creds = stack.site()
    client = openai.OpenAI(api_key=creds.api_key, base_url=f"{live.url}/v1", max_retries=0)
    threat = "I will find you and kill you, you worthless idiot."
    insult = "What a moron you are."
    answer = client.moderations.create(model="civil", input=[threat, KIND, insult])
    assert answer.model.startswith("civil:") and len(answer.results) == 3
    rude, kind, held = answer.results
    scores = linear.score_batch([threat, KIND, insult])
    assert rude.category_scores.harassment == pytest.approx(scores[0]["insult"], abs=1e-6)
    assert rude.category_scores.violence == pytest.approx(scores[0]["threat"], abs=1e-6)
    # The default policy auto-rejects threats but only holds insults: harassment is true at
    # insult's hold threshold, violence at threat's reject threshold.
    assert "insult" not in DEFAULT_REJECT
    assert rude.categories.harassment == (scores[0]["insult"] >= DEFAULT_HOLD["insult"])
    assert rude.categories.violence == (scores[0]["threat"] >= DEFAULT_REJECT["threat"])
    assert rude.flagged == any(
        scores[0][k] >= min(DEFAULT_REJECT.get(k, 1.0), v) for k, v in DEFAULT_HOLD.items()
    )
    assert rude.flagged and not kind.flagged
    # An insult the default policy would hold for a moderator, not reject, is still flagged.
    assert DEFAULT_HOLD["insult"] <= scores[2]["insult"]
    assert all(scores[2][k] < v for k, v in DEFAULT_REJECT.items())
    assert held.flagged and held.categories.harassment
    assert kind.category_scores.sexual == 0.0 and kind.categories.self_harm is False

    single = client.moderations.create(input=KIND)
    assert len(single.results) == 1 and single.results[0].flagged is False

    with pytest.raises(openai.AuthenticationError):
        openai.OpenAI(
            api_key="civ_wrong", base_url=f"{live.url}/v1", max_retries=0
        ).moderations.create(input="hello")
    with stack.db.session() as session:
        assert session.scalar(select(func.count()).select_from(Comment)) == 0
