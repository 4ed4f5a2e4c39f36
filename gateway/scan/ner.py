"""The slow stage: spaCy NER through presidio (ja_ginza for Japanese, an optional English model).

Built offline and explicitly: the model must be installed (a package or a path), or start-up stops
with ScanModelError; presidio never gets the chance to download one. GiNZA's Extended Named Entity
labels are mapped Person → PERSON and every other label is ignored (no warning per unmapped label).

The Japanese model is loaded lean, for the entities only (each inspection worker holds one; issue 16):
  - without its string table: 600,000 words (130 MB in each worker) kept only to print hashes as text.
    The features are hashes of the text itself, and every string the pipeline meets is added as it is
    met (the labels when the components load, each token's text when it is read);
  - without GiNZA's components that run after `ner` (morphologizer, compound splitter, bunsetu
    recognizer: they write token.pos, token.morph and user_data, never the entities, and cost CPU);
  - with the Sudachi tokenizer of the fast stage (one dictionary per process instead of two), when the
    model splits as the fast stage does;
  - with the vectors' key → row table as two sorted arrays (`CompactRows`) instead of a dict of
    480,000 Python ints.
tests/unit/scan/test_ner_lean.py compares it with the plain load on generated and corpus texts.
"""

from __future__ import annotations

import bisect
import logging
import operator
from array import array
from collections.abc import Iterator, Mapping
from pathlib import Path

import gateway.scan.offline  # noqa: F401  (before spacy/presidio)


class ScanModelError(RuntimeError):
    """A configured model is missing or broken: the scanner refuses to start."""


log = logging.getLogger(__name__)


def load_spacy(model: str | Path, what: str, exclude: tuple[str, ...] = ()) -> object:
    """The model, offline; `exclude`: components and serialization fields (spacy.load) left unloaded."""
    import spacy

    name = str(model)
    setting = "ja_model" if what == "Japanese" else "en_model_path"
    if not (spacy.util.is_package(name) or Path(name).is_dir()):
        raise ScanModelError(
            f"{what} model {name!r} is not installed (no package and no directory of that name); "
            f"install it (e.g. `pip install ja-ginza`) or change scan.{setting}"
        )
    try:
        return spacy.load(name, exclude=list(exclude))
    except Exception as e:  # a broken model must not degrade silently
        raise ScanModelError(f"{what} model {name!r} could not be loaded: {type(e).__name__}: {e}") from e


class CompactRows(Mapping[int, int]):
    """A read-only int → int mapping held as two arrays sorted by key (12 bytes an entry instead of
    ~100 for a dict of Python ints): spaCy's `Vectors.key2row` (word hash → row of the vectors table),
    which spaCy reads with get(), `in`, [] and iteration."""

    __slots__ = ("_keys", "_rows")

    def __init__(self, mapping: Mapping[int, int]) -> None:
        pairs = sorted(mapping.items())
        self._keys = array("Q", [k for k, _ in pairs])
        self._rows = array("q", [r for _, r in pairs])

    def _find(self, key: object) -> int:
        """The index of `key`, or -1."""
        try:
            k = operator.index(key)  # type: ignore[arg-type]
        except TypeError:
            return -1
        i = bisect.bisect_left(self._keys, k)
        return i if i < len(self._keys) and self._keys[i] == k else -1

    def __getitem__(self, key: int) -> int:
        i = self._find(key)
        if i < 0:
            raise KeyError(key)
        return self._rows[i]

    def get(self, key: int, default: int | None = None) -> int | None:  # type: ignore[override]
        i = self._find(key)
        return default if i < 0 else self._rows[i]

    def __contains__(self, key: object) -> bool:
        return self._find(key) >= 0

    def __len__(self) -> int:
        return len(self._keys)

    def __iter__(self) -> Iterator[int]:
        return iter(self._keys)


# What the lean Japanese load leaves out (see the module's docstring): the string table at load, and
# these components when they run after `ner` (before it, they could feed it: they are kept there).
LEAN_EXCLUDE = ("strings",)
AFTER_NER_UNUSED = ("morphologizer", "compound_splitter", "bunsetu_recognizer")


def _lean(nlp: object, tokenizer: object | None) -> None:
    """Drop the unused components, share the fast stage's Sudachi tokenizer and compact the vectors'
    table, in place."""
    names = list(getattr(nlp, "pipe_names", ()))
    if "ner" in names:
        for name in names[names.index("ner") + 1 :]:
            if name in AFTER_NER_UNUSED:
                nlp.remove_pipe(name)  # type: ignore[attr-defined]
    spacy_tokenizer = getattr(nlp, "tokenizer", None)
    if (
        tokenizer is not None
        and type(spacy_tokenizer).__name__ == "JapaneseTokenizer"
        and getattr(spacy_tokenizer, "split_mode", None) == "C"  # the fast stage's SplitMode.C
    ):
        spacy_tokenizer.tokenizer = tokenizer  # type: ignore[union-attr]
    vectors = getattr(getattr(nlp, "vocab", None), "vectors", None)
    key2row = getattr(vectors, "key2row", None)
    if isinstance(key2row, dict):
        vectors.key2row = CompactRows(key2row)  # type: ignore[union-attr]


class NerStage:
    """PERSON spans from a spaCy model, through presidio's SpacyNlpEngine and SpacyRecognizer."""

    def __init__(
        self,
        model: str | Path,
        language: str,
        person_labels: tuple[str, ...],
        lean: bool = False,
        tokenizer: object | None = None,
    ) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        what = "Japanese" if language == "ja" else "English"
        nlp = load_spacy(model, what, LEAN_EXCLUDE if lean else ())
        if lean:
            _lean(nlp, tokenizer)
        labels = set(getattr(nlp.get_pipe("ner"), "labels", ())) if "ner" in nlp.pipe_names else set()  # type: ignore[attr-defined]
        if not labels & set(person_labels):
            raise ScanModelError(f"model {model!s} has no NER label among {person_labels}: it cannot find names")
        config = NerModelConfiguration(
            model_to_presidio_entity_mapping={label: "PERSON" for label in person_labels},
            labels_to_ignore=sorted(labels - set(person_labels)),
            low_score_entity_names=[],
            default_score=0.75,
        )
        engine = SpacyNlpEngine(
            models=[{"lang_code": language, "model_name": str(model)}], ner_model_configuration=config
        )
        engine.nlp = {language: nlp}  # type: ignore[assignment]  # loaded above, offline; SpacyNlpEngine.load() would download when missing
        registry = RecognizerRegistry(supported_languages=[language])
        registry.add_recognizer(SpacyRecognizer(supported_language=language, supported_entities=["PERSON"]))
        self.language = language
        self.analyzer = AnalyzerEngine(registry=registry, nlp_engine=engine, supported_languages=[language])

    def persons(self, text: str) -> list[tuple[int, int, float]]:
        results = self.analyzer.analyze(text, language=self.language, entities=["PERSON"], score_threshold=0.5)
        return [(r.start, r.end, r.score) for r in results]


def japanese_ner(model: str, tokenizer: object | None = None, lean: bool = True) -> NerStage:
    """GiNZA (or another Japanese model), lean; `tokenizer`: the fast stage's Sudachi tokenizer
    (SplitMode.C), shared with the model when it splits the same way."""
    return NerStage(model, "ja", ("Person",), lean=lean, tokenizer=tokenizer)


def english_ner(path: Path) -> NerStage:
    return NerStage(path, "en", ("PERSON",))
