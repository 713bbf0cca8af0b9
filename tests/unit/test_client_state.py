"""When the bot link says hello again, and how long it reports the kernel gone."""

from __future__ import annotations

import zmq

from bus._client_state import Reachability

UP, HANDSHAKE, DOWN = zmq.EVENT_CONNECTED, zmq.EVENT_HANDSHAKE_SUCCEEDED, zmq.EVENT_DISCONNECTED


def test_before_any_connection_the_kernel_counts_as_gone_since_start() -> None:
    reach = Reachability(now=100.0)
    assert not reach.connected and reach.seen_s_ago(103.5) == 3.5


def test_the_first_connection_waits_for_the_bots_own_hello() -> None:
    reach = Reachability(now=0.0)
    reach.on_event(UP, 1.0)
    reach.on_event(HANDSHAKE, 1.0)
    assert reach.connected and not reach.hello_due and reach.seen_s_ago(9.0) == 0.0


def test_a_new_kernel_after_a_lost_connection_gets_hello_again_once() -> None:
    reach = Reachability(now=0.0)
    reach.on_event(HANDSHAKE, 1.0)
    reach.hello_sent()
    reach.on_event(DOWN, 5.0)
    assert not reach.connected and reach.seen_s_ago(7.0) == 2.0 and not reach.hello_due
    reach.on_event(UP, 8.0)
    assert reach.hello_due
    reach.hello_sent()
    reach.on_event(HANDSHAKE, 8.0)  # the handshake of the same connection: nothing more
    assert not reach.hello_due


def test_losing_a_connection_that_never_carried_hello_needs_no_rehello() -> None:
    reach = Reachability(now=0.0)
    reach.on_event(UP, 1.0)
    reach.on_event(DOWN, 2.0)
    reach.on_event(UP, 3.0)
    assert reach.connected and not reach.hello_due


def test_a_repeated_disconnect_keeps_the_first_time_it_went_down() -> None:
    reach = Reachability(now=0.0)
    reach.on_event(UP, 1.0)
    reach.on_event(DOWN, 2.0)
    reach.on_event(DOWN, 4.0)
    assert reach.seen_s_ago(5.0) == 3.0
