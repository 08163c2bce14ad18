"""The LLM classifier: several signals per call, only likely steps in the prompt, checked answers.

One call site wraps litellm, so any provider a user configures by model name works. The answer
is a pydantic model sent as the structured-output schema and validated on return; malformed
answers, timeouts and provider errors are retried within a budget, and a signal still without
a valid answer is left for a person, never guessed.
"""

from __future__ import annotations

import hashlib
import logging
import os
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from pydantic import BaseModel, Field, ValidationError

from model.classify.offline import StepProfile
from model.errors import InvalidInput

log = logging.getLogger(__name__)
T = TypeVar("T", bound=BaseModel)

SYSTEM_PROMPT = (
    "You place customer signals (support messages, billing events, product analytics) on the "
    "step of a customer journey they are about. For each signal choose the one step that fits "
    "best from the numbered steps, or 0 when none fits, and say how sure you are."
)


class StepChoice(BaseModel):
    """Where one signal belongs."""

    signal: int = Field(description="The signal's number, as given after #.")
    step: int = Field(description="The chosen step's number, as given after S; 0 if none fits.")
    confidence: float = Field(ge=0, le=1, description="How sure you are, from 0 to 1.")


class Placements(BaseModel):
    """One placement per signal in the request."""

    placements: list[StepChoice] = Field(description="One entry per signal, in any order.")


@dataclass(frozen=True)
class LLMRequest:
    """A signal to place and the steps worth offering for it (most likely first)."""

    text: str
    candidates: Sequence[StepProfile]


@dataclass(frozen=True)
class LLMAnswer:
    step_id: int | None
    confidence: float


@dataclass
class LLMUsage:
    calls: int = 0
    failures: int = 0
    prompt_tokens: int = 0
    completion_tokens: int = 0
    cost_usd: float = 0.0


@dataclass
class LLMClassifier:
    """Places signals through an LLM with few-shot examples from confirmed placements."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    batch_size: int = 10
    examples_per_step: int = 2
    timeout: float = 30.0
    max_attempts: int = 3
    max_calls: int = 200
    examples: dict[int, list[str]] = field(default_factory=dict)
    usage: LLMUsage = field(default_factory=LLMUsage)

    @property
    def name(self) -> str:
        return f"llm:{self.model}"[:100]

    def place(self, requests: Sequence[LLMRequest]) -> list[LLMAnswer | None]:
        """Place each request; None where no valid answer came within the budget."""
        answers: list[LLMAnswer | None] = []
        for start in range(0, len(requests), self.batch_size):
            answers.extend(self._place_batch(requests[start : start + self.batch_size]))
        return answers

    def prompt(self, batch: Sequence[LLMRequest]) -> tuple[list[dict[str, str]], list[int]]:
        """Build the messages for a batch; returns them and the step id of each S-number."""
        steps: list[StepProfile] = []
        seen: set[int] = set()
        for request in batch:
            for candidate in request.candidates:
                if candidate.id not in seen:
                    seen.add(candidate.id)
                    steps.append(candidate)
        lines = ["Steps:"]
        for number, step in enumerate(steps, start=1):
            description = f" - {step.description}" if step.description else ""
            lines.append(f"S{number}. {step.name}{description}")
            for example in self.examples.get(step.id, [])[: self.examples_per_step]:
                lines.append(f'   e.g. "{example[:160]}"')
        lines.append("Signals:")
        for number, request in enumerate(batch, start=1):
            text = " ".join(request.text.split())[:600]
            lines.append(f"#{number}: {text}")
        messages = [
            {"role": "system", "content": SYSTEM_PROMPT},
            {"role": "user", "content": "\n".join(lines)},
        ]
        return messages, [step.id for step in steps]

    def _place_batch(self, batch: Sequence[LLMRequest]) -> list[LLMAnswer | None]:
        messages, step_ids = self.prompt(batch)
        for attempt in range(1, self.max_attempts + 1):
            if self.usage.calls >= self.max_calls:
                log.warning("llm.budget_spent calls=%d", self.usage.calls)
                return [None] * len(batch)
            try:
                content = self._complete(messages)
                parsed = Placements.model_validate_json(content)
            except ValidationError as error:
                self.usage.failures += 1
                log.warning("llm.malformed_answer attempt=%d error=%s", attempt, str(error)[:200])
                continue
            except Exception as error:  # provider errors, timeouts: litellm's many types
                self.usage.failures += 1
                log.warning("llm.call_failed attempt=%d error=%s", attempt, type(error).__name__)
                continue
            return self._answers(parsed, len(batch), step_ids)
        return [None] * len(batch)

    def _answers(
        self, parsed: Placements, size: int, step_ids: list[int]
    ) -> list[LLMAnswer | None]:
        answers: list[LLMAnswer | None] = [None] * size
        for choice in parsed.placements:
            if not 1 <= choice.signal <= size:
                continue
            if choice.step == 0:
                answers[choice.signal - 1] = LLMAnswer(step_id=None, confidence=choice.confidence)
            elif 1 <= choice.step <= len(step_ids):
                answers[choice.signal - 1] = LLMAnswer(step_ids[choice.step - 1], choice.confidence)
        return answers

    def _complete(self, messages: list[dict[str, str]]) -> str:
        return complete(
            self.model,
            messages,
            Placements,
            self.usage,
            api_base=self.api_base,
            api_key=self.api_key,
            timeout=self.timeout,
        )


def complete(
    model: str,
    messages: list[dict[str, str]],
    response_format: type[BaseModel] | None,
    usage: LLMUsage,
    *,
    api_base: str | None,
    api_key: str | None,
    timeout: float,
) -> str:
    """The one call site of litellm: the answer's text, with tokens and cost added to usage."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
    import litellm

    usage.calls += 1
    response: Any = litellm.completion(
        model=model,
        messages=messages,
        response_format=response_format,
        api_base=api_base,
        api_key=api_key,
        timeout=timeout,
        num_retries=0,
        temperature=0,
    )
    counted = getattr(response, "usage", None)
    if counted is not None:
        usage.prompt_tokens += int(counted.prompt_tokens or 0)
        usage.completion_tokens += int(counted.completion_tokens or 0)
    try:
        usage.cost_usd += float(litellm.completion_cost(completion_response=response))
    except Exception:  # a model without a known price costs what we cannot say
        log.info("llm.cost_unknown model=%s", model)
    return str(response.choices[0].message.content or "")


