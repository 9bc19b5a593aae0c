"""Re-run a logged page box on another model version (the incidents' replay hook).

The logged entry holds the page view's exact inputs (account, page, device, time, the account's
history and the configuration in force); the shop's catalog is the seeded synthetic shop. The
same page view is rendered again with model ``against`` and the same configuration, and the box
that was logged is returned.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from inloop.predictions import PredictionEntry


def rerun(record: PredictionEntry, against: str) -> dict[str, Any]:
    """Render the logged box again with model ``against`` (alias such as ``champion``, or a version)."""
    import mlflow
    import pandas as pd
    from mlflow.exceptions import MlflowException

    from inloop.settings import get_settings
    from inloop.tracking import client
    from recommender.lib.boxes import Assortment
    from recommender.lib.history import HistoryStore
    from recommender.lib.page import PageConfig, PageService
    from recommender.lib.popularity import fit_popularity
    from recommender.lib.registry import MODEL_NAME
    from recommender.lib.shop import ShopSpec, generate_shop

    mlc = client()
    try:
        version = (mlc.get_model_version(MODEL_NAME, against).version if against.isdigit()
                   else mlc.get_model_version_by_alias(MODEL_NAME, against).version)
    except MlflowException:
        raise LookupError(f"{MODEL_NAME} has no version or alias {against!r}") from None
    model = mlflow.pyfunc.load_model(f"models:/{MODEL_NAME}/{version}").unwrap_python_model().model
    features = record.features
    shop = generate_shop(ShopSpec().scaled(get_settings().demo_data_scale))
    history = pd.DataFrame(features["history"]) if features.get("history") else shop.events.iloc[:0]
    if len(history):
        history["ts"] = pd.to_datetime(history["ts"], utc=True)
        history["account_id"] = int(features["account_id"])
    events = history if len(history) else shop.events[shop.events["account_id"] == int(features["account_id"])]
    service = PageService(Assortment(shop.catalog), HistoryStore(events), model,
                          fit_popularity(shop.events, len(shop.catalog)), PageConfig(**features["config"]),
                          model_version=f"{MODEL_NAME}/{version}")
    view, _ = service.render(int(features["account_id"]), features["page"], features["device"],
                             dt.datetime.fromisoformat(features["at"]), log=False)
    box = view.box(record.component)
    return {"output": {"items": [i.as_record() for i in box.items], "fallback": box.fallback, "notes": box.notes},
            "model_version": f"{MODEL_NAME}/{version}", "model_name": box.model_name,
            "policy_version": view.config.version}
