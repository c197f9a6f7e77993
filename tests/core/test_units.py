"""Numbers as people read them: counts, sizes, speed changes, batch lists."""

from __future__ import annotations

import pytest

from workbench.core.units import (
    format_shape,
    human_bytes,
    human_count,
    parse_batch_sizes,
    speed_change,
)


def test_a_ratio_below_one_reads_as_slower_not_as_a_small_speed_up() -> None:
    assert speed_change(2.1) == "2.10x faster"
    assert speed_change(1.0) == "1.00x faster"
    assert speed_change(0.81) == "1.23x slower"


def test_counts_and_sizes_use_the_prefixes_people_expect() -> None:
    assert human_count(1_849_000) == "1.85 M"
    assert human_count(999) == "999"
    assert human_bytes(361_700) == "353.2 KiB"
    assert format_shape([1, 3, None, "seq"]) == "1x3x?xseq"


def test_batch_sizes_parse_or_say_why_not() -> None:
    assert parse_batch_sizes(" 1, 8,32") == [1, 8, 32]
    with pytest.raises(ValueError, match="not a list of batch sizes"):
        parse_batch_sizes("1,eight")
    with pytest.raises(ValueError, match=">= 1"):
        parse_batch_sizes("0")
