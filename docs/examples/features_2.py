from datetime import timedelta

from heliograph.apps.energy import ONLINE_PRICE_FEATURES
from heliograph.core import Project
from heliograph.features import OnlineStore

project = Project.load("demo")
as_of = project.clock().now()
store = OnlineStore.open(project)
got = store.features(ONLINE_PRICE_FEATURES, "GB", as_of, horizon=timedelta(hours=24))
got.rows        # the same frame compute_offline returns for those requests
got.source      # "online", or "lake" when the store cannot vouch, with got.reason
got.freshness   # InputFreshness: the newest input of each dataset at as_of, from the store
got.state       # (view, entity, state moment, generation): equal for as_of that see the same inputs
got.status      # OnlineStatus: ok / failed / never, materialized_at, behind
print(f"{len(got.rows)} rows from the {got.source}", f"({got.reason})" if got.reason else "")
print("newest price known", got.freshness.age("energy_prices"), "before as_of; ready:", got.status.ready)
