"""DynamoDB capacity-unit arithmetic of the benchmark meter (moto does not meter, so we compute)."""

from __future__ import annotations

import pytest

from bench.metering import (
    batch_write_units,
    get_read_units,
    item_size,
    number_size,
    put_write_units,
    query_read_units,
    transact_write_units,
)

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(
    ("number", "size"),
    [("7", 2), ("12", 2), ("123", 3), ("1000", 2), ("-15", 2), ("0.001", 2), ("123456789", 6)],
)
def test_number_size_is_one_byte_per_two_significant_digits_plus_one(number, size):
    # GIVEN a DynamoDB number WHEN sized THEN leading/trailing zeros and sign do not count
    assert number_size(number) == size


def test_item_size_counts_attribute_names_and_values():
    # GIVEN an item with a string, a number, a binary and a bool
    item = {"pk": {"S": "acc-1"}, "v": {"N": "12"}, "b": {"B": "AAEC"}, "ok": {"BOOL": True}}
    # WHEN sized THEN names + values: (2+5) + (1+2) + (1+3) + (2+1)
    assert item_size(item) == 17


def test_item_size_of_nested_documents_adds_container_and_element_overhead():
    # GIVEN a list of two strings and a map with one number
    item = {"l": {"L": [{"S": "ab"}, {"S": "c"}]}, "m": {"M": {"x": {"N": "5"}}}}
    # WHEN sized THEN 3 bytes per container and 1 per element, map keys included
    assert item_size(item) == (1 + 3 + (1 + 2) + (1 + 1)) + (1 + 3 + (1 + 1 + 2))


def test_utf8_strings_are_sized_in_bytes_not_characters():
    assert item_size({"s": {"S": "é€"}}) == 1 + 5


@pytest.mark.parametrize(("sizes", "units"), [([], 1), ([4096], 1), ([4097], 2), ([2000, 2000, 97], 2), ([100] * 40, 1)])
def test_query_reads_round_up_the_summed_size_to_4kb(sizes, units):
    # GIVEN the items one strongly consistent Query returns WHEN metered THEN one rounding for all
    assert query_read_units(sizes) == units


def test_get_item_rounds_up_to_4kb_and_costs_at_least_one_unit():
    assert (get_read_units(0), get_read_units(4096), get_read_units(4097)) == (1, 1, 2)


def test_put_item_rounds_up_to_1kb():
    assert (put_write_units(1), put_write_units(1024), put_write_units(1025)) == (1, 1, 2)


def test_transactions_cost_two_writes_per_item_and_batches_round_per_item():
    # GIVEN two items of 100 and 1,025 bytes
    sizes = [100, 1025]
    # WHEN written in a transaction THEN 2 x (1 + 2); WHEN batch-written THEN 1 + 2
    assert transact_write_units(sizes) == 6
    assert batch_write_units(sizes) == 3
