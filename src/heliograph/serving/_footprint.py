"""The memory serving one registered version takes, measured in a fresh child process.

The child imports what loading needs (MLflow's pyfunc, the version's flavour modules and
their libraries, this package) and notes its resident memory (on Linux its own high-water
mark, restarted there; ``ru_maxrss`` elsewhere); then it loads the version with
``load_version`` (which warms it up and smoke-tests it on its input example when one is
logged) and notes the peak again. The difference is the version's own footprint, not the
parent's (a gateway or a job holding other versions and data). What loading needs includes
the code the model's pickle names (its classes' and functions' modules, read from the pickle
without unpickling it): a Python model whose class lives in an app would otherwise count
the app's imports (54 MB for the energy app) as its memory. It costs seconds (a Python
process, MLflow's import), so the ``promote`` job measures it only when
``[policy] max_memory_mb`` is set and everything else accepts.

Example::

    serving_memory_mb(project, "energy-price-GB", "3")
    # 11.3
"""

from __future__ import annotations

import contextlib
import gc
import importlib
import json
import os
import pickletools
import resource
import subprocess
import sys
from pathlib import Path

from heliograph.core import HelioError, Project

__all__ = ["FootprintError", "serving_memory_mb"]

_PICKLES = ("python_model", "pickled_model")  # flavour keys that name a pickle of the model
# flavour -> the library its loader imports (a flavour not listed: its own name, if importable)
_LIBRARIES = {"sklearn": "sklearn", "lightgbm": "lightgbm", "xgboost": "xgboost"}


class FootprintError(HelioError):
    """A version's serving memory could not be measured (it failed to load, or timed out)."""


def _peak_mb(reset: bool = False) -> float:
    """This process's peak resident memory in MB; ``reset``: restart the peak from now.

    On Linux it is the process's own high-water mark (``VmHWM``, which
    ``/proc/self/clear_refs`` restarts): ``ru_maxrss`` there also holds the parent's peak, as
    a child started by ``vfork`` + ``exec`` inherits it. Elsewhere, ``ru_maxrss``."""
    status = Path("/proc/self/status")
    if status.is_file():
        if reset:
            with contextlib.suppress(OSError):  # an older kernel: the peak since start
                Path("/proc/self/clear_refs").write_text("5")
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 2**10  # kB
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / 2**20 if sys.platform == "darwin" else peak / 2**10  # bytes / KiB


def serving_memory_mb(
    project: Project, name: str, version: str, *, timeout: float = 300.0
) -> float:
    """Peak resident memory (MB) that loading ``version`` of ``name`` and predicting on its
    input example adds to a process that has imported what loading needs (see the module)."""
    command = [
        sys.executable,
        "-c",
        f"from {__name__} import _main; _main()",
        str(project.root),
        project.tracking_uri,
        name,
        str(version),
    ]
    environment = {**os.environ, "PYTHONPATH": os.pathsep.join(p for p in sys.path if p)}
    try:
        done = subprocess.run(
            command, capture_output=True, text=True, timeout=timeout, env=environment
        )
    except subprocess.TimeoutExpired:
        raise FootprintError(
            f"{name} v{version} did not load within {timeout:g} s",
            field="policy.max_memory_mb",
            rule="a version that loads to be measured",
        ) from None
    lines = done.stdout.strip().splitlines()
    if done.returncode != 0 or not lines:
        error = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise FootprintError(
            f"{name} v{version} could not be loaded to measure its memory: {error}",
            field="policy.max_memory_mb",
            rule="a version that loads and answers its input example",
        )
    figures = json.loads(lines[-1])
    return max(float(figures["loaded_mb"]) - float(figures["imported_mb"]), 0.0)


def _pickled_modules(data: bytes) -> list[str]:
    """The modules a pickle's classes and functions come from (its ``GLOBAL`` and
    ``STACK_GLOBAL`` names), read without unpickling: code, imported before the baseline."""
    found: list[str] = []
    strings: list[str] = []
    for op, arg, _ in pickletools.genops(data):
        if op.name == "GLOBAL":
            found.append(str(arg).split(" ")[0])
        elif op.name == "STACK_GLOBAL" and len(strings) >= 2:
            found.append(strings[-2])
        elif isinstance(arg, str):
            strings.append(arg)
    return list(dict.fromkeys(found))


def _measure(root: str, tracking_uri: str, name: str, version: str) -> dict[str, float]:
    """In the child: peak memory after the imports loading needs, and after loading."""
    import mlflow
    import mlflow.models
    import mlflow.pyfunc

    from heliograph.registry import Registry

    from ._loading import load_version

    project = Project.load(root)
    if project.tracking_uri != tracking_uri:  # the parent's settings, not only the file's
        tracking = project.settings.tracking.model_copy(update={"uri": tracking_uri})
        project.settings = project.settings.model_copy(update={"tracking": tracking})
    mlflow.set_tracking_uri(tracking_uri)
    mlflow.set_registry_uri(tracking_uri)
    registry = Registry(project)
    info = mlflow.models.get_model_info(f"models:/{name}/{version}")
    modules = [m for f in info.flavors for m in (f"mlflow.{f}", _LIBRARIES.get(f, f))]
    location = registry.client.get_model_version_download_uri(name, version)
    for conf in info.flavors.values():
        for key in _PICKLES:
            if str(conf.get(key, "")).endswith(".pkl"):
                local = mlflow.artifacts.download_artifacts(f"{location}/{conf[key]}")
                modules += _pickled_modules(Path(local).read_bytes())
    for module in modules:
        # not every flavour name is a module, nor every pickled name importable alone
        with contextlib.suppress(Exception):
            importlib.import_module(module)
    gc.collect()
    imported = _peak_mb(reset=True)
    load_version(registry, name, version)
    return {"imported_mb": imported, "loaded_mb": _peak_mb()}


def _main() -> None:
    """The child's entry point: ``ROOT TRACKING_URI NAME VERSION``, one JSON line out."""
    sys.stdout.write(json.dumps(_measure(*sys.argv[1:5])) + "\n")
