"""Everything a worker keeps between requests, in one place.

* ``waves``: one ``WaveEntry`` per questionnaire, keyed by its content hash (the sha256 of the
  definition's canonical JSON, stored with it in ``questionnaires.content_hash``).  The entry
  holds what is derived from the definition alone: the parsed definition, the page index, the
  answer validator, the condition evaluator's results, rendered questions and page frames.
  A changed definition has a new hash, so it gets a new entry; the old one is never looked up
  again and leaves when the cache is full.  At most ``WAVES_LIMIT`` entries.
* ``wave_states``: each wave's row (status, dates, questionnaire hash) per database, trusted
  for ``WAVE_CACHE_SECONDS``: the database's state, not the definition's, so ``close-wave``
  takes effect within that time in every worker.  A wave with quotas carries its quota cells in
  its state (``WaveState.quota``, survey/quotas.py), read with it: only caps change while a
  wave is open, and those are checked in the database at completion.
* ``urls``: the respondent's URLs, per mount point, endpoint and values.
* ``dialects``: SQL texts in each driver's parameter style and each dialect's timestamp
  converters (survey/store.py).
* ``response_counts``: each wave's responses per status for the researchers' status page
  (survey/research.py), per database, wave and wave status, trusted for
  ``STATUS_COUNTS_SECONDS`` (a closed wave's for ``CLOSED_STATUS_COUNTS_SECONDS``: nothing
  changes them until the wave's status does, which makes a new key).
* ``monitoring``: each wave's monitoring numbers for the console and the API
  (survey/monitoring.py), per database, wave and wave status, trusted for
  ``MONITORING_SECONDS`` (a closed wave's for ``CLOSED_MONITORING_SECONDS``).
* ``median_durations``: each wave's median duration, which the speeder flag of the API's
  responses pages needs (survey/staff_waves.py), per database, wave and wave status, trusted
  as long as the monitoring numbers: a page then costs its own rows, not a scan of the wave.

Every cache is bounded and thread-safe enough for gunicorn's threads: lookups are plain dict
reads (atomic in CPython), insertions take a lock, and a full cache drops its oldest entry.
No module of ``survey`` keeps another cache (tests/web/test_wave_cache.py checks).
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Hashable, Mapping

from questionnaires import Wave
from questionnaires.conditions import Answered

from .forms import AnswerValidator

_MISSING = object()


class BoundedCache:
    """A mapping of at most ``limit`` entries; inserting into a full one drops the oldest."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._data: dict = {}
        self._lock = threading.Lock()
        # ``get(key, default=None)``: the dict's own method, as fast as a plain dict lookup
        # (the dict is never replaced, only emptied)
        self.get = self._data.get

    def put(self, key: Hashable, value):
        """Store ``value`` under ``key``, replacing what was there."""
        with self._lock:
            self._data.pop(key, None)
            self._make_room()
            self._data[key] = value
        return value

    def get_or_make(self, key: Hashable, make: Callable[[], object]):
        """The value under ``key``, made and stored on a miss.  Two threads missing at once
        both make one, and both get the one stored first."""
        value = self._data.get(key, _MISSING)
        if value is _MISSING:
            value = make()
            with self._lock:
                stored = self._data.get(key, _MISSING)
                if stored is not _MISSING:
                    return stored
                self._make_room()
                self._data[key] = value
        return value

    def _make_room(self) -> None:
        while len(self._data) >= self.limit:
            del self._data[next(iter(self._data))]

    def discard(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def values(self) -> list:
        with self._lock:
            return list(self._data.values())

    def __len__(self) -> int:
        return len(self._data)

    def __contains__(self, key: Hashable) -> bool:
        return key in self._data


class ExpiringCache(BoundedCache):
    """A ``BoundedCache`` whose entries are trusted for a number of seconds."""

    def fresh(self, key: Hashable, seconds: float, load: Callable[[], object]):
        """The value under ``key`` if stored less than ``seconds`` ago, else ``load()``,
        stored for ``seconds``; with ``seconds`` <= 0 always ``load()``."""
        if seconds <= 0:
            return load()
        now = time.monotonic()
        hit = self._data.get(key)
        if hit is not None and now - hit[0] < seconds:
            return hit[1]
        return self.put(key, (now, load()))[1]


class WaveEntry:
    """What a worker derives from one wave definition, made once per content hash.

    ``questions`` holds rendered question fieldsets and ``frames`` page frames
    (survey/rendering.py); ``visibility(answers)`` evaluates the conditions."""

    QUESTIONS_LIMIT = 20_000  # languages × items × answers: about 1,000 for the 2026 wave
    FRAMES_LIMIT = 2_048  # languages × pages × URLs (the query string is the client's choice)
    VISIBILITY_LIMIT = 10_000  # combinations of the answers that conditions refer to

    def __init__(self, wave: Wave, content_hash: str | None = None) -> None:
        self.wave = wave
        self.content_hash = content_hash or wave.content_hash
        self.page_index = {page.key: index for index, page in enumerate(wave.pages)}
        self.validator = AnswerValidator(wave)
        # visibility depends only on the answers to the items that conditions refer to (the
        # conditions themselves were parsed once, when the definition was read)
        conditions = [item.condition for page in wave.pages for item in page.items
                      if item.condition is not None]
        self.condition_items = tuple(sorted({code for c in conditions for code in c.items}))
        # items that conditions only test with answered(): whether they have an answer is all
        # that matters (a free text would otherwise make a cache key per text typed)
        tested = {leaf.item for c in conditions for leaf in c.leaves()
                  if not isinstance(leaf, Answered)}
        self._presence_only = tuple(code not in tested for code in self.condition_items)
        # pages whose items or options are shown in an order of each response's own
        self.reordered_pages = frozenset(
            page.key for page in wave.pages
            if page.randomise or any(item.randomise_options for item in page.items))
        self.questions = BoundedCache(self.QUESTIONS_LIMIT)
        self.frames = BoundedCache(self.FRAMES_LIMIT)
        self._visibility = BoundedCache(self.VISIBILITY_LIMIT)

    def visibility(self, answers: Mapping[str, int]):
        """``(visible, order)``: each page's visible items (by page key) and the codes of all
        visible items in questionnaire order, given the stored ``answers`` (shared: do not
        modify)."""
        key = tuple((answers.get(code) is not None) if presence else answers.get(code)
                    for code, presence in zip(self.condition_items, self._presence_only,
                                              strict=True))
        hit = self._visibility.get(key)
        if hit is None:
            hit = self._visibility.get_or_make(key, lambda: self._evaluate(answers))
        return hit

    def _evaluate(self, answers: Mapping[str, int]):
        """Page by page: an item hidden by its condition does not count, even if an old answer
        to it is stored, so conditions chained on it stay hidden too."""
        wave = self.wave
        effective: dict[str, int] = {}
        visible: dict[str, tuple] = {}
        for page in wave.pages:
            seen = dict(effective)
            for item in page.items:
                if item.code in answers:
                    seen[item.code] = answers[item.code]
            shown = wave.visible_items(page, seen)
            visible[page.key] = shown
            for item in shown:
                if item.code in answers:
                    effective[item.code] = answers[item.code]
        order = tuple(item.code for page in wave.pages for item in visible[page.key])
        return visible, order


WAVES_LIMIT = 8

waves = BoundedCache(WAVES_LIMIT)  # content hash → WaveEntry
wave_states = ExpiringCache(1_024)  # (database, organisation, year) or (database, "current")
urls = BoundedCache(10_000)  # (script root, endpoint, *values) → URL
dialects = BoundedCache(256)  # ("sql", paramstyle, text) / ("bind" | "read", dialect) → …
response_counts = ExpiringCache(4_096)  # (database, wave id, status) → (read at, counts)
monitoring = ExpiringCache(256)  # (database, wave id, status) → (computed at, Monitoring)
median_durations = ExpiringCache(256)  # (database, wave id, status) → (read at, seconds)

CACHES = {"waves": waves, "wave_states": wave_states, "urls": urls, "dialects": dialects,
          "response_counts": response_counts, "monitoring": monitoring,
          "median_durations": median_durations}


def wave_entry(content_hash: str, load: Callable[[], tuple[str, Wave]]) -> WaveEntry:
    """The entry for ``content_hash``; on a miss ``load()`` gives ``(stored hash, definition)``
    as read together from the database, and the entry is stored under the hash it was read
    with.  Should the row have changed since ``content_hash`` was read, the entry of the new
    definition is returned and nothing is stored under the old hash."""
    entry = waves.get(content_hash)
    if entry is None:
        stored_hash, wave = load()
        entry = waves.get_or_make(stored_hash, lambda: WaveEntry(wave, stored_hash))
    return entry


def entry_for(wave: Wave) -> WaveEntry:
    """The entry of a definition at hand (tests, tools): keyed by its own content hash."""
    return waves.get_or_make(wave.content_hash, lambda: WaveEntry(wave))


def forget_wave_states() -> None:
    """Drop cached wave states (commands call this after changing a wave)."""
    wave_states.clear()


def clear() -> None:
    """Empty every cache (tests)."""
    for cache in CACHES.values():
        cache.clear()
