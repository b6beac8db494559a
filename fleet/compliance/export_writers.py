"""Writers for export tables, each fed one row at a time: CSV (safe against formula
injection), XLSX (xlsxwriter in constant-memory mode) and GeoJSON tracks (one LineString per
car and local day, written feature by feature)."""

from __future__ import annotations

import csv
import json
from collections.abc import Sequence
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any, TextIO
from zoneinfo import ZoneInfo

import xlsxwriter

#: A text cell starting with one of these is read as a formula by spreadsheet programs.
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r", "\n", "|")


def safe_text(value: str) -> str:
    """Text that a spreadsheet shows as text: a leading formula trigger is quoted with '."""
    return "'" + value if value.startswith(FORMULA_TRIGGERS) else value


def cell(value: Any) -> Any:
    """One value as written to a CSV or XLSX cell: times ISO-8601 UTC, text made safe."""
    if value is None:
        return ""
    if isinstance(value, str):
        return safe_text(value) if value else value
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


class CsvTableWriter:
    """A CSV file (UTF-8 with byte-order mark, so spreadsheet programs read Chinese text)."""

    def __init__(self, path: Path, columns: Sequence[str]) -> None:
        self.path = path
        self._file: TextIO = path.open("w", encoding="utf-8-sig", newline="")
        self._writer = csv.writer(self._file)
        self._writer.writerow([safe_text(c) for c in columns])
        self.rows = 0

    def write(self, values: Sequence[Any]) -> None:
        self._writer.writerow([cell(v) for v in values])
        self.rows += 1

    def write_prepared(self, values: Sequence[Any]) -> None:
        """Write values already made safe (text quoted, times as text; None is empty)."""
        self._writer.writerow(values)
        self.rows += 1

    def close(self) -> None:
        self._file.close()


class XlsxWorkbookWriter:
    """One workbook, one sheet per table, written row by row with constant memory; text is
    never turned into formulas or links."""

    MAX_ROWS = 1_048_576

    def __init__(self, path: Path) -> None:
        self.path = path
        self._book = xlsxwriter.Workbook(str(path), {
            "constant_memory": True, "strings_to_formulas": False, "strings_to_urls": False,
            "strings_to_numbers": False, "tmpdir": str(path.parent),
        })
        self._header = self._book.add_format({"bold": True})

    def sheet(self, name: str, columns: Sequence[str]) -> XlsxSheetWriter:
        return XlsxSheetWriter(self._book.add_worksheet(name[:31]), columns, self._header)

    def close(self) -> None:
        self._book.close()


class XlsxSheetWriter:
    def __init__(self, sheet: Any, columns: Sequence[str], header: Any) -> None:
        self._sheet = sheet
        sheet.write_row(0, 0, list(columns), header)
        self.rows = 0
        self.truncated = False

    def write(self, values: Sequence[Any]) -> None:
        if self.rows + 1 >= XlsxWorkbookWriter.MAX_ROWS:
            self.truncated = True
            return
        self.rows += 1
        for index, value in enumerate(values):
            value = cell(value)
            if isinstance(value, str):
                self._sheet.write_string(self.rows, index, value)
            else:
                self._sheet.write_number(self.rows, index, value)

    def close(self) -> None:
        """Sheets are closed with their workbook."""


def iso_utc(value: str | datetime) -> str:
    """ISO-8601 UTC text of a stored time: a datetime, or SQLite's raw UTC text
    ``YYYY-MM-DD HH:MM:SS[.ffffff]`` (read raw to skip parsing a million timestamps)."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.astimezone(UTC).isoformat()
    text = value.replace(" ", "T", 1)
    return text.removesuffix(".000000") + "+00:00"


class GeoJsonTrackWriter:
    """A FeatureCollection of tracks: positions must arrive ordered by car, then time. Each
    feature is one car's day (display time zone); only that day is held in memory."""

    def __init__(self, path: Path, tz: ZoneInfo) -> None:
        self.path = path
        self._tz = tz
        self._file = path.open("w", encoding="utf-8")
        self._file.write('{"type":"FeatureCollection","features":[\n')
        self._key: tuple[int, date] | None = None
        self._hour = ""
        self._day = date.min
        self._plate = ""
        self._coords: list[list[float]] = []
        self._times: list[str] = []
        self.features = 0
        self.rows = 0

    def write(self, vehicle_id: int, plate: str, ts_iso: str, lat: float, lon: float) -> None:
        """One fix; ``ts_iso`` is its ISO-8601 time with offset."""
        hour = ts_iso[:13]
        if hour != self._hour:  # the local day can only change with the hour
            self._hour, self._day = hour, datetime.fromisoformat(ts_iso).astimezone(self._tz).date()
        key = (vehicle_id, self._day)
        if key != self._key:
            self._flush()
            self._key, self._plate = key, plate
        self._coords.append([lon, lat])
        self._times.append(ts_iso)
        self.rows += 1

    def _flush(self) -> None:
        if self._key is None or not self._coords:
            return
        geometry = ({"type": "Point", "coordinates": self._coords[0]} if len(self._coords) == 1
                    else {"type": "LineString", "coordinates": self._coords})
        feature = {
            "type": "Feature", "geometry": geometry,
            "properties": {"vehicle_id": self._key[0], "plate": self._plate, "local_date": self._key[1].isoformat(),
                           "start": self._times[0], "end": self._times[-1], "points": len(self._times),
                           "times": self._times},
        }
        self._file.write((",\n" if self.features else "") + json.dumps(feature, ensure_ascii=False,
                                                                        separators=(",", ":")))
        self.features += 1
        self._coords, self._times = [], []

    def close(self) -> None:
        self._flush()
        self._file.write("\n]}\n")
        self._file.close()
