import numpy as np

from heliograph.apps.energy import Battery, dispatch

battery = Battery(capacity_mwh=2, power_mw=1, efficiency=0.9, initial_soc=0)
prices = np.array([40.0, 10.0, 12.0, 45.0, 90.0, 95.0])  # €/MWh, one an hour
plan = dispatch(prices, battery, period_hours=1.0)
print(plan.net_mw.round(2).tolist())  # [0.0, -1.0, -1.0, 0.0, 0.8, 1.0]
print(round(plan.value, 2))  # 145.0: sum(price * net_mw) * period_hours
