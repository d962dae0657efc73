"""The optional LLM labeller: a thread's labels asked of an OpenAI-compatible chat-completions
endpoint with a JSON-schema-constrained answer, falling back to the local labeller on any error
and beyond the configured rate and daily cap. Used only for projects that opted in, and only
when an endpoint and a model are configured: otherwise nothing is ever sent anywhere."""

from __future__ import annotations

import collections
import dataclasses
import logging
import time
from collections.abc import Callable
from typing import Any

import msgspec

from threadline.config import Settings
from threadline.insights.labels import label_thread
from threadline.insights.llm import prompt
from threadline.insights.llm.budget import Budget
from threadline.insights.llm.client import CompletionError, complete
from threadline.insights.llm.schema import SchemaViolation, decode_labels, response_format
from threadline.insights.model import Labels, ProjectVocabulary, ThreadText

__all__ = ["LlmConfig", "LlmLabeller"]

log = logging.getLogger(__name__)

Labeller = Callable[[ThreadText, ProjectVocabulary], Labels]


@dataclasses.dataclass(frozen=True)
class LlmConfig:
    """Where and how much to send (THREADLINE_LLM_*). Picklable: the serve command hands it to
    the worker's child process."""

    base_url: str
    model: str
    api_key: str = dataclasses.field(default="", repr=False)  # never in a repr or a log line
    max_requests_per_minute: int = 60
    max_threads_per_day: int = 2_000
    timeout_seconds: float = 30.0

    @classmethod
    def from_settings(cls, settings: Settings) -> LlmConfig | None:
        """The configuration, or None when no endpoint or no model is set (the default)."""
        if not (settings.llm_base_url and settings.llm_model):
            return None
        return cls(
            base_url=settings.llm_base_url,
            model=settings.llm_model,
            api_key=settings.llm_api_key,
            max_requests_per_minute=settings.llm_max_requests_per_minute,
            max_threads_per_day=settings.llm_max_threads_per_day,
            timeout_seconds=settings.llm_timeout_seconds,
        )


class LlmLabeller:
    """A labeller (same signature as labels.label_thread) asking the LLM, one request per
    thread. `fallbacks` counts, by reason, the threads labelled locally instead."""

    def __init__(
        self,
        config: LlmConfig,
        *,
        fallback: Labeller = label_thread,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.config = config
        self.fallback = fallback
        self.budget = Budget(
            per_minute=config.max_requests_per_minute,
            per_day=config.max_threads_per_day,
            clock=clock,
        )
        self.labelled = 0
        # Whether the last thread got the local labels instead (the worker then stores it with
        # the local content hash, so `insights run` asks the model again later).
        self.fell_back = False
        self.fallbacks: collections.Counter[str] = collections.Counter()
        self._format = response_format()

    def __call__(self, thread: ThreadText, vocabulary: ProjectVocabulary) -> Labels:
        refused = self.budget.take()
        if refused is not None:
            return self._fall_back(refused, thread, vocabulary)
        try:
            content = complete(
                self.config.base_url,
                self.config.api_key,
                self._body(thread, vocabulary),
                timeout=self.config.timeout_seconds,
            )
        except CompletionError as exc:
            return self._fall_back("request", thread, vocabulary, str(exc))
        try:
            labels = decode_labels(content, thread.question)
        except (msgspec.MsgspecError, SchemaViolation) as exc:
            return self._fall_back("answer", thread, vocabulary, str(exc))
        self.labelled += 1
        self.fell_back = False
        return labels

    def _body(self, thread: ThreadText, vocabulary: ProjectVocabulary) -> dict[str, Any]:
        return {
            "model": self.config.model,
            "messages": prompt.messages(thread, vocabulary),
            "response_format": self._format,
            "temperature": 0,
        }

    def _fall_back(
        self, reason: str, thread: ThreadText, vocabulary: ProjectVocabulary, detail: str = ""
    ) -> Labels:
        self.fallbacks[reason] += 1
        self.fell_back = True
        if reason == "request" or reason == "answer":
            log.warning("LLM labeller: %s failed (%s); labelled locally", reason, detail[:200])
        elif self.fallbacks[reason] == 1:  # once per process, not once per thread
            log.warning("LLM labeller: %s reached; labelling locally meanwhile", reason)
        return self.fallback(thread, vocabulary)
