"""No network at run time: switch off every download the NLP stack could attempt, before it is imported.

tldextract fetches the public suffix list on first use unless TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS is
empty; Hugging Face libraries go online unless told they are offline. Import this module before
presidio_analyzer or spacy (gateway.scan does so in its package __init__).
"""

from __future__ import annotations

import os

OFFLINE_ENV = {
    "TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS": "",
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_DATASETS_OFFLINE": "1",
}


def go_offline() -> None:
    for key, value in OFFLINE_ENV.items():
        os.environ[key] = value


go_offline()
