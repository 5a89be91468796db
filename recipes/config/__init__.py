"""The run schema and everything that resolves a run's configuration.

- `schema`: every setting, declared once, in sections (the one place a setting is declared),
  and the section classes (`schema.DataSettings`, ...).
- `setting`: how a setting is declared (`setting(...)`) and read back (`Setting`).
- `check`: types, choices, ranges and the rules between settings.
- `run`: `RunConfig` and how defaults, presets, files and flags merge.
- `files`: the presets and YAML configuration files.

Nothing here imports TensorFlow.
"""

from recipes.config.check import check_section, parse_unfreeze, validate
from recipes.config.files import DEFAULT_PRESETS, list_presets, load_config_file, load_preset
from recipes.config.run import RunConfig, defaults, flatten, resolve_config
from recipes.config.schema import SECTIONS, SETTINGS

__all__ = [
    "DEFAULT_PRESETS",
    "SECTIONS",
    "SETTINGS",
    "RunConfig",
    "check_section",
    "defaults",
    "flatten",
    "list_presets",
    "load_config_file",
    "load_preset",
    "parse_unfreeze",
    "resolve_config",
    "validate",
]
