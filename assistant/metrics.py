"""Prometheus metrics, exposed at /metrics."""

from __future__ import annotations

from prometheus_client import Counter, Histogram

MESSAGES = Counter("amtsbote_messages_total", "Citizen messages handled", ["channel"])
LATENCY = Histogram(
    "amtsbote_message_seconds", "Time to answer one citizen message", ["channel"],
    buckets=(0.01, 0.025, 0.05, 0.1, 0.15, 0.25, 0.5, 1, 2.5, 5),
)
NLU_FAILURES = Counter("amtsbote_nlu_unavailable_total", "Messages answered without Rasa")
NLU_CALLS = Counter("amtsbote_nlu_calls_total", "Free-text messages that needed Rasa")
NLU_SKIPPED = Counter("amtsbote_nlu_skipped_total",
                      "Free-text messages that answered the pending question without Rasa")
ERRORS = Counter("amtsbote_dialogue_errors_total", "Turns that failed with an internal error")
RATE_LIMITED = Counter("amtsbote_rate_limited_total", "Messages refused by the rate limit",
                       ["channel"])
