from heliograph.lake import FileSource, read_file

frames = read_file("BE.csv", "epf")                       # {"energy_prices": …, "energy_forecasts": …}
source = FileSource("sales", ["data/*.csv"], dataset="sales")
