from datetime import timedelta

from heliograph.apps.energy import PriceFeatures
from heliograph.features import OnlineView

ONLINE_PRICE_FEATURES = OnlineView(
    PriceFeatures(), entity="market", horizon=timedelta(hours=48), lookback=timedelta(days=9)
)
