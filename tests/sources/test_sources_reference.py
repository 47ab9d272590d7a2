from lagesbild.sources.reference import municipalities_of_county


def test_ostergotland_has_13_municipalities_with_leading_zero():
    county = municipalities_of_county("05")
    assert len(county) == 13
    assert county["municipality_code"].str.fullmatch(r"05\d\d").all()
    assert "0580" in set(county["municipality_code"]) and "Linköping" in set(county["municipality_name"])


def test_county_code_given_as_int_is_padded():
    assert len(municipalities_of_county(1)) == 26  # Stockholms län
