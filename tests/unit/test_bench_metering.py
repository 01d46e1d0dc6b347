"""DynamoDB capacity-unit arithmetic of the benchmark meter (moto does not meter, so we compute)."""

from __future__ import annotations

import pytest

from bench.sizing import (
    EVENTUAL,
    TRANSACTIONAL,
    batch_get_read_units,
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


def test_a_read_is_billed_on_whole_items_whatever_kind_halves_or_doubles_it():
    # GIVEN 5,000 bytes read by one Query WHEN strongly, eventually or transactionally consistent
    # THEN 2 units, half of that, twice that
    assert (query_read_units([2500, 2500]), query_read_units([2500, 2500], EVENTUAL),
            query_read_units([2500, 2500], TRANSACTIONAL)) == (2, 1, 4)


def test_batch_get_rounds_each_item_before_summing():
    # GIVEN items of 1.5 KB and 6.5 KB (the developer guide's example) WHEN batch-read THEN 4 KB + 8 KB
    assert batch_get_read_units([1536, 6656]) == 3


def test_a_write_is_billed_on_the_larger_of_the_item_before_and_after():
    # GIVEN a 500-byte item replacing a 1,500-byte one WHEN written THEN 2 units; a failed
    # conditional write (nothing written) over it costs the same, and over nothing at least 1
    assert put_write_units(500, before=1500) == 2
    assert put_write_units(0, before=1500) == 2
    assert put_write_units(0) == 1
