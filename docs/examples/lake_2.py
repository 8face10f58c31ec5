from datetime import UTC, datetime

from heliograph.lake import FileSource, read_file

frames = read_file("BE.csv", "epf")                       # {"energy_prices": …, "energy_forecasts": …}
print({name: len(rows) for name, rows in frames.items()})
source = FileSource("sales", ["data/*.csv"], dataset="sales")
for batch in source.batches(datetime.now(UTC)):           # one batch per file (and dataset)
    print(batch.dataset, len(batch.frame), batch.origin)
