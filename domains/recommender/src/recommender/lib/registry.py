"""The collaborative model in MLflow: saved as plain arrays, served back as a pyfunc.

Stored as ``.npz`` + JSON (no pickles of library objects), wrapped in a small pyfunc so
``inloop.tracking.load_champion`` can load it; ``unwrap_python_model().model`` gives the
:class:`~recommender.lib.collaborative.CollaborativeModel` back to the page service.
"""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from recommender.lib.collaborative import CollaborativeModel

__all__ = ["MODEL_NAME", "load_model_files", "log_model", "save_model_files"]

MODEL_NAME = "recommender-als"

try:  # MLflow is a platform dependency; the class is only needed where models are logged or loaded.
    from mlflow.pyfunc import PythonModel as _PythonModel
except ImportError:  # pragma: no cover
    _PythonModel = object  # type: ignore[assignment,misc]


def save_model_files(model: CollaborativeModel, folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(folder / "factors.npz", item_factors=model.item_factors)
    meta = {"regularization": model.regularization, "alpha": model.alpha, "params": model.params,
            "trained_until": model.trained_until.isoformat(), "training_seconds": model.training_seconds,
            "version": model.version}
    (folder / "model.json").write_text(json.dumps(meta, indent=2))
    return folder


def load_model_files(folder: Path) -> CollaborativeModel:
    meta = json.loads((Path(folder) / "model.json").read_text())
    with np.load(Path(folder) / "factors.npz") as arrays:
        factors = arrays["item_factors"]
    model = CollaborativeModel(factors, meta["regularization"], meta["alpha"], meta["params"],
                               pd.Timestamp(meta["trained_until"]), meta["training_seconds"])
    if model.version != meta["version"]:
        raise ValueError(f"model files in {folder} are corrupt: version {model.version} != recorded {meta['version']}")
    return model


class CollaborativePyfunc(_PythonModel):  # type: ignore[misc,valid-type]
    """Pyfunc wrapper: ``predict`` takes an account's history (``item_id``, ``weight``) and returns the top 10."""

    model: CollaborativeModel

    def load_context(self, context: Any) -> None:
        self.model = load_model_files(Path(context.artifacts["model"]))

    def predict(self, context: Any, model_input: pd.DataFrame, params: dict[str, Any] | None = None) -> pd.DataFrame:
        items = model_input["item_id"].to_numpy(dtype=np.int64)
        weights = model_input["weight"].to_numpy(dtype=np.float32)
        vector = self.model.account_vector(items, weights)
        if vector is None:
            return pd.DataFrame({"item_id": [], "score": []})
        candidates = np.setdiff1d(np.arange(len(self.model.item_factors)), items)
        scores = self.model.scores(vector, candidates)
        top = np.argsort(-scores, kind="stable")[:10]
        return pd.DataFrame({"item_id": candidates[top], "score": scores[top]})


def log_model(model: CollaborativeModel, *, registered_name: str = MODEL_NAME) -> str:
    """Log the model into the active MLflow run and register it; returns the registry version."""
    import mlflow

    with tempfile.TemporaryDirectory() as tmp:
        files = save_model_files(model, Path(tmp) / "model")
        info = mlflow.pyfunc.log_model(
            name="model", python_model=CollaborativePyfunc(), artifacts={"model": str(files)},
            registered_model_name=registered_name,
            pip_requirements=["mlflow", "numpy", "pandas", "inloop-recommender"],
        )
    return str(info.registered_model_version)
