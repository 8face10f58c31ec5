"""The review loaders, on small files written in exactly the public formats.

Strict: every malformed line comes back with its line number, field and rule, and ingesting
quarantines it (with a report) while the good lines reach the lake.
"""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from heliograph.apps.recsys import read_amazon_csv, read_amazon_json, read_movielens
from heliograph.core import SourceError
from heliograph.lake import Dataset, Lake, ingest_frames, read_file, rejected_key

from .conftest import reviews_dataset

REJ = rejected_key("recsys_reviews")


def test_movielens_u_data_is_read_with_every_field_typed(tmp_path: Path) -> None:
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\t891717742\n22\t377\t1\t878887116\n")
    frames = read_file(path, "movielens")  # through the heliograph.formats entry point
    reviews = frames["recsys_reviews"]
    assert reviews.columns.tolist() == ["user", "item", "rating", "timestamp", "available_at"]
    assert reviews["user"].tolist() == ["196", "186", "22"]
    assert reviews["rating"].tolist() == [3.0, 3.0, 1.0]
    assert reviews["timestamp"][0] == pd.Timestamp(881250949, unit="s", tz="UTC")
    assert frames[REJ].empty


def test_malformed_movielens_lines_are_rejected_with_their_line_numbers(tmp_path: Path) -> None:
    path = tmp_path / "u.data"
    path.write_text(
        "196\t242\t3\t881250949\n"
        "186\t302\t3\n"  # 3 fields
        "22\tabc\t1\t878887116\n"  # item not a number
        "\n"  # blank
        "244\t51\t9\t880606923\n"  # rating out of range
        "166\t346\t1\tyesterday\n"  # not unix seconds
        "298\t474\t4\t884182806\n"
    )
    frames = read_movielens(path)
    assert frames["recsys_reviews"]["user"].tolist() == ["196", "298"]
    rejected = frames[REJ]
    assert rejected["line"].tolist() == [2, 3, 4, 5, 6]
    assert rejected["field"].tolist() == ["line", "item id", "line", "rating", "unix timestamp"]
    assert rejected["text"][1] == "22\tabc\t1\t878887116"
    assert "4 fields" in rejected["rule"][0]


def test_amazon_json_lines_ignore_extra_fields_and_reject_bad_lines(tmp_path: Path) -> None:
    good = {
        "reviewerID": "A2SUAM1J3GNN3B",
        "asin": "0000013714",
        "overall": 5.0,
        "unixReviewTime": 1393545600,
        "reviewText": "I bought this for my husband who plays the piano.",
        "summary": "Heavenly Highway Hymns",
    }
    lines = [
        json.dumps(good),
        json.dumps({**good, "overall": "five"}),
        "{not json",
        json.dumps({k: v for k, v in good.items() if k != "asin"}),
        json.dumps({**good, "reviewerID": "A14VAT5EAX3D9S", "unixReviewTime": True}),
        json.dumps([1, 2]),
        json.dumps({**good, "reviewerID": "A195EZSQDW3E21"}),
    ]
    path = tmp_path / "reviews.json"
    path.write_text("\n".join(lines) + "\n")
    frames = read_amazon_json(path)
    assert frames["recsys_reviews"]["user"].tolist() == ["A2SUAM1J3GNN3B", "A195EZSQDW3E21"]
    rejected = frames[REJ]
    assert rejected["line"].tolist() == [2, 3, 4, 5, 6]
    assert rejected["field"].tolist() == ["overall", "line", "asin", "unixReviewTime", "line"]


def test_amazon_ratings_csv_has_no_header_and_four_fields(tmp_path: Path) -> None:
    path = tmp_path / "ratings.csv"
    path.write_text(
        "AKM1MP6P0OYPR,0132793040,5.0,1365811200\n"
        "A2CX7LUOHB2NDG,0321732944,5.0,1341100800\n"
        "reviewerID,asin,overall,unixReviewTime\n"  # a header is not a review
        'A2NWSAGRHCP8N5,"0439886341",1.0,1367193600\n'
    )
    frames = read_amazon_csv(path)
    assert frames["recsys_reviews"]["item"].tolist() == ["0132793040", "0321732944", "0439886341"]
    assert frames[REJ]["line"].tolist() == [3]
    assert frames[REJ]["field"].tolist() == ["overall"]


def test_a_file_with_no_valid_line_is_an_error_naming_the_first_line(tmp_path: Path) -> None:
    path = tmp_path / "u.data"
    path.write_text("this is not a ratings file\n")
    with pytest.raises(SourceError, match="line 1") as caught:
        read_movielens(path)
    assert caught.value.field == "content"


def test_ingesting_quarantines_rejected_lines_and_keeps_the_good_ones(
    tmp_path: Path, clock: object
) -> None:
    dataset: Dataset = reviews_dataset()
    lake = Lake(tmp_path / "lake", [dataset], clock=clock)  # type: ignore[arg-type]
    path = tmp_path / "u.data"
    path.write_text("196\t242\t3\t881250949\n186\t302\t3\n22\t377\t1\t881250000\n")
    results = ingest_frames(lake, read_movielens(path), origin=str(path))
    assert [r.rows_written for r in results] == [2, 0]
    (entry,) = lake.quarantined("recsys_reviews")
    assert entry.partition == "unparsed" and entry.rows == 1
    assert entry.failed[0].examples[0]["line"] == 2
    assert "line" in entry.report_path.read_text()
    kept = pd.read_parquet(entry.path)
    assert kept["text"].tolist() == ["186\t302\t3"] and kept["origin"].tolist() == [str(path)]
    # the same file again: nothing new is written, nothing quarantined twice
    again = ingest_frames(lake, read_movielens(path), origin=str(path))
    assert again[0].rows_duplicate == 2
    assert len(lake.quarantined("recsys_reviews")) == 1
