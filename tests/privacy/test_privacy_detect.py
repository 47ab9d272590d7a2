"""Personnummer and name detection: the error names column and row, never the value."""

import pandas as pd
import pytest

from lagesbild.privacy.detect import PersonalDataError, assert_no_personal_data, looks_like_personnummer


@pytest.mark.parametrize(
    "value", ["811218-9876", "19811218-9876", "198112189876", "8112189876", "811278-9873", "811218-9875"]
)
def test_personnummer_forms_are_recognised(value):
    assert looks_like_personnummer(value)


@pytest.mark.parametrize("value", ["B 1234-24", "2024-03-05", "811318-9876", "12345", None])
def test_non_personnummer_values_are_not(value):
    assert not looks_like_personnummer(value)


def test_personnummer_column_names_column_and_row_without_the_value():
    df = pd.DataFrame({"Domstol": ["Linköpings tingsrätt"] * 3, "Id": ["x", "y", "19811218-9876"]})
    with pytest.raises(PersonalDataError) as err:
        assert_no_personal_data(df, "register.csv")
    message = str(err.value)
    assert "'Id'" in message and "row 3" in message and "register.csv" in message
    assert "9876" not in message and "811218" not in message


def test_name_header_and_name_values_fail():
    with pytest.raises(PersonalDataError, match="'Namn'"):
        assert_no_personal_data(pd.DataFrame({"Namn": ["a"]}), "f.csv")
    with pytest.raises(PersonalDataError, match=r"'Anteckning', row 2") as err:
        assert_no_personal_data(pd.DataFrame({"Anteckning": ["", "Erik Johansson"]}), "f.csv")
    assert "Johansson" not in str(err.value)


def test_places_courts_and_municipality_name_headers_pass():
    df = pd.DataFrame(
        {
            "Hemkommun": ["Upplands Väsby", "Norrköping"],
            "Domstol": ["Linköpings tingsrätt"] * 2,
            "municipality_name": ["Lilla Edet", "Östra Göinge"],
            "Målnummer": ["B 1234-24", "B 99-25"],
        }
    )
    assert_no_personal_data(df, "ok.csv")
