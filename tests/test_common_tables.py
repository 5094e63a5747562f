"""read_table / find_column: ids stay text, bad files are one clear error."""

import pandas as pd
import pytest

from reelscore.common.tables import find_column, read_table


def test_csv_ids_keep_leading_zeros_and_na_words(tmp_path):
    p = tmp_path / "t.csv"
    p.write_text("Id,Title,MOS\n007,NA,3.5\n010,,4\n", encoding="utf-8")
    df = read_table(p)
    assert df["Id"].tolist() == ["007", "010"]
    assert df["Title"].iloc[0] == "NA" and pd.isna(df["Title"].iloc[1])
    assert df["MOS"].tolist() == ["3.5", "4"]


def test_parquet_is_read_as_stored(tmp_path):
    p = tmp_path / "t.parquet"
    pd.DataFrame({"video_id": ["a", "b"], "y": [1.5, 2.0]}).to_parquet(p)
    df = read_table(p)
    assert df["y"].tolist() == [1.5, 2.0]


@pytest.mark.parametrize(
    "content, reason",
    [(None, "labels not found"), (b"", "labels is empty"), (b"a,b\n\xff\xfe,1\n", "not UTF-8")],
)
def test_bad_files_raise_the_given_error_naming_the_file(tmp_path, content, reason):
    class LabelsError(ValueError):
        pass

    p = tmp_path / "labels.csv"
    if content is not None:
        p.write_bytes(content)
    with pytest.raises(LabelsError, match=reason) as info:
        read_table(p, role="labels", error=LabelsError)
    assert str(info.value).startswith(str(p))


def test_find_column_ignores_case_and_prefers_earlier_names():
    cols = [" Id ", "VIDEO_ID", "name"]
    assert find_column(cols, "video_id", "id") == "VIDEO_ID"
    assert find_column(cols, "id") == " Id "
    assert find_column(cols, "path") is None
