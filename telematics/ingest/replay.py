"""``fleet replay``: recorded points (one payload per line, topic-free) through the same
pipeline as the MQTT worker, without a broker; the dirty windows are evaluated after the
last batch, and the silence sweep runs on the recording's own clock (its newest fix), as the
worker's evaluator does after each round."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from telematics.ingest.decoding import Rejection
from telematics.ingest.evaluator import Evaluator
from telematics.ingest.pipeline import Decoded, Inbound, IngestPipeline


@dataclass
class ReplaySummary:
    lines: int = 0
    stored: int = 0
    duplicates: int = 0
    jumps: int = 0
    rejections: list[Rejection] = field(default_factory=list)
    alerts: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "lines": self.lines, "stored": self.stored, "duplicates": self.duplicates,
            "jumps": self.jumps, "rejected": len(self.rejections), "alerts": self.alerts,
        }


def replay(pipeline: IngestPipeline, lines: Iterable[str], source: str) -> ReplaySummary:
    """Feed ``lines`` in micro-batches of FLEET_INGEST_BATCH_SIZE positions, then evaluate
    every dirty window and sweep for terminals left silent (the summary lists the new or
    changed alerts); blank lines are skipped. Rejections name the line as ``<source>:<line number>``."""
    summary = ReplaySummary()
    for batch in _batches(pipeline, lines, source, summary):
        outcome = pipeline.store_with_retry(batch)
        summary.stored += outcome.stored
        summary.duplicates += outcome.duplicates
        summary.jumps += outcome.jumps
        summary.rejections += outcome.rejections
    evaluator = Evaluator(pipeline.engine, pipeline.settings, sink=lambda _alerts: None)
    summary.alerts = evaluator.drain().alerts + evaluator.sweep_silent()
    return summary


def _batches(
    pipeline: IngestPipeline, lines: Iterable[str], source: str, summary: ReplaySummary
) -> Iterator[list[Decoded]]:
    batch: list[Decoded] = []
    fixes = 0
    for number, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        summary.lines += 1
        decoded = pipeline.decode(Inbound(f"{source}:{number}", line.encode()), check_topic=False)
        batch.append(decoded)
        fixes += len(decoded.fixes)
        if fixes >= pipeline.settings.ingest.batch_size:
            yield batch
            batch, fixes = [], 0
    if batch:
        yield batch
