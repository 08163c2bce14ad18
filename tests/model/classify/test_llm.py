"""The LLM path through litellm, against a local OpenAI-compatible stub over HTTP."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session

from model.classify.llm import LLMClassifier, LLMRequest, Placements
from model.classify.offline import StepProfile
from model.services import classification, signal_files
from model.settings import ClassifySettings
from model.tables import ClassifyRun, Signal

STEPS = [
    StepProfile(
        1, "Customer orders a physical card", "Ordering a plastic card and waiting for delivery"
    ),
    StepProfile(2, "Customer closes account", "Closing or terminating the account"),
]


@pytest.fixture
def stub(llm_stub_server: Any) -> Any:
    stats = httpx.get(llm_stub_server.url + "/_stub/stats").json()
    llm_stub_server.calls_before = stats["calls"]
    return llm_stub_server


def calls(stub: Any) -> int:
    return int(httpx.get(stub.url + "/_stub/stats").json()["calls"]) - stub.calls_before


def fault(stub: Any, **body: Any) -> None:
    httpx.post(stub.url + "/_stub/faults", json=body).raise_for_status()


def classifier(stub: Any, **options: Any) -> LLMClassifier:
    return LLMClassifier(
        model="openai/gpt-4o-mini", api_base=stub.url + "/v1", api_key="stub-key", **options
    )


class TestLLMClassifier:
    def test_structured_answers_for_a_batch_in_one_call(self, stub: Any) -> None:
        llm = classifier(stub, batch_size=10)
        answers = llm.place(
            [
                LLMRequest("my plastic card delivery is late", STEPS),
                LLMRequest("terminate the account", STEPS),
            ]
        )
        assert [a.step_id if a else None for a in answers] == [1, 2]
        assert calls(stub) == 1
        assert llm.usage.prompt_tokens > 0
        assert llm.usage.cost_usd > 0

    def test_signals_are_batched(self, stub: Any) -> None:
        llm = classifier(stub, batch_size=3)
        llm.place([LLMRequest(f"card delivery {n}", STEPS) for n in range(7)])
        assert calls(stub) == 3

    def test_the_schema_sent_is_the_response_model(self) -> None:
        schema = Placements.model_json_schema()
        assert "description" in schema["$defs"]["StepChoice"]["properties"]["step"]

    def test_malformed_answers_are_retried_then_left_unanswered(self, stub: Any) -> None:
        fault(stub, kind="malformed", times=1)
        llm = classifier(stub, max_attempts=2)
        [answer] = llm.place([LLMRequest("terminate the account", STEPS)])
        assert answer is not None
        assert answer.step_id == 2
        fault(stub, kind="malformed", times=2)
        [answer] = llm.place([LLMRequest("terminate the account", STEPS)])
        assert answer is None
        assert llm.usage.failures == 3

    def test_provider_errors_and_timeouts_are_retried_within_the_budget(self, stub: Any) -> None:
        fault(stub, kind="error", times=1)
        fault(stub, kind="slow", delay=2, times=1)
        llm = classifier(stub, max_attempts=3, timeout=0.5)
        [answer] = llm.place([LLMRequest("terminate the account", STEPS)])
        assert answer is not None
        assert llm.usage.failures == 2

    def test_the_call_budget_is_never_exceeded(self, stub: Any) -> None:
        llm = classifier(stub, batch_size=1, max_calls=2)
        answers = llm.place([LLMRequest(f"card {n}", STEPS) for n in range(4)])
        assert calls(stub) == 2
        assert answers[2:] == [None, None]

    def test_only_the_candidates_go_into_the_prompt_with_examples(self, stub: Any) -> None:
        llm = classifier(stub)
        llm.examples = {1: ["where is my card", "card not delivered", "third example"]}
        messages, step_ids = llm.prompt([LLMRequest("hello", STEPS[:1])])
        assert step_ids == [1]
        assert "Customer closes account" not in messages[1]["content"]
        assert messages[1]["content"].count("e.g.") == 2


class TestRouter:
    def settings(self, stub: Any) -> ClassifySettings:
        return ClassifySettings(
            accept_threshold=1.0,
            embedding_model="none",  # the offline guess in n-grams alone is enough here
            llm_model="openai/gpt-4o-mini",
            llm_api_base=stub.url + "/v1",
            llm_api_key="stub-key",
        )

    def test_unsure_signals_go_to_the_llm_and_are_cached(
        self, session: Session, fintech: tuple, stub: Any
    ) -> None:
        ws, journey = fintech
        rows = [
            {"text": "my physical card order has not arrived"},
            {"text": "please close my account"},
        ]
        signal_files.import_signals(session, ws, journey, rows)
        report = classification.classify_journey(session, ws, journey, self.settings(stub))
        assert report.accepted_by_llm == 2
        assert report.llm.calls == 1
        placed = {s.text: s for s in session.scalars(select(Signal))}
        assert placed["please close my account"].classifier == "llm:openai/gpt-4o-mini"
        run = session.scalars(select(ClassifyRun)).one()
        assert (run.llm_calls, run.accepted_llm) == (1, 2)
        assert run.prompt_tokens > 0
        assert run.cost_usd > 0
        # The same texts again, as new signals: answered from the cache, nothing paid.
        signal_files.import_signals(session, ws, journey, rows + rows)
        again = classification.classify_journey(session, ws, journey, self.settings(stub))
        assert again.cache_hits == 2
        assert again.llm.calls == 0

    def test_an_llm_without_a_valid_answer_leaves_the_signal_for_review(
        self, session: Session, fintech: tuple, stub: Any
    ) -> None:
        ws, journey = fintech
        signal_files.import_signals(session, ws, journey, [{"text": "please close my account"}])
        fault(stub, kind="malformed", times=3)
        report = classification.classify_journey(session, ws, journey, self.settings(stub))
        assert report.to_review == 1
        signal = session.scalars(select(Signal)).one()
        assert signal.state == "needs_review"
        assert signal.classifier == "offline:zero-shot"
        assert signal.step_id is not None

    def test_a_low_confidence_llm_answer_goes_to_review(
        self, session: Session, fintech: tuple, stub: Any
    ) -> None:
        ws, journey = fintech
        signal_files.import_signals(session, ws, journey, [{"text": "qwerty zxcvb"}])
        classification.classify_journey(session, ws, journey, self.settings(stub))
        signal = session.scalars(select(Signal)).one()
        assert signal.state == "needs_review"
        assert signal.classifier == "llm:openai/gpt-4o-mini"