class LLMUnavailable(Exception):
    """No valid answer came from the LLM within the attempts."""


@dataclass
class LLMWriter:
    """Drafts text or a structured answer for automations, retried within a budget."""

    model: str
    api_base: str | None = None
    api_key: str | None = None
    timeout: float = 30.0
    max_attempts: int = 3
    usage: LLMUsage = field(default_factory=LLMUsage)

    @classmethod
    def from_settings(cls, settings: Any) -> LLMWriter:
        """The writer of the model the classify settings configure (which must be set)."""
        if not settings.llm_model:
            raise InvalidInput("no LLM is configured: set JOURNEYOPS_CLASSIFY__LLM_MODEL")
        return cls(
            model=settings.llm_model,
            api_base=settings.llm_api_base,
            api_key=settings.llm_api_key.get_secret_value() if settings.llm_api_key else None,
            timeout=settings.llm_timeout_seconds,
            max_attempts=settings.llm_max_attempts,
        )

    def write(self, messages: list[dict[str, str]]) -> str:
        return self._ask(messages, None, lambda text: text.strip() or None)

    def answer(self, messages: list[dict[str, str]], shape: type[T]) -> T:
        return self._ask(messages, shape, shape.model_validate_json)

    def _ask(self, messages: list[dict[str, str]], shape: Any, parse: Any) -> Any:
        last = "no attempt"
        for attempt in range(1, self.max_attempts + 1):
            try:
                text = complete(
                    self.model,
                    messages,
                    shape,
                    self.usage,
                    api_base=self.api_base,
                    api_key=self.api_key,
                    timeout=self.timeout,
                )
                parsed = parse(text)
                if parsed is not None:
                    return parsed
                last = "an empty answer"
            except ValidationError as error:
                last = f"a malformed answer ({str(error)[:120]})"
            except Exception as error:  # provider errors, timeouts: litellm's many types
                last = type(error).__name__
            self.usage.failures += 1
            log.warning("llm.write_failed attempt=%d reason=%s", attempt, last)
        raise LLMUnavailable(
            f"{self.model} gave no usable answer in {self.max_attempts} tries: {last}"
        )


def cache_key(model: str, journey_version: str, text: str) -> str:
    """The same text on the same version of a journey is never paid for twice."""
    return hashlib.sha256(f"{model}\x00{journey_version}\x00{text}".encode()).hexdigest()


def journey_version(steps: Sequence[StepProfile]) -> str:
    """A digest of the steps a journey offers; it changes when any step does."""
    digest = hashlib.sha256()
    for step in steps:
        digest.update(f"{step.id}\x00{step.name}\x00{step.description or ''}\x01".encode())
    return digest.hexdigest()[:16]
