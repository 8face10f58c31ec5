"""Config, clock, errors, logging, paths, atomic writes: what every other part stands on."""

from __future__ import annotations

from ._apps import *  # noqa: F403
from ._apps import __all__ as _apps_all
from ._atomic import *  # noqa: F403
from ._atomic import __all__ as _atomic_all
from ._clock import *  # noqa: F403
from ._clock import __all__ as _clock_all
from ._config import *  # noqa: F403
from ._config import __all__ as _config_all
from ._duck import *  # noqa: F403
from ._duck import __all__ as _duck_all
from ._errors import *  # noqa: F403
from ._errors import __all__ as _errors_all
from ._logging import *  # noqa: F403
from ._logging import __all__ as _logging_all
from ._progress import *  # noqa: F403
from ._progress import __all__ as _progress_all
from ._project import *  # noqa: F403
from ._project import __all__ as _project_all

__all__ = sorted(
    [
        *_apps_all,
        *_atomic_all,
        *_clock_all,
        *_config_all,
        *_duck_all,
        *_errors_all,
        *_logging_all,
        *_progress_all,
        *_project_all,
    ]
)
