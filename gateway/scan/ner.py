"""The slow stage: spaCy NER through presidio (ja_ginza for Japanese, an optional English model).

Built offline and explicitly: the model must be installed (a package or a path), or start-up stops
with ScanModelError; presidio never gets the chance to download one. GiNZA's Extended Named Entity
labels are mapped Person → PERSON and every other label is ignored (no warning per unmapped label).
"""

from __future__ import annotations

import logging
from pathlib import Path

import gateway.scan.offline  # noqa: F401  (before spacy/presidio)


class ScanModelError(RuntimeError):
    """A configured model is missing or broken: the scanner refuses to start."""


log = logging.getLogger(__name__)


def load_spacy(model: str | Path, what: str) -> object:
    import spacy

    name = str(model)
    setting = "ja_model" if what == "Japanese" else "en_model_path"
    if not (spacy.util.is_package(name) or Path(name).is_dir()):
        raise ScanModelError(
            f"{what} model {name!r} is not installed (no package and no directory of that name); "
            f"install it (e.g. `pip install ja-ginza`) or change scan.{setting}"
        )
    try:
        return spacy.load(name)
    except Exception as e:  # a broken model must not degrade silently
        raise ScanModelError(f"{what} model {name!r} could not be loaded: {type(e).__name__}: {e}") from e


class NerStage:
    """PERSON spans from a spaCy model, through presidio's SpacyNlpEngine and SpacyRecognizer."""

    def __init__(self, model: str | Path, language: str, person_labels: tuple[str, ...]) -> None:
        from presidio_analyzer import AnalyzerEngine, RecognizerRegistry
        from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
        from presidio_analyzer.predefined_recognizers import SpacyRecognizer

        nlp = load_spacy(model, "Japanese" if language == "ja" else "English")
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


def japanese_ner(model: str) -> NerStage:
    return NerStage(model, "ja", ("Person",))


def english_ner(path: Path) -> NerStage:
    return NerStage(path, "en", ("PERSON",))
