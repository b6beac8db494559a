"""The pages' label catalogues (web/static/js/i18n.js and each page's labels_<page>.js):
Chinese and English hold the same keys, and no key is defined by two modules (a page's
module would silently replace the shared text, or the other way round)."""

from __future__ import annotations

import re
from collections import defaultdict
from pathlib import Path

JS = Path(__file__).resolve().parents[2] / "web" / "static" / "js"
KEY = re.compile(r'"([A-Za-z0-9_.\-]+)":\s*["`]')


def _catalogues() -> dict[str, tuple[set[str], set[str]]]:
    """Module name -> (zh keys, en keys) of every module that holds a catalogue."""
    found = {}
    for path in sorted(JS.glob("*.js")):
        text = path.read_text(encoding="utf-8")
        if "zh: {" not in text or "en: {" not in text:
            continue
        zh_at = text.index("zh: {")
        en_at = text.index("en: {", zh_at)
        found[path.name] = (set(KEY.findall(text[zh_at:en_at])), set(KEY.findall(text[en_at:])))
    return found


def test_every_catalogue_has_the_same_keys_in_both_languages() -> None:
    catalogues = _catalogues()
    assert {"i18n.js", "labels_audit.js", "labels_console.js"} <= set(catalogues)
    for name, (zh, en) in catalogues.items():
        assert zh, f"{name}: no labels found"
        assert zh == en, f"{name}: only in zh {sorted(zh - en)}, only in en {sorted(en - zh)}"


def test_no_label_is_defined_by_two_modules() -> None:
    owners: dict[str, list[str]] = defaultdict(list)
    for name, (zh, _) in _catalogues().items():
        for key in zh:
            owners[key].append(name)
    twice = {key: names for key, names in owners.items() if len(names) > 1}
    assert not twice, f"labels defined in more than one module: {twice}"
