"""The synthetic shop as Dagster assets: ``catalog``, ``shoppers`` and ``shop_events``."""

# No "from __future__ import annotations" here: Dagster reads the config class from the real annotation.

from dataclasses import replace

import dagster as dg
from pydantic import Field

from inloop.privacy import drop_erased
from inloop.privacy.checks import erased_subjects_check
from inloop.settings import get_settings
from recommender.lib.shop import ShopSpec, generate_catalog, generate_events, generate_shoppers


class ShopConfig(dg.Config):
    """Sizes of the synthetic shop. Unset sizes are the demo defaults times INLOOP_DEMO_DATA_SCALE."""

    seed: int = Field(default=7, description="Same seed, same shop.")
    n_items: int | None = Field(default=None, description="Articles (default 1,500 x demo_data_scale).")
    n_accounts: int | None = Field(default=None, description="Accounts (default 2,000 x demo_data_scale).")
    shared_account_share: float = Field(default=0.05, description="Share of accounts shared by two people.")
    days: int = Field(default=42, description="Days of clickstream; the last 7 are the test week.")
    source_honours_erasures: bool = Field(
        default=True, description="The simulated shop deletes accounts in the deletion register (as the shop's "
        "database would); False plays a source that did not, and the register check blocks training.")

    def spec(self) -> ShopSpec:
        scaled = ShopSpec(seed=self.seed, shared_account_share=self.shared_account_share,
                          days=self.days).scaled(get_settings().demo_data_scale)
        return replace(scaled, n_items=self.n_items or scaled.n_items,
                       n_accounts=self.n_accounts or scaled.n_accounts)


@dg.multi_asset(
    outs={
        "catalog": dg.AssetOut(description="Articles with category, gender target, style, sizes, price, new-in flag."),
        "shoppers": dg.AssetOut(description="People and their accounts; two people share ~5 % of accounts."),
        "shop_events": dg.AssetOut(description="Time-ordered views, add-to-cart and purchases on desktop and app."),
    },
    group_name="shop",
)
def synthetic_shop(config: ShopConfig):  # type: ignore[no-untyped-def]
    """Generate the seeded synthetic shop."""
    spec = config.spec()
    catalog = generate_catalog(spec)
    shoppers = generate_shoppers(spec)
    events = generate_events(catalog, shoppers, spec)
    left_out = 0
    if config.source_honours_erasures:
        shoppers, left_out = drop_erased("recommender", shoppers, "account_id")
        events, _ = drop_erased("recommender", events, "account_id")
    accounts = shoppers.groupby("account_id")["shared_account"].first()
    yield dg.Output(catalog, "catalog", metadata={
        "articles": len(catalog), "new_in": int(catalog["new_in"].sum()),
        "by_gender_target": dg.MetadataValue.json(catalog["gender_target"].value_counts().to_dict()),
    })
    yield dg.Output(shoppers, "shoppers", metadata={
        "people": len(shoppers), "accounts": len(accounts), "erased_people_left_out": left_out,
        "shared_account_share": float(accounts.mean()),
        "new_accounts": int(shoppers.groupby("account_id")["new_account"].first().sum()),
    })
    yield dg.Output(events, "shop_events", metadata={
        "events": len(events), "first": str(events["ts"].min()), "last": str(events["ts"].max()),
        "by_type": dg.MetadataValue.json(events["event_type"].value_counts().to_dict()),
        "by_device": dg.MetadataValue.json(events["device"].value_counts().to_dict()),
    })


shop_events_without_erased_accounts = erased_subjects_check(
    "recommender", "shop_events", lambda events: events["account_id"], name="no_erased_accounts",
    description="No account from the deletion register is in the clickstream the model trains on (blocks training).",
)
