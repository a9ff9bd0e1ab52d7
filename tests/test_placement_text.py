"""The report says where the sides ran: one host, or two with both descriptions and the idle round trip."""

from __future__ import annotations

from reports.write.placement import placement_text

HOST = {"hostname": "box", "cpu_model": "EPYC", "cores": 8, "kernel": "Linux 6.1", "python": "CPython 3.11.7"}


def test_a_run_without_a_placement_ran_on_one_host() -> None:
    assert placement_text({}).startswith("One host:")


def test_two_hosts_name_both_and_the_round_trip() -> None:
    text = placement_text(
        {
            "hosts": 2,
            "server_host": HOST,
            "peer_host": {**HOST, "destination": "me@peer", "cores": 4},
            "bind": "10.0.0.1",
            "round_trip_us": {"median": 48.4, "min": 40.2, "count": 200},
        }
    )
    assert "servers on box (EPYC, 8 cores" in text and "bound to 10.0.0.1" in text
    assert "load generators on me@peer (EPYC, 4 cores" in text
    assert "Idle round trip 48 µs (median of 200, min 40 µs)" in text


def test_an_unusable_peer_host_is_said() -> None:
    text = placement_text({"hosts": 2, "server_host": HOST, "error": "peer host x is unreachable: no route"})
    assert "unusable" in text and "unreachable" in text
