"""Handling memorid's typed errors: a rate-limited upstream
(`QuotaExceededError.retry_after`), bad input (`InvalidArgumentError`
naming the field), and an unreachable memorid (`UnavailableError`), plus
the client's own opt-in retries for unary calls.

    MEMORID_TARGET=localhost:50051 MEMORID_MODEL=openai/gpt-4o-mini python error_handling.py
"""

from __future__ import annotations

import os
import time

import memorid


def chat_with_backoff(
    mem: memorid.AttributionScope, model: str, text: str, *, attempts: int = 3, max_wait: float = 30.0
) -> memorid.ChatResult:
    """A chat that waits out upstream rate limits as the server asks.

    Chats are never retried by the client itself (memorid already retried
    the upstream before the first token), so the app decides."""
    for attempt in range(1, attempts + 1):
        try:
            return mem.chat(model, [{"role": "user", "content": text}]).collect()
        except memorid.QuotaExceededError as error:
            if attempt == attempts:
                raise
            wait = min(max_wait, error.retry_after if error.retry_after is not None else 2.0**attempt)
            print(f"rate limited ({error.reason}); retrying in {wait:.1f} s")
            time.sleep(wait)
    raise AssertionError("unreachable")


def report_bad_input(mem: memorid.AttributionScope) -> list[str]:
    """What InvalidArgumentError tells: every offending field's path."""
    try:
        mem.attribute([{"role": "user", "content": "hi"}, {"role": "narrator", "content": "and then"}])
    except memorid.InvalidArgumentError as error:
        for violation in error.violations:
            print(f"bad field {violation.field}: {violation.description}")
        return [v.field for v in error.violations]
    return []


def main(target: str | None = None, api_key: str | None = None, model: str | None = None, user: str = "user_123") -> str:
    target = target or os.environ.get("MEMORID_TARGET", "localhost:50051")
    api_key = api_key or os.environ.get("MEMORID_API_KEY")
    model = model or os.environ.get("MEMORID_MODEL", "openai/gpt-4o-mini")
    # Unary calls (recall, list_facts, wait_for_augmentation, ...) retry on
    # UNAVAILABLE / RESOURCE_EXHAUSTED with backoff, within their timeout.
    retry = memorid.RetryPolicy(max_attempts=5, initial_backoff=0.2, max_backoff=2.0)
    with memorid.Client(target, api_key=api_key, retry=retry, timeout=10) as client:
        mem = client.attribution(user, process_id="errors-example")
        report_bad_input(mem)
        result = chat_with_backoff(mem, model, "Summarize my preferences.")
        print(result.text)
        return result.text


if __name__ == "__main__":
    main()
