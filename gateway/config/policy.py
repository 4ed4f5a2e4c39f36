"""`policy:` in config.yaml: where the rules and the directory are, and how they are reloaded."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from gateway.resources import shipped

SHIPPED_RULES = shipped("rules")


class PolicySettings(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rules_dir: Path | None = Field(
        default=None, description="Shipped default rules (*.yaml); null: the rules/ directory of this installation."
    )
    local_dir: Path | None = Field(
        default=None,
        description=(
            "The site's overlays (*.yaml, merged by rule name); null: rules.d beside the config file "
            "(/etc/gateway/rules.d with the embedded defaults), or <rules_dir>/local.d when rules_dir is set."
        ),
    )
    directory: Path | None = Field(
        default=None, description="Directory file (YAML or CSV): sender → department, manager, deputies, groups."
    )
    fallback_group: str = Field(
        default="", description="Directory group whose approvers approve when a sender has no manager or deputy."
    )
    watch: bool = Field(default=True, description="Reload when a rule or directory file changes (also on SIGHUP).")
    watch_interval: float = Field(default=5.0, gt=0, description="Seconds between looks at the files.")

    @property
    def rules_path(self) -> Path:
        return self.rules_dir if self.rules_dir is not None else SHIPPED_RULES

    @property
    def local_path(self) -> Path:
        return self.local_dir if self.local_dir is not None else self.rules_path / "local.d"
