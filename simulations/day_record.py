"""What a live day has already done to the platform, kept in the data folder so that a
restarted ``fleet demo`` carries on with the same day instead of filing it again.

The record holds the day's start (the simulation regenerates the same demand, plan and
misbehaviour from it and the seed), the platform id of every request it filed, by the
request's key, and the accepted plan. A record of another local day is replaced.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import structlog

log = structlog.get_logger(__name__)

FILE_NAME = "live-day.json"


@dataclass
class DayRecord:
    """One live day's progress; ``resumed`` when it was read back from an earlier run."""

    path: Path
    started_at: datetime
    requests: dict[str, int] = field(default_factory=dict)
    plan_id: int | None = None
    resumed: bool = False

    @classmethod
    def open(cls, data_dir: Path, now: datetime, tz: ZoneInfo) -> DayRecord:
        """The record of ``now``'s local day in ``data_dir``, or a new one starting at ``now``."""
        path = data_dir / FILE_NAME
        try:
            saved = json.loads(path.read_text(encoding="utf-8"))
            started_at = datetime.fromisoformat(saved["started_at"])
            if started_at.astimezone(tz).date() == now.astimezone(tz).date():
                return cls(path, started_at, {str(k): int(v) for k, v in saved.get("requests", {}).items()},
                           saved.get("plan_id"), resumed=True)
        except FileNotFoundError:
            pass
        except (ValueError, KeyError, TypeError) as exc:
            log.warning("live_day_record_unreadable", path=str(path), error=str(exc))
        record = cls(path, now)
        record.save()
        return record

    def filed(self, key: str, request_id: int) -> None:
        """Remember a filed request (saved at once: a run stopped mid-way files it no more)."""
        self.requests[key] = request_id
        self.save()

    def planned(self, plan_id: int) -> None:
        self.plan_id = plan_id
        self.save()

    def save(self) -> None:
        payload = {"started_at": self.started_at.isoformat(), "requests": self.requests, "plan_id": self.plan_id}
        tmp = self.path.with_suffix(".tmp")
        tmp.write_text(json.dumps(payload, ensure_ascii=False), encoding="utf-8")
        tmp.replace(self.path)
