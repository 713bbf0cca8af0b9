"""The restart policy, decided with plain numbers."""

from kernel.supervision import RestartPolicy, decide_restart

POLICY = RestartPolicy(max_restarts=3, window_s=10.0, backoff_initial_s=0.1, backoff_max_s=0.3)


def test_first_crash_restarts_after_the_initial_backoff() -> None:
    decision = decide_restart((), 100.0, POLICY)
    assert decision.restart
    assert decision.delay_s == 0.1
    assert decision.history == (100.0,)


def test_backoff_doubles_and_is_capped() -> None:
    delays = []
    history: tuple[float, ...] = ()
    for now in (1.0, 2.0, 3.0):
        decision = decide_restart(history, now, POLICY)
        history = decision.history
        delays.append(decision.delay_s)
    assert delays == [0.1, 0.2, 0.3]


def test_one_crash_too_many_within_the_window_gives_up_with_the_reason() -> None:
    decision = decide_restart((1.0, 2.0, 3.0), 4.0, POLICY)
    assert not decision.restart
    assert "4 times within 10 s" in decision.reason
    assert "limit: 3 restarts" in decision.reason


def test_crashes_older_than_the_window_are_forgotten() -> None:
    decision = decide_restart((1.0, 2.0, 3.0), 12.5, POLICY)
    assert decision.restart
    assert decision.history == (3.0, 12.5)


def test_zero_restarts_allowed_gives_up_on_the_first_crash() -> None:
    policy = RestartPolicy(max_restarts=0, window_s=10, backoff_initial_s=0, backoff_max_s=0)
    assert not decide_restart((), 0.0, policy).restart
