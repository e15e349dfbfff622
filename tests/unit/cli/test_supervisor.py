"""The restart backoff of `civil run`'s supervisor."""

from cli.supervisor import BACKOFF_MAX, backoff


def test_backoff_doubles_per_death_in_a_row_and_is_capped():
    assert [backoff(n) for n in (1, 2, 3, 4)] == [1.0, 2.0, 4.0, 8.0]
    assert backoff(50) == BACKOFF_MAX
