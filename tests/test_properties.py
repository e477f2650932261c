"""Property-based tests: any text in -> one row out per row in, same order, probabilities sum to 1
(0 for text without letters), stage in the scheme or 'unclear'; CSV round trips through the reader."""
from __future__ import annotations

import csv
import io

import numpy as np
import pandas as pd
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import contentplan
from contentplan.io import read_table
from contentplan.domain.schemes import load_scheme

cell = st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters="\x00\r"), max_size=60)
SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


@SETTINGS
@given(rows=st.lists(st.tuples(cell, st.integers(0, 10**6)), min_size=1, max_size=20))
def test_csv_round_trip(tmp_path, rows):
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(["query", "volume"])
    w.writerows(rows)
    p = tmp_path / "q.csv"
    p.write_text(buf.getvalue(), encoding="utf-8")
    df = read_table(p)
    assert df["query"].tolist() == [r[0].replace("\r\n", "\n") for r in rows]
    assert df["volume"].tolist() == [str(r[1]) for r in rows]


@SETTINGS
@given(texts=st.lists(cell, min_size=1, max_size=15), scheme=st.sampled_from(["buyer-journey", "oni", "customer-journey"]))
def test_classify_any_text(tiny_model_dir, texts, scheme):
    df = contentplan.classify(pd.DataFrame({"text": texts, "row": range(len(texts))}), scheme=scheme, model=tiny_model_dir)
    sch = load_scheme(scheme)
    assert len(df) == len(texts)
    assert df["row"].tolist() == list(range(len(texts)))
    assert df["text"].tolist() == texts
    assert set(df["stage"]) <= set(sch.ids) | {"unclear"}
    total = df[[f"p_{s}" for s in sch.ids]].sum(axis=1).to_numpy()
    assert np.all((np.abs(total - 1) < 1e-3) | (total == 0))
    assert ((total == 0) == (df["confidence"] == 0)).all()
