"""Loading one registered version: load it, warm it up and smoke-test it before it may serve.

A version whose example rows give the wrong number of outputs or non-finite values raises: it
is never served. For LightGBM and scikit-learn models the native model is kept beside the
pyfunc (the fast path), after checking that both give the same answers.

Example::

    model = load_version(Registry(project), "energy-price-GB", "3")
    model.load_seconds
    # 1.12
"""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from heliograph.core import get_logger
from heliograph.registry import Registry

from ._loaded import LoadedModel

__all__ = ["load_version"]

log = get_logger(__name__)


def _native(model_uri: str, flavors: dict[str, Any]) -> Any:
    """The underlying model for flavours whose predict takes a plain array."""
    try:
        if "lightgbm" in flavors:
            import mlflow.lightgbm

            model = mlflow.lightgbm.load_model(model_uri)
            return getattr(model, "booster_", model)
        if "sklearn" in flavors:
            import mlflow.sklearn

            return mlflow.sklearn.load_model(model_uri)
    except Exception as exc:  # fall back to pyfunc; the fast path is an optimisation only
        log.warning("no fast path for %s: %s", model_uri, exc)
    return None


def load_version(registry: Registry, name: str, version: str) -> LoadedModel:
    """Load, warm up and smoke-test one version; raises with the reason if it is unfit."""
    import mlflow
    import mlflow.pyfunc

    # models:/ URIs resolve through MLflow's process-wide registry: point it at the project's.
    mlflow.set_tracking_uri(registry.project.tracking_uri)
    mlflow.set_registry_uri(registry.project.tracking_uri)
    started = time.perf_counter()
    uri = f"models:/{name}/{version}"
    pyfunc = mlflow.pyfunc.load_model(uri)
    meta = pyfunc.metadata
    example = None
    try:
        example = pyfunc.input_example
    except Exception:  # a model logged without an input example: no warm-up data
        example = None
    if example is not None and not isinstance(example, pd.DataFrame):
        example = pd.DataFrame(example)
    columns = None
    types: dict[str, str] = {}
    if meta.signature is not None and meta.signature.inputs is not None:
        names = meta.signature.inputs.input_names()
        columns = [str(c) for c in names] if names else None
        for spec in meta.signature.inputs.inputs:
            kind = getattr(getattr(spec, "type", None), "name", None)
            if spec.name is not None and kind is not None:
                types[str(spec.name)] = str(kind)
    loaded = LoadedModel(
        name=name,
        version=str(version),
        run_id=meta.run_id or "",
        loaded_at=datetime.now(UTC),
        pyfunc=pyfunc,
        input_example=example,
        columns=columns,
        native=_native(uri, meta.flavors),
        meta={"types": types, "lightgbm": "lightgbm" in meta.flavors},
    )
    if example is not None:
        _try_direct(loaded, example)
        output = loaded.predict_frame(example)  # warm-up and smoke test in one
        values = np.asarray(pd.DataFrame(output).select_dtypes("number"), dtype=float)
        if len(pd.DataFrame(output)) != len(example) or not np.isfinite(values).all():
            raise ValueError(
                f"smoke test failed: {len(example)} example rows gave "
                f"{len(pd.DataFrame(output))} outputs or non-finite values"
            )
        if loaded.native is not None:
            fast = loaded.predict_rows(example.to_numpy(dtype=float), list(example.columns))
            if not np.allclose(
                np.ravel(fast), np.ravel(values)[: np.size(fast)], rtol=1e-6, equal_nan=True
            ):
                log.warning(
                    "%s v%s: native predictions differ from pyfunc; using pyfunc", name, version
                )
                loaded.native = None
    loaded.load_seconds = time.perf_counter() - started
    return loaded


def _try_direct(loaded: LoadedModel, example: pd.DataFrame) -> None:
    """Predict a Python model (``mlflow.pyfunc.PythonModel``) without MLflow's schema checks
    when it answers its input example exactly as through the pyfunc."""
    try:
        direct = loaded.pyfunc.unwrap_python_model()
    except Exception:  # not a Python model: pyfunc it is
        return
    try:
        frame = loaded.inputs(example)
        through = pd.DataFrame(loaded.pyfunc.predict(frame))
        straight = pd.DataFrame(direct.predict(None, frame))
        pd.testing.assert_frame_equal(
            through.reset_index(drop=True), straight.reset_index(drop=True), check_dtype=False
        )
    except Exception as exc:
        log.info("%s v%s: predicted through pyfunc (%s)", loaded.name, loaded.version, exc)
        return
    loaded.meta["direct"] = direct
