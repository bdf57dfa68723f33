"""The core's phase table: every move is planned, the status follows from the phase."""

from __future__ import annotations

import pytest

from ddp._phase import STATUS, TRANSITIONS, Phase, PhaseError, Trigger, next_phase
from ddp.events import Status
from ddp.exceptions import InvalidStateError


def test_every_phase_has_a_status_and_is_reachable():
    assert set(STATUS) == set(Phase)
    reached = {Phase.IDLE}
    frontier = [Phase.IDLE]
    while frontier:
        phase = frontier.pop()
        for (source, _), target in TRANSITIONS.items():
            if source is phase and target not in reached:
                reached.add(target)
                frontier.append(target)
    assert reached == set(Phase)


@pytest.mark.parametrize("phase", list(Phase))
@pytest.mark.parametrize("trigger", list(Trigger))
def test_a_move_outside_the_table_raises(phase, trigger):
    if (phase, trigger) in TRANSITIONS:
        assert next_phase(phase, trigger) is TRANSITIONS[phase, trigger]
    else:
        with pytest.raises(PhaseError, match="impossible"):
            next_phase(phase, trigger)


def test_terminal_phases_never_lead_back_to_a_connection():
    terminal = {Phase.CLOSING, Phase.CLOSED, Phase.FAILING, Phase.FAILED}
    for (source, _), target in TRANSITIONS.items():
        if source in terminal:
            assert target in terminal


def test_phase_errors_are_invalid_state_errors(harness):
    with pytest.raises(InvalidStateError):
        harness.proto.connection_made(harness.now)  # no dial was announced
    harness.open()
    with pytest.raises(InvalidStateError):
        harness.proto.dialing(harness.now)  # a transport is open already
    assert harness.proto.status is Status.CONNECTING


def test_frames_outside_an_open_transport_are_ignored(connected):
    connected.lose()
    connected.events()
    connected.feed(msg="connected", session="S9")
    connected.feed(msg="ping")
    assert connected.events() == []
    assert connected.sent() == []
    assert connected.proto.status is Status.RECONNECTING


def test_a_failed_core_closed_later_stays_failed_through_the_transport_end(harness):
    harness.open()
    harness.feed(msg="failed", version="2")
    harness.proto.close()
    assert harness.proto.status is Status.FAILED
    harness.events()
    assert harness.lose() is None
    assert harness.proto.status is Status.FAILED
