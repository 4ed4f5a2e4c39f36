"""Configuration: config.yaml as pydantic models, the bottom layer every part may import.

model.py       `Config` and the small sections (smtp, relay, store, organization, web, hold, worker),
               `load_config` / `parse_config`
yamlfile.py    YAML with line numbers and pydantic errors phrased as `file:line: key: message`
               (config.yaml and the rule files)
extract.py     `extract:` limits of one extraction
ocr.py         `extract.ocr:` reading the text in images (Tesseract), what is too small to read
scan.py        `scan:` the personal-data scanner
policy.py      `policy:` the rules directories, mode, directory
recipients.py  `recipients:` lists, history, lookalikes, DNS
inspection.py  `inspection:` the inspection worker processes

Each part of the gateway takes its own section, never the whole `Config`.
"""

from __future__ import annotations

from gateway.config.model import (
    Config,
    ConfigError,
    HoldConfig,
    OrganizationConfig,
    RelayConfig,
    RetryConfig,
    SmtpAuthUser,
    SmtpConfig,
    StoreConfig,
    WebConfig,
    WorkerConfig,
    load_config,
    parse_config,
    parse_host_port,
)

__all__ = [
    "Config",
    "ConfigError",
    "HoldConfig",
    "OrganizationConfig",
    "RelayConfig",
    "RetryConfig",
    "SmtpAuthUser",
    "SmtpConfig",
    "StoreConfig",
    "WebConfig",
    "WorkerConfig",
    "load_config",
    "parse_config",
    "parse_host_port",
]
